"""One server of the fleet benchmark, in its own process (so it can be killed by PID).

    python -m benchmarks.fleet_server bench HOST PORT DELAY   # Bench, `echo` after DELAY s
    python -m benchmarks.fleet_server hang HOST                # reads requests, never answers

It prints one JSON line when it listens: ``{"port": ..., "ready": <time.monotonic()>}`` (the
monotonic clock is the machine's, so the parent can compare it with its own), then takes
commands on stdin, one a line, answering each with one line: ``delay SECONDS`` (answers
``ok``), ``count`` (the `echo` calls answered so far). It exits when stdin closes.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TYPE_CHECKING

from benchmarks.generated.bench import Bench
from benchmarks.handler import BenchHandler
from thrift_bridge.testing import LoopbackServer, serve, serve_raw

if TYPE_CHECKING:
    import socket


class DelayedHandler(BenchHandler):
    """The bench handler whose `echo` takes `delay` seconds and is counted."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def echo(self, s: str) -> str:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls += 1
        return s


def _hang(conn: socket.socket) -> None:
    """Read requests and never answer (until the connection or the server closes)."""
    while conn.recv(65536):
        pass


def main(argv: list[str]) -> None:
    """Serve until stdin closes, answering commands (see the module doc)."""
    mode, host = argv[0], argv[1]
    handler = DelayedHandler(float(argv[3]) if mode == "bench" else 0.0)
    server: LoopbackServer
    if mode == "bench":
        server = serve(Bench.Processor(handler), host=host, port=int(argv[2]))
    elif mode == "hang":
        server = serve_raw(_hang, host=host)
    else:
        raise SystemExit(f"unknown mode {mode!r} (expected bench or hang)")
    with server:
        print(json.dumps({"port": server.address[1], "ready": time.monotonic()}), flush=True)
        for line in sys.stdin:
            command = line.split()
            if command[:1] == ["delay"]:
                handler.delay = float(command[1])
                print("ok", flush=True)
            elif command == ["count"]:
                with handler._lock:
                    print(handler.calls, flush=True)
            else:
                print(f"unknown command {line.strip()!r}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
