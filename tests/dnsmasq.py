"""dnsmasq on a loopback port for tests: A and SRV records for 127.0.0.x addresses from a
hosts file the test rewrites and reloads (SIGHUP). Started and stopped by PID; readiness and
reloads are awaited on its log lines, never on the clock. Without dnsmasq a test skips, except
under CI=true, where it fails (the Makefile's sysdeps target installs dnsmasq-base)."""

from __future__ import annotations

import getpass
import grp
import os
import queue
import signal
import socket
import subprocess
import threading
from typing import TYPE_CHECKING

from .procs import system_binary

if TYPE_CHECKING:
    from pathlib import Path

WAIT = 10.0  # seconds at most for dnsmasq to start or reload


def _dnsmasq() -> str:
    """The dnsmasq binary; skip on a laptop without it, fail under CI."""
    return system_binary("dnsmasq", "dnsmasq-base")


def _free_port() -> int:
    """A loopback port free for both UDP and TCP just now (the kernel picks UDP's; TCP may
    hold that one already, then we ask again)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no loopback port free for both UDP and TCP")


def common_port(hosts: list[str]) -> int:
    """A TCP port free on every one of `hosts` just now (servers behind one DNS name)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for host in hosts[1:]:
                with socket.socket() as other:
                    other.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every address")


class Dnsmasq:
    """One foreground dnsmasq answering for *.test from `hosts` and the given SRV records."""

    def __init__(self, workdir: Path, srv: list[str]):
        self.hosts = workdir / "hosts"
        self.srv = srv
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None

    def write(self, records: dict[str, list[str]]) -> None:
        """Rewrite the hosts file: each name with its addresses."""
        self.hosts.write_text(
            "".join(
                f"{address} {name}\n"
                for name, addresses in records.items()
                for address in addresses
            )
        )

    def start(self) -> None:
        """Start on a free port; wait until the hosts file has been read (bounded)."""
        for _ in range(3):  # a port taken between choosing and binding: choose again
            self.port = _free_port()
            self.process = subprocess.Popen(
                [
                    _dnsmasq(),
                    "--no-daemon",
                    "--conf-file=/dev/null",
                    f"--port={self.port}",
                    "--listen-address=127.0.0.1",
                    "--bind-interfaces",
                    "--no-resolv",
                    "--no-hosts",
                    f"--addn-hosts={self.hosts}",
                    "--local=/test/",  # unknown *.test names: NXDOMAIN, never forwarded
                    *(f"--srv-host={record}" for record in self.srv),
                    "--log-facility=-",
                    f"--user={getpass.getuser()}",
                    f"--group={grp.getgrgid(os.getgid()).gr_name}",
                    "--pid-file=",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            self._lines = queue.Queue()
            self._reader = threading.Thread(
                target=self._read, args=(self.process, self._lines), daemon=True
            )
            self._reader.start()
            if self._await_read():
                return
            self.stop()
        raise RuntimeError("dnsmasq did not start")

    @staticmethod
    def _read(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        """Pass dnsmasq's log lines on; None when it exits."""
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    def _await_read(self) -> bool:
        """Wait for the log line saying the hosts file was (re)read; False if dnsmasq exited."""
        while True:
            line = self._lines.get(timeout=WAIT)
            if line is None:
                return False
            if f"read {self.hosts}" in line:
                return True

    def reload(self) -> None:
        """SIGHUP: dnsmasq re-reads the hosts file and clears its cache."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        assert self._await_read(), "dnsmasq exited on reload"

    def stop(self) -> None:
        """Stop this dnsmasq (terminate, then kill after a bound)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(WAIT)  # it reads to the end of the log before the pipe closes
        if process.stderr is not None:
            process.stderr.close()
