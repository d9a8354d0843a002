"""The pool and client against real loopback servers: bounds, clean-or-discard, retries, fork."""

from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from thrift.Thrift import TApplicationException

from thrift_bridge import (
    Client,
    ConnectError,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    ReadTimeout,
    TransportError,
)
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import BadInput
from .handlers import AllTypesHandler

if TYPE_CHECKING:
    import socket


def open_fds() -> int:
    """The number of file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def settled_fds(expected: int) -> int:
    """The fd count once the in-process server has closed its side (bounded wait)."""
    deadline = time.monotonic() + 5
    while open_fds() != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return open_fds()


@pytest.fixture
def server():
    """A threaded AllTypes server on 127.0.0.1 (buffered binary)."""
    with serve(AllTypes.Processor(AllTypesHandler())) as srv:
        yield srv


def test_call_borrows_and_returns_one_connection_lifo(server):
    with Client(AllTypes, server.url, pool_size=4) as client:
        for i in range(20):
            assert client.add(i, 1) == i + 1
        stats = client.stats()
    assert stats["created"] == 1
    assert stats["reused"] == 19
    assert stats["in_use"] == 0


def test_generated_client_built_once_per_connection(server):
    with Client(AllTypes, server.url) as client, client.connection() as pinned:
        first = pinned._conn.client
        pinned.add(1, 2)
        pinned.add(3, 4)
        assert pinned._conn.client is first


def test_32_threads_share_a_pool_of_4_without_deadlock_or_leak(server):
    before = open_fds()
    with Client(AllTypes, server.url, pool_size=4, pool_timeout=30) as client:

        def work(worker: int) -> None:
            for i in range(150):
                assert client.add(worker, i) == worker + i

        with ThreadPoolExecutor(32) as executor:
            list(executor.map(work, range(32)))
        stats = client.stats()
        assert stats["open"] <= 4
        assert stats["created"] + stats["reused"] == 32 * 150
    assert settled_fds(before) == before


def test_no_caller_ever_receives_another_calls_reply_after_timeouts(server):
    """Calls time out mid-reply at random; no later call may read a stale reply."""
    rng = random.Random(7)
    with Client(AllTypes, server.url, pool_size=4, timeout=0.03, retries=0) as client:
        timeouts = ok = 0

        def work(worker: int) -> tuple[int, int]:
            got_ok = got_timeout = 0
            for i in range(300):
                nonce = f"{worker}-{i}-{rng.random()}"
                delay = rng.choice((0.0, 0.0, 0.0, 0.02, 0.05))
                try:
                    assert client.slow_echo(nonce, delay) == nonce
                    got_ok += 1
                except ReadTimeout:
                    got_timeout += 1
            return got_ok, got_timeout

        with ThreadPoolExecutor(8) as executor:
            for got_ok, got_timeout in executor.map(work, range(8)):
                ok += got_ok
                timeouts += got_timeout
        assert ok > 0
        assert timeouts > 0
        assert client.stats()["discarded"] >= timeouts


def test_pool_timeout_names_the_pool_and_its_size(server):
    with Client(AllTypes, server.url, pool_size=1, pool_timeout=0.05) as client:
        with client.connection() as pinned:
            pinned.add(1, 1)
            with pytest.raises(PoolTimeout, match="all 1 connections"):
                client.add(1, 2)
        assert client.add(1, 2) == 3
        assert client.stats()["timeouts"] == 1


def test_pinned_connection_returned_on_error(server):
    with Client(AllTypes, server.url, pool_size=1) as client:
        with pytest.raises(BadInput), client.connection() as pinned:
            pinned.raise_error(1)
        assert client.stats()["in_use"] == 0
        assert client.add(2, 2) == 4


def test_declared_and_application_exceptions_keep_the_connection(server):
    with Client(AllTypes, server.url) as client:
        with pytest.raises(BadInput):
            client.raise_error(1)
        with pytest.raises(TApplicationException):
            client.raise_error(3)
        assert client.add(1, 1) == 2
        stats = client.stats()
    assert stats["created"] == 1
    assert stats["discarded"] == 0


def test_timeout_discards_the_connection(server):
    with Client(AllTypes, server.url, timeout=0.05, retries=0) as client:
        with pytest.raises(ReadTimeout):
            client.slow_echo("x", 0.3)
        assert client.slow_echo("y", 0) == "y"
        stats = client.stats()
    assert stats["discarded"] == 1
    assert stats["created"] == 2


def test_keyboard_interrupt_mid_call_discards_the_connection(server):
    with Client(AllTypes, server.url) as client:
        with client.connection() as pinned:
            conn = pinned._conn

        def interrupted(*args):
            raise KeyboardInterrupt

        conn.transport.read = conn.transport.readAll = interrupted  # Ctrl-C awaiting the reply
        with pytest.raises(KeyboardInterrupt):
            client.add(1, 2)
        del conn.transport.read, conn.transport.readAll
        assert client.add(1, 2) == 3
        assert client.stats()["discarded"] == 1


def test_stale_connection_replaced_after_server_restart(socket_dir):
    path = os.path.join(socket_dir, "restart.sock")
    handler = AllTypesHandler()
    with serve(AllTypes.Processor(handler), scheme="unix", socket_path=path) as first:
        client = Client(AllTypes, first.url, retries=0)
        assert client.add(1, 1) == 2
    with serve(AllTypes.Processor(handler), scheme="unix", socket_path=path):
        for i in range(5):
            assert client.add(i, 1) == i + 1
        stats = client.stats()
    client.close()
    assert stats["discarded"] == 1
    assert stats["created"] == 2
    assert stats["retries"] == 0


def test_server_stopped_mid_run_then_every_later_call_succeeds(socket_dir):
    path = os.path.join(socket_dir, "stop.sock")
    handler = AllTypesHandler()
    client = Client(AllTypes, f"unix://{path}", retries=1, retry_backoff=0)
    with serve(AllTypes.Processor(handler), scheme="unix", socket_path=path):
        assert client.add(1, 1) == 2
    with pytest.raises(ConnectError):
        client.add(1, 1)
    with serve(AllTypes.Processor(handler), scheme="unix", socket_path=path):
        assert [client.add(i, 0) for i in range(10)] == list(range(10))
    client.close()


def test_max_idle_and_max_lifetime_recycle(server):
    with Client(AllTypes, server.url, max_idle=0.05) as client:
        client.add(1, 1)
        time.sleep(0.1)
        client.add(1, 1)
        assert client.stats()["created"] == 2
    with Client(AllTypes, server.url, max_lifetime=0.05) as client:
        client.add(1, 1)
        client.add(1, 1)
        time.sleep(0.1)
        client.add(1, 1)
        assert client.stats()["created"] == 2


def test_connect_failure_retries_on_the_next_endpoint(server, closed_port):
    dead = f"tcp://127.0.0.1:{closed_port}"
    with Client(AllTypes, [dead, server.url], retries=1, retry_backoff=0) as client:
        assert [client.add(i, 1) for i in range(6)] == [i + 1 for i in range(6)]
        assert client.stats()["retries"] <= 1  # the dead endpoint cools down after one failure


def test_comma_separated_hosts_balance_round_robin():
    handlers = [AllTypesHandler(), AllTypesHandler()]
    with (
        serve(AllTypes.Processor(handlers[0])) as one,
        serve(AllTypes.Processor(handlers[1])) as two,
    ):
        port_one, port_two = one.address[1], two.address[1]
        with Client(AllTypes, f"tcp://127.0.0.1:{port_one},127.0.0.1:{port_two}") as client:
            for token in range(10):
                client.fire(f"t{token}")
                client.last_fired()
            assert one.connections_accepted == 1
            assert two.connections_accepted == 1


def test_sent_request_not_retried_unless_idempotent():
    requests = []

    def hang_up(conn: socket.socket) -> None:
        requests.append(conn.recv(65536))
        conn.close()

    with serve_raw(hang_up) as raw:
        url = raw.url
        with Client(AllTypes, url, retries=2, retry_backoff=0) as client:
            with pytest.raises(TransportError):
                client.add(1, 2)
            assert len(requests) == 1
        requests.clear()
        with Client(AllTypes, url, retries=2, retry_backoff=0, idempotent={"add"}) as client:
            with pytest.raises(TransportError):
                client.add(1, 2)
            assert len(requests) == 3
            assert client.stats()["retries"] == 2


def test_reply_with_wrong_sequence_id_is_a_protocol_error():
    def replay(conn: socket.socket) -> None:
        from thrift.protocol.TBinaryProtocol import TBinaryProtocol
        from thrift.transport.TTransport import TMemoryBuffer

        conn.recv(65536)
        out = TMemoryBuffer()
        proto = TBinaryProtocol(out)
        proto.writeMessageBegin("add", 2, 0)  # seqid 0, as Apache's clients always send
        AllTypes.add_result(success=3).write(proto)
        proto.writeMessageEnd()
        conn.sendall(out.getvalue())
        conn.recv(1)

    with serve_raw(replay) as raw, Client(AllTypes, raw.url, retries=0) as client:
        with pytest.raises(ProtocolError, match="out of step"):
            client.add(1, 2)
        assert client.stats()["discarded"] == 1


def test_oneway_returns_once_flushed(server):
    with Client(AllTypes, server.url) as client:
        assert client.fire("ping") is None
        deadline = time.monotonic() + 5
        while client.last_fired() != "ping" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.last_fired() == "ping"


def test_close_closes_idle_connections_and_later_calls_fail(server):
    before = open_fds()
    client = Client(AllTypes, server.url)
    client.add(1, 1)
    client.close()
    assert settled_fds(before) == before
    with pytest.raises(PoolClosed):
        client.add(1, 1)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fork_child_drops_inherited_connections_and_parent_keeps_its_own(server):
    with Client(AllTypes, server.url) as client:
        assert client.add(1, 1) == 2
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: must open its own connection and leave the parent's alone
            code = 1
            try:
                ok = client.add(2, 2) == 4 and client.stats()["created"] == 1
                code = 0 if ok else 2
            finally:
                os.write(write_end, b"done")
                os._exit(code)
        os.close(write_end)
        assert os.read(read_end, 4) == b"done"
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert client.add(3, 3) == 6  # the parent's socket is untouched and still in step
        stats = client.stats()
        assert stats["created"] == 1
        assert stats["discarded"] == 0


def test_pool_bound_holds_under_churn(server):
    lock = threading.Lock()
    peak = 0
    with Client(AllTypes, server.url, pool_size=3, pool_timeout=30) as client:

        def work(_: int) -> None:
            nonlocal peak
            for _ in range(50):
                with client.connection() as pinned:
                    with lock:
                        peak = max(peak, client.stats()["in_use"])
                    pinned.add(1, 1)

        with ThreadPoolExecutor(12) as executor:
            list(executor.map(work, range(12)))
    assert peak == 3


def test_waiters_are_served_first_come_first_served(server):
    """A thread that releases and re-acquires in a loop must not starve a waiting thread."""
    with Client(AllTypes, server.url, pool_size=1, pool_timeout=1.0) as client:
        stop = threading.Event()

        def hog() -> None:
            deadline = time.monotonic() + 3
            while not stop.is_set() and time.monotonic() < deadline:
                client.add(1, 1)

        hogger = threading.Thread(target=hog)
        hogger.start()
        try:
            time.sleep(0.05)
            waited = []
            for _ in range(5):
                start = time.monotonic()
                assert client.add(2, 2) == 4  # PoolTimeout here if the hog barges in
                waited.append(time.monotonic() - start)
            assert max(waited) < 0.5
        finally:
            stop.set()
            hogger.join(10)


def test_round_robin_spreads_a_down_endpoints_turns_evenly(closed_port):
    """One of three endpoints down: the other two share its turns, not only its neighbour."""
    counts = [0, 0]

    class Counting(AllTypesHandler):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

        def add(self, a: int, b: int) -> int:
            counts[self.index] += 1
            return a + b

    with (
        serve(AllTypes.Processor(Counting(0))) as one,
        serve(AllTypes.Processor(Counting(1))) as two,
    ):
        urls = [one.url, f"tcp://127.0.0.1:{closed_port}", two.url]
        options = {"retries": 1, "retry_backoff": 0, "cooldown": 60, "balancer": "round_robin"}
        with Client(AllTypes, urls, **options) as client:
            assert [client.add(i, 1) for i in range(30)] == [i + 1 for i in range(30)]
    assert abs(counts[0] - counts[1]) <= 2, counts  # was 20/10: the neighbour took every turn
