"""The servers every benchmark calls: the C++ bench server and the C echo server, or a fallback.

`make bench-server` builds `build/bench/bench_server` (Apache Thrift C++, one process, every
wire format) and `build/bench/echo_server` (the raw-socket floor). When they are not built,
`start_python()` serves the same endpoints from a Python child process so that the
pytest-benchmark smoke check in `make test` still runs every case (its figures are then a
measure of the Python server, not of the clients).

    python -m benchmarks.servers    # the Python fallback; prints its URLs as JSON
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"

#: The bench server's ports, as offsets from its base port (see bench_server.cpp).
OFFSETS = {"binary": 0, "framed": 1, "compact": 2, "json": 3, "zlib": 4, "tls": 5, "http": 6}


@dataclass
class Servers:
    """Where the bench endpoints listen, and how to stop them."""

    kind: str  # "C++" or "Python"
    host: str
    ports: dict[str, int]  # OFFSETS keys plus "echo"
    unix: str
    ca_file: str
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    tmp: str = ""

    def url(self, name: str) -> str:
        """A thrift-bridge URL for endpoint `name` (see `OFFSETS`, plus "unix")."""
        if name == "unix":
            return f"unix://{self.unix}"
        port = self.ports[name]
        return {
            "binary": f"tcp://{self.host}:{port}",
            "framed": f"tcp://{self.host}:{port}?transport=framed",
            "compact": f"tcp://{self.host}:{port}?transport=framed&protocol=compact",
            "json": f"tcp://{self.host}:{port}?protocol=json",
            "zlib": f"tcp://{self.host}:{port}?transport=zlib",
            "tls": f"tcps://{self.host}:{port}?ca_certs={self.ca_file}",
            "http": f"http://{self.host}:{port}/thrift",
        }[name]

    def stop(self) -> None:
        """Stop the server processes and remove the temp directory."""
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def built() -> bool:
    """Whether `make bench-server` has built the C++ and C servers."""
    return all((BUILD / name).exists() for name in ("bench_server", "echo_server", "cert.pem"))


def _free_base_port(span: int) -> int:
    """A base port with `span` consecutive free ports after it."""
    for _ in range(100):
        base = random.randint(20000, 60000)
        try:
            for offset in range(span):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise RuntimeError("no free range of ports found")


def _wait_for(host: str, ports: list[int], unix: str, deadline: float) -> None:
    """Return once every port and the unix socket accept connections."""
    for port in ports:
        while True:
            try:
                socket.create_connection((host, port), 0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the bench server did not listen on {port}") from None
                time.sleep(0.02)
    while not os.path.exists(unix):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the bench server did not listen on {unix}")
        time.sleep(0.02)


def start_cpp(cpu: str | None = None) -> Servers:
    """Start the C++ bench server and the C echo server (pinned to `cpu` with taskset)."""
    if not built():
        raise RuntimeError("build/bench/ is missing its servers: run `make bench-server`")
    pin = ["taskset", "-c", cpu] if cpu is not None else []
    tmp = tempfile.mkdtemp(prefix="tb-bench-")
    unix = os.path.join(tmp, "bench.sock")
    base = _free_base_port(len(OFFSETS))
    servers = Servers("C++", "127.0.0.1", {}, unix, str(BUILD / "cert.pem"), tmp=tmp)
    try:
        command = [str(BUILD / "bench_server"), str(base), unix]
        command += [str(BUILD / "cert.pem"), str(BUILD / "key.pem")]
        servers.processes.append(
            subprocess.Popen(
                [*pin, *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
            )
        )
        echo = subprocess.Popen(
            [*pin, str(BUILD / "echo_server"), "0"], stdout=subprocess.PIPE, text=True
        )
        servers.processes.append(echo)
        assert echo.stdout is not None
        servers.ports = {name: base + offset for name, offset in OFFSETS.items()}
        servers.ports["echo"] = int(echo.stdout.readline())
        _wait_for(servers.host, list(servers.ports.values()), unix, time.monotonic() + 10)
    except BaseException:
        servers.stop()
        raise
    return servers


def start_python() -> Servers:
    """Serve the same endpoints from a Python child process (for smoke checks only)."""
    tmp = tempfile.mkdtemp(prefix="tb-bench-")
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.servers", tmp],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    servers = Servers("Python", "127.0.0.1", {}, "", "", [process], tmp)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the Python bench server did not start")
        info = json.loads(line)
        servers.ports, servers.unix, servers.ca_file = info["ports"], info["unix"], info["ca"]
    except BaseException:
        servers.stop()
        raise
    return servers


def _serve_python(tmp: str) -> None:
    """The body of `start_python`'s child: serve every endpoint until stdin closes."""
    import contextlib

    import trustme

    from benchmarks.generated.bench import Bench
    from benchmarks.handler import BenchHandler
    from thrift_bridge.testing import serve, serve_raw

    def echo(sock: socket.socket) -> None:
        while data := sock.recv(65536):
            sock.sendall(data)

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = os.path.join(tmp, "ca.pem")
    ca.cert_pem.write_to_path(ca_file)
    tls = cert.configure_cert
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls(context)
    unix = os.path.join(tmp, "bench.sock")
    processor = Bench.Processor(BenchHandler())
    with contextlib.ExitStack() as stack:
        started = {
            "binary": serve(processor),
            "framed": serve(processor, transport="framed"),
            "compact": serve(processor, transport="framed", protocol="compact"),
            "json": serve(processor, protocol="json"),
            "zlib": serve(processor, transport="zlib"),
            "tls": serve(processor, scheme="tcps", ssl_context=context),
            "http": serve(processor, scheme="http"),
            "echo": serve_raw(echo),
        }
        for server in started.values():
            stack.enter_context(server)
        stack.enter_context(serve(processor, scheme="unix", socket_path=unix))
        ports = {name: server.address[1] for name, server in started.items()}
        print(json.dumps({"ports": ports, "unix": unix, "ca": ca_file}), flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    _serve_python(sys.argv[1])
