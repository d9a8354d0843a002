"""`ConnectionPool` against real loopback servers: bounds, waits, discard, recycling, close."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

from thrift_bridge import Client, ConnectionPool, PoolClosed, PoolTimeout, parse_url
from thrift_bridge.testing import serve

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from thrift_bridge.testing import LoopbackServer


def open_fds() -> int:
    """The number of file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def settled_fds(expected: int) -> int:
    """The fd count once the in-process server has closed its side (bounded wait)."""
    deadline = time.monotonic() + 5
    while open_fds() != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return open_fds()


def eventually(predicate: Callable[[], bool], what: str) -> None:
    """Wait until `predicate()` holds (polled, bounded in time)."""
    deadline = time.monotonic() + 10
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.002)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A threaded AllTypes server on 127.0.0.1 (buffered binary)."""
    with serve(AllTypes.Processor(AllTypesHandler())) as srv:
        yield srv


def pool_of(server: LoopbackServer, **options: Any) -> ConnectionPool:
    """A pool of connections to `server`."""
    return ConnectionPool(parse_url(server.url), AllTypes.Client, **options)


def add(pool: ConnectionPool, a: int, b: int) -> int:
    """One call on a borrowed connection, given back clean or discarded (as documented)."""
    conn = pool.acquire()
    try:
        conn.begin_call()
        result: int = conn.client.add(a, b)
    except BaseException:
        pool.release(conn, clean=False)
        raise
    pool.release(conn)
    return result


# --- ConnectionPool itself ------------------------------------------------------------------


def test_connections_open_on_demand_and_go_out_last_in_first_out(server):
    with pool_of(server, size=4) as pool:
        assert pool.stats()["open"] == 0  # nothing opened at construction
        first, second = pool.acquire(), pool.acquire()
        assert first is not second
        pool.release(first)
        pool.release(second)
        again = pool.acquire()
        assert again is second  # the last one given back is the first handed out
        again.begin_call()
        assert again.client.add(1, 2) == 3
        pool.release(again)
        stats = pool.stats()
    assert stats == {
        "open": 2,
        "idle": 2,
        "in_use": 0,
        "created": 2,
        "reused": 1,
        "discarded": 0,
        "waits": 0,
        "timeouts": 0,
    }
    assert server.connections_accepted == 2


def test_a_connection_keeps_its_generated_client_for_every_call(server):
    with pool_of(server) as pool:
        conn = pool.acquire()
        generated = conn.client
        for i in range(3):
            conn.begin_call()
            assert conn.call("add", (i, 1), {}) == i + 1
        pool.release(conn)
        again = pool.acquire()
        assert again is conn
        assert again.client is generated
        pool.release(again)


def test_the_bound_holds_and_a_caller_waits_at_most_its_timeout(server):
    with pool_of(server, size=2, timeout=0.05) as pool:
        held = [pool.acquire(), pool.acquire()]
        with pytest.raises(
            PoolTimeout, match=r"all 2 connections of the pool stayed busy for 0\.05s"
        ):
            pool.acquire()
        with pytest.raises(PoolTimeout, match=r"for 0\.01s"):  # a timeout of its own
            pool.acquire(timeout=0.01)
        stats = pool.stats()
        for conn in held:
            pool.release(conn)
    assert (stats["open"], stats["in_use"], stats["idle"]) == (2, 2, 0)
    assert (stats["waits"], stats["timeouts"]) == (2, 2)
    assert server.connections_accepted == 2


def test_a_connection_given_back_goes_to_the_caller_waiting_for_it(server):
    with pool_of(server, size=1, timeout=30) as pool:
        conn = pool.acquire()
        handed: list[Any] = []
        waiter = threading.Thread(target=lambda: handed.append(pool.acquire()))
        waiter.start()
        eventually(lambda: pool.stats()["waits"] == 1, "the second caller waits")
        pool.release(conn)
        waiter.join(10)
        assert handed == [conn]
        pool.release(conn)
        assert pool.stats()["timeouts"] == 0


def test_waiters_are_served_first_come_first_served(server):
    """A thread that gives back and takes again in a loop must not starve a waiting thread."""
    with pool_of(server, size=1, timeout=2) as pool:
        stop, hogging = threading.Event(), threading.Event()

        def hog() -> None:
            for _ in range(1_000_000):  # bounded; ends when the test is done
                if stop.is_set():
                    return
                pool.release(pool.acquire())
                hogging.set()

        hogger = threading.Thread(target=hog)
        hogger.start()
        try:
            assert hogging.wait(10)
            for _ in range(5):
                pool.release(pool.acquire())  # PoolTimeout here if the hog barges in
        finally:
            stop.set()
            hogger.join(10)
        assert pool.stats()["timeouts"] == 0


def test_a_connection_given_back_unclean_is_closed_and_its_slot_opens_anew(server):
    before = open_fds()
    with pool_of(server, size=1) as pool:
        conn = pool.acquire()
        pool.release(conn, clean=False)
        stats = pool.stats()
        assert (stats["open"], stats["idle"], stats["in_use"], stats["discarded"]) == (0, 0, 0, 1)
        assert settled_fds(before) == before  # closed on both ends, not left to the collector
        again = pool.acquire(timeout=0)  # the slot was given back: a new connection
        assert again is not conn
        pool.release(again)
        assert add(pool, 2, 3) == 5
        assert pool.stats()["created"] == 2


def test_max_idle_replaces_a_connection_left_idle_too_long(server):
    with pool_of(server, max_idle=60) as pool:
        conn = pool.acquire()
        pool.release(conn)
        assert pool.acquire() is conn  # idle for less than max_idle: reused
        pool.release(conn)
    with pool_of(server, max_idle=0.05) as pool:
        conn = pool.acquire()
        pool.release(conn)
        time.sleep(0.1)  # the idle time is what is under test
        again = pool.acquire()
        assert again is not conn
        pool.release(again)
        stats = pool.stats()
    assert (stats["created"], stats["discarded"], stats["reused"]) == (2, 1, 0)


def test_max_lifetime_retires_a_connection_in_steady_use(server):
    """max_idle never expires a connection in use all the time; max_lifetime does, never
    before its lifetime less the 10 % jitter."""
    lifetime = 0.2
    with pool_of(server, max_idle=None, max_lifetime=lifetime) as pool:
        opened = time.monotonic()
        first = pool.acquire()
        pool.release(first)
        for _ in range(100_000):  # bounded: until the first connection is retired
            conn = pool.acquire()
            if conn is not first or time.monotonic() > opened + 10:
                break
            conn.begin_call()
            assert conn.client.add(1, 1) == 2
            pool.release(conn)
        retired_after = time.monotonic() - opened
        pool.release(conn)
        stats = pool.stats()
    assert conn is not first
    assert retired_after >= lifetime * 0.9
    assert (stats["created"], stats["discarded"]) == (2, 1)


def test_close_closes_idle_connections_now_and_busy_ones_when_given_back(server):
    before = open_fds()
    pool = pool_of(server, size=2)
    idle, busy = pool.acquire(), pool.acquire()
    pool.release(idle)
    pool.close()
    assert pool.closed
    assert pool.stats()["open"] == 1  # the one still checked out
    with pytest.raises(PoolClosed, match="is closed"):
        pool.acquire()
    busy.begin_call()
    assert busy.client.add(1, 2) == 3  # a call under way on a checked-out connection ends
    pool.release(busy)
    assert pool.stats()["open"] == 0
    assert settled_fds(before) == before


def test_close_wakes_a_waiting_caller_with_pool_closed(server):
    pool = pool_of(server, size=1, timeout=30)
    held = pool.acquire()
    refused: list[BaseException] = []

    def wait_for_one() -> None:
        try:
            pool.acquire()
        except PoolClosed as exc:
            refused.append(exc)

    waiter = threading.Thread(target=wait_for_one)
    waiter.start()
    eventually(lambda: pool.stats()["waits"] == 1, "a caller waits for a connection")
    pool.close()
    waiter.join(10)
    assert len(refused) == 1  # woken by close, not left to time out
    pool.release(held)


# --- the pool under a Client ---------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("share", "waited", "left"),
    [(1.0, 0.25, 0.75), (1.0, 0.9999, 0.001), (0.2, 0.0, 0.2)],
)
def test_a_deadlines_share_for_connecting_is_what_the_line_left(share, waited, left):
    from thrift_bridge._pool import connect_share

    assert connect_share(share, waited, "tcp://h:1") == pytest.approx(left)


@pytest.mark.parametrize("waited", [0.2, 0.3])
def test_a_share_the_line_spent_raises_connect_timeout_naming_it(waited):
    from thrift_bridge import ConnectTimeout
    from thrift_bridge._pool import connect_share

    with pytest.raises(ConnectTimeout, match=r"the 0\.2s left of the deadline went on waiting"):
        connect_share(0.2, waited, "tcp://h:1")
