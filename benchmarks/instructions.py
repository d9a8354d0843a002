"""Instruction counts of the instrumentation's overhead: valgrind's callgrind, not the clock.

On a shared 2-core machine the wall clock of a 17 µs call swings by more than the 3 % this
measures; callgrind counts the instructions the client process executes (all its threads,
the BatchSpanProcessor's included), the same whatever else the machine is doing. Each mode
makes N and then 2N pooled 16 B calls against the C++ bench server in a fresh process; the
difference over N is the cost of one call, free of start-up and import costs. Both processes
get the same hash seed, so that hash-dependent start-up work is the same in both. Figures of
the same code still differ by up to 1.5 % between some runs: repeat before reading a smaller
difference.

    python -m benchmarks.instructions [--calls 2000] [--async]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

from benchmarks import cases as c
from benchmarks.servers import ROOT, start_cpp

_SCRIPT = """
import sys
from benchmarks import cases as c
from benchmarks.servers import Servers
ctx = c.Context(Servers("C++", "127.0.0.1", {"binary": int(sys.argv[2])}, "", ""))
call = c.GROUPS_BY_KEY["otel"].cases[sys.argv[1]](ctx)
for _ in range(int(sys.argv[3])):
    call()
ctx.close()
"""

# The same modes for `AsyncClient` (one event loop, one call awaited after another).
_ASYNC_SCRIPT = """
import asyncio
import sys
from benchmarks import cases as c
from benchmarks.servers import Servers
from thrift_bridge import AsyncClient
from thrift_bridge._hooks import install
ctx = c.Context(Servers("C++", "127.0.0.1", {"binary": int(sys.argv[2])}, "", ""))
kinds = {c.UNINSTRUMENTED: "none", c.OTEL_NO_SDK: "no-sdk", c.OTEL_SDK: "sdk"}
install(c._telemetry(ctx, kinds[sys.argv[1]]))

async def main():
    url = ctx.servers.url("binary")
    async with AsyncClient(ctx.bench_module(), url, pool_size=4) as client:
        for _ in range(int(sys.argv[3])):
            await client.echo(c.SMALL)

asyncio.run(main())
install(None)
ctx.close()
"""

MODES = (c.UNINSTRUMENTED, c.OTEL_NO_SDK, c.OTEL_SDK)


def instructions(mode: str, port: int, calls: int, script: str = _SCRIPT) -> int:
    """Instructions the whole client process executed for `calls` calls in `mode`."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            script,
            mode,
            str(port),
            str(calls),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"},
        check=True,
    )
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(f"callgrind printed no total:\n{done.stderr[-2000:]}")
    return int(match[1])


def main(argv: list[str] | None = None) -> int:
    """Print instructions per call of each mode and their ratio to the uninstrumented call."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000, help="N (default 2000)")
    parser.add_argument("--async", dest="aio", action="store_true", help="AsyncClient calls")
    args = parser.parse_args(argv)
    script = _ASYNC_SCRIPT if args.aio else _SCRIPT
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")
    servers = start_cpp(None)
    try:
        port = servers.ports["binary"]
        per_call = {}
        for mode in MODES:
            once = instructions(mode, port, args.calls, script)
            twice = instructions(mode, port, 2 * args.calls, script)
            per_call[mode] = (twice - once) / args.calls
            print(f"  {mode}: {per_call[mode]:,.0f} instructions/call", flush=True)
    finally:
        servers.stop()
    base = per_call[c.UNINSTRUMENTED]
    client = "AsyncClient" if args.aio else "Client"
    print(f"\n| {client} (callgrind, N={args.calls} vs 2N calls) | instructions/call | ratio |")
    print("| --- | ---: | ---: |")
    for mode in MODES:
        print(f"| {mode} | {per_call[mode]:,.0f} | {per_call[mode] / base:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
