"""Threads sharing one `Client` vs each thread with its own raw Apache connection, and the
import time of thrift_bridge vs thrift (each in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from benchmarks import cases as c
from benchmarks.conftest import record

CALLS_PER_THREAD = 200


def _run(calls: list[c.Case]) -> None:
    """Each function in `calls` called CALLS_PER_THREAD times in its own thread."""

    def worker(call: c.Case) -> None:
        for _ in range(CALLS_PER_THREAD):
            call()

    workers = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


@pytest.mark.parametrize("kind", ["private raw", "shared Client"])
@pytest.mark.parametrize("threads", c.THREADS)
def test_threads(benchmark: Any, bench_context: c.Context, threads: int, kind: str) -> None:
    calls = c.thread_calls(bench_context, threads, shared=kind == "shared Client")
    benchmark.group = f"threads: {threads} x {CALLS_PER_THREAD} calls"
    benchmark.pedantic(_run, args=(calls,), rounds=5, warmup_rounds=1)
    record(f"threads {threads}", kind, benchmark, "private raw")


@pytest.mark.parametrize("name", list(c.LOADS))
def test_load(benchmark: Any, name: str) -> None:
    """A fresh interpreter loading idl/demo.thrift (ours, thriftpy2's), or importing it compiled."""
    if not c.load_available(name):
        pytest.skip(f"{c.LOADS[name][1]} is not installed (pip install -e '.[bench]')")
    command = [sys.executable, "-c", c.LOADS[name][0]]
    benchmark.group = "load idl/demo.thrift (fresh interpreter, whole run)"
    kwargs = {"check": True, "env": c.import_env()}
    benchmark.pedantic(subprocess.run, args=(command,), kwargs=kwargs, rounds=5, warmup_rounds=1)
    record("load", name, benchmark, "import the compiled package (thrift --gen py)")


@pytest.mark.parametrize("name", list(c.IMPORTS))
def test_import(benchmark: Any, name: str) -> None:
    """A fresh interpreter importing the module (the interpreter's start is the same for all)."""
    command = [sys.executable, "-c", c.IMPORTS[name]]
    benchmark.group = "import (fresh interpreter, whole run)"
    env = c.import_env()
    kwargs = {"check": True, "env": env}
    benchmark.pedantic(subprocess.run, args=(command,), kwargs=kwargs, rounds=5, warmup_rounds=1)
    record("import", name, benchmark, "thrift")
