"""A real HAProxy in TCP mode before two real Thrift servers: idle timeouts, failover, restart."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from typing import TYPE_CHECKING

import pytest

from thrift_bridge import Client
from thrift_bridge.testing import serve

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler
from .procs import system_binary

if TYPE_CHECKING:
    from pathlib import Path

LB_TIMEOUT = 0.4  # HAProxy's client and server idle timeouts, in seconds


def _haproxy() -> str:
    """The haproxy binary; skip on a laptop without it, fail under CI."""
    return system_binary("haproxy", "haproxy")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class HAProxy:
    """One foreground haproxy process balancing a frontend port over backend addresses."""

    def __init__(self, workdir: Path, port: int, backends: list[tuple[str, int]]):
        self.port = port
        self.config = workdir / "haproxy.cfg"
        ms = int(LB_TIMEOUT * 1000)
        servers = "\n".join(
            f"    server s{i} {host}:{bport} check inter 100ms fall 1 rise 1"
            for i, (host, bport) in enumerate(backends)
        )
        self.config.write_text(
            f"""global
    maxconn 256
defaults
    mode tcp
    timeout connect 1s
    timeout client {ms}ms
    timeout server {ms}ms
    retries 3
    option redispatch
frontend thrift
    bind 127.0.0.1:{port}
    default_backend servers
backend servers
    balance roundrobin
{servers}
"""
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start haproxy and wait (bounded) until its frontend accepts."""
        self.process = subprocess.Popen(
            [_haproxy(), "-db", "-f", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("haproxy did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop haproxy (terminate, then kill after a bound)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def balanced(tmp_path):
    """Two AllTypes servers behind HAProxy; yields (url, [server1, server2], haproxy)."""
    _haproxy()
    one = serve(AllTypes.Processor(AllTypesHandler()))
    two = serve(AllTypes.Processor(AllTypesHandler()))
    proxy = HAProxy(tmp_path, _free_port(), [one.address, two.address])  # type: ignore[list-item]
    proxy.start()
    try:
        yield f"tcp://127.0.0.1:{proxy.port}", [one, two], proxy
    finally:
        proxy.stop()
        one.close()
        two.close()


def test_calls_after_idle_periods_longer_than_the_lb_timeout_succeed(balanced):
    url, _, _ = balanced
    with Client(AllTypes, url, pool_size=4) as client:
        for round_ in range(3):
            assert [client.add(round_, i) for i in range(10)] == [round_ + i for i in range(10)]
            time.sleep(LB_TIMEOUT * 2)  # HAProxy closes every idle connection meanwhile
        stats = client.stats()
    assert stats["discarded"] >= 2  # stale connections were found and replaced, silently
    assert stats["retries"] == 0


def test_one_backend_killed_calls_fail_over(balanced):
    url, (one, _), _ = balanced
    with Client(AllTypes, url, pool_size=4, idempotent={"add"}, retries=3) as client:
        assert [client.add(1, i) for i in range(10)] == [1 + i for i in range(10)]
        one.close()
        assert [client.add(2, i) for i in range(50)] == [2 + i for i in range(50)]


def test_haproxy_restarted_mid_run_later_calls_succeed(balanced):
    url, _, proxy = balanced
    with Client(AllTypes, url, pool_size=2, retries=2, retry_backoff=0.05) as client:
        assert client.add(1, 1) == 2
        proxy.stop()
        proxy.start()
        assert [client.add(3, i) for i in range(20)] == [3 + i for i in range(20)]


def test_calls_spaced_at_the_lb_idle_timeout_never_race_a_closing_connection(balanced):
    """With max_idle below the balancer's idle timeout, no call is sent on a closing socket.

    Calls spaced exactly at HAProxy's idle timeout used to fail about one in seven: the stale
    connection passed the checkout check and HAProxy closed it while the request was in
    flight (and a sent, non-idempotent call must not be retried).
    """
    url, _, _ = balanced
    with Client(AllTypes, url, pool_size=1, retries=0, max_idle=LB_TIMEOUT * 0.75) as client:
        for i in range(12):
            assert client.add(i, 1) == i + 1  # not idempotent: any race would raise here
            threading.Event().wait(LB_TIMEOUT)
        stats = client.stats()
    assert stats["created"] >= 11  # each idle connection was recycled before HAProxy's close
    assert stats["retries"] == 0
