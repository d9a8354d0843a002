"""Thrift servers in child processes, for faults a thread cannot show (kill -9, no shared GIL)."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_SCRIPT = """
import json
import sys
from thrift_bridge.testing import serve
from tests.generated.alltypes import AllTypes
from tests.handlers import AllTypesHandler


class Announcing(AllTypesHandler):
    def slow_echo(self, value, delay_seconds):
        print(f"slow_echo {value}", flush=True)  # the request has arrived
        return super().slow_echo(value, delay_seconds)


kwargs = json.loads(sys.argv[1])
handler = Announcing() if sys.argv[2] == "announce" else AllTypesHandler()
with serve(AllTypes.Processor(handler), **kwargs) as server:
    print(server.url, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin (or kills us)
"""


def system_binary(name: str, package: str) -> str:
    """A Debian tool's path (on PATH or in /usr/sbin): skip without it on a laptop, fail under
    CI=true (the Makefile's sysdeps target installs it)."""
    found = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (the Makefile's sysdeps target installs it)")
        pytest.skip(f"{name} is not installed (apt-get install {package})")
    return found


class ChildServer:
    """A Python server in its own process: `argv` (after the interpreter) prints its URL once
    it listens, and serves until its stdin closes; `kill()` is kill -9."""

    def __init__(self, *argv: str):
        self.process = subprocess.Popen(
            [sys.executable, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url:
            self.stop()
            raise RuntimeError("the server process did not start")

    def kill(self) -> None:
        """SIGKILL: the process dies mid-whatever, its sockets reset by the kernel."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop politely (stdin closed), or kill after a bound."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()

    def __enter__(self) -> ChildServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ServerProcess(ChildServer):
    """An AllTypes server in its own process; `url` once it listens; `kill()` is kill -9.

    With `announce=True` every slow_echo call prints "slow_echo <value>" as it arrives, for
    `announced()`; off by default, since nobody reads the pipe of a busy server (it would fill).
    """

    def __init__(self, *, announce: bool = False, **serve_kwargs: object):
        mode = "announce" if announce else "quiet"
        super().__init__("-c", _SCRIPT, json.dumps(serve_kwargs), mode)

    def announced(self, line: str, timeout: float = 10) -> bool:
        """Whether the server (started with `announce=True`) prints `line` within `timeout`."""
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        return bool(ready) and stdout.readline().strip() == line
