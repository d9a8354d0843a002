"""Run an example app under a real server (gunicorn, uvicorn) on loopback, for adapter tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free 127.0.0.1 TCP port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AppServer:
    """`python -m <command>` serving on 127.0.0.1; ready when constructed, stopped by stop()."""

    name = "server"

    def arguments(self, app: str, port: int) -> list[str]:
        """The arguments after ``python -m``."""
        raise NotImplementedError

    def __init__(self, app: str, env: dict[str, str], probe_path: str):
        self.port = free_port()
        # stderr goes to a file, not a pipe nobody reads: a full pipe would block the workers.
        self.log = tempfile.NamedTemporaryFile(prefix=f"{self.name}-", suffix=".log")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", *self.arguments(app, self.port)],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url(probe_path), timeout=2).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.1)

    def log_tail(self, size: int = 2000) -> str:
        """The end of the server's log, for failure messages."""
        with open(self.log.name, "rb") as log:
            return log.read().decode("utf-8", "replace")[-size:]

    def url(self, path: str) -> str:
        """An http URL on the server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        """SIGTERM (a master stops its workers), then SIGKILL after a bound."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Gunicorn(AppServer):
    """`gunicorn -w 3 --preload APP` (pre-forked workers)."""

    name = "gunicorn"

    def arguments(self, app: str, port: int) -> list[str]:
        bind = f"127.0.0.1:{port}"
        return ["gunicorn", "-w", "3", "--preload", "-b", bind, "--graceful-timeout", "3", app]


class Uvicorn(AppServer):
    """`uvicorn APP --workers N` (spawned workers; N=1 serves in the process itself)."""

    name = "uvicorn"

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        probe_path: str,
        workers: int = 3,
        factory: bool = False,
        options: tuple[str, ...] = (),
    ):
        self.workers = workers
        self.factory = factory
        self.options = options
        super().__init__(app, env, probe_path)

    def arguments(self, app: str, port: int) -> list[str]:
        options = ["--workers", str(self.workers)] if self.workers > 1 else []
        options += ["--factory"] if self.factory else []
        graceful = ["--timeout-graceful-shutdown", "3", *self.options]
        return ["uvicorn", app, "--host", "127.0.0.1", "--port", str(port), *options, *graceful]


def pids_answering(url: str) -> set[int]:
    """Worker pids seen answering the customer JSON `url` correctly (concurrent, bounded)."""
    pids: set[int] = set()

    def fetch(_: int) -> int:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        assert body["customer"]["name"] == "Ada Lovelace"
        return int(body["pid"])

    deadline = time.monotonic() + 20
    with ThreadPoolExecutor(12) as pool:
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.update(pool.map(fetch, range(36)))
    return pids


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie of ours)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
