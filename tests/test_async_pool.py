"""`AsyncConnectionPool` against real loopback servers: bounds, waits, discard, recycling, close."""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

import pytest

from thrift_bridge import (
    AsyncClient,
    AsyncConnectionPool,
    ConfigError,
    PoolClosed,
    PoolTimeout,
    parse_url,
)
from thrift_bridge.testing import serve

from .aio import bounded, until
from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler

if TYPE_CHECKING:
    from collections.abc import Iterator

    from thrift_bridge.testing import LoopbackServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A threaded AllTypes server on 127.0.0.1 (buffered binary)."""
    with serve(AllTypes.Processor(AllTypesHandler())) as srv:
        yield srv


def pool_of(server: LoopbackServer, **options: Any) -> AsyncConnectionPool:
    """A pool of connections to `server`."""
    return AsyncConnectionPool(parse_url(server.url), AllTypes, **options)


async def add(pool: AsyncConnectionPool, a: int, b: int) -> int:
    """One call on a borrowed connection, given back once it is done."""
    conn = await bounded(pool.acquire())
    try:
        result: int = await bounded(conn.call("add", (a, b), {}, None))
    finally:
        pool.release(conn)
    return result


async def test_connections_open_on_demand_and_the_warmest_goes_out_first(server):
    async with pool_of(server, size=4) as pool:
        assert pool.stats()["open"] == 0  # nothing opened at construction
        first, second = await bounded(pool.acquire()), await bounded(pool.acquire())
        assert first is not second
        pool.release(first)
        pool.release(second)
        again = await bounded(pool.acquire())
        assert again is second  # the last one given back is the first handed out
        assert await bounded(again.call("add", (1, 2), {}, None)) == 3
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


async def test_the_bound_holds_and_a_caller_waits_at_most_the_timeout(server):
    async with pool_of(server, size=1, timeout=0.05) as pool:
        held = await bounded(pool.acquire())
        with pytest.raises(
            PoolTimeout, match=r"all 1 connections of the pool stayed busy for 0\.05s"
        ):
            await bounded(pool.acquire())
        with pytest.raises(PoolTimeout, match=r"for 0\.01s"):  # a timeout of its own
            await bounded(pool.acquire(timeout=0.01))
        stats = pool.stats()
        pool.release(held)
    assert (stats["open"], stats["in_use"], stats["waits"], stats["timeouts"]) == (1, 1, 2, 2)
    assert server.connections_accepted == 1


async def test_waiters_get_a_freed_connection_first_come_first_served(server):
    async with pool_of(server, size=1, timeout=30) as pool:
        held = await bounded(pool.acquire())
        first = asyncio.ensure_future(pool.acquire())
        await until(lambda: pool.stats()["waits"] == 1, "the first caller waits")
        second = asyncio.ensure_future(pool.acquire())
        await until(lambda: pool.stats()["waits"] == 2, "the second caller waits")
        pool.release(held)
        assert await bounded(first) is held
        assert not second.done()
        pool.release(held)
        assert await bounded(second) is held
        pool.release(held)
        assert pool.stats()["created"] == 1


async def test_a_connection_given_back_unclean_is_closed_and_its_room_reopened(server):
    async with pool_of(server, size=1) as pool:
        conn = await bounded(pool.acquire())
        pool.release(conn, clean=False)
        await until(lambda: pool.stats()["discarded"] == 1, "the connection closed")
        stats = pool.stats()
        assert (stats["open"], stats["idle"], stats["in_use"]) == (0, 0, 0)
        again = await bounded(pool.acquire())
        assert again is not conn
        pool.release(again)
        assert await add(pool, 2, 3) == 5
        assert pool.stats()["created"] == 2


async def test_an_idle_connection_the_server_closed_is_replaced(socket_dir):
    """The loop reports the peer's close while the connection is idle in the pool."""
    path = os.path.join(socket_dir, "r.sock")
    server = serve(AllTypes.Processor(AllTypesHandler()), scheme="unix", socket_path=path)
    try:
        async with AsyncConnectionPool(parse_url(server.url), AllTypes) as pool:
            assert await add(pool, 1, 1) == 2
            server.close()
            server = serve(AllTypes.Processor(AllTypesHandler()), scheme="unix", socket_path=path)
            await until(lambda: pool.stats()["open"] == 0, "the loop saw the idle close")
            assert await add(pool, 2, 2) == 4
            assert (pool.stats()["created"], pool.stats()["discarded"]) == (2, 1)
    finally:
        server.close()


async def test_max_idle_replaces_a_connection_left_idle_too_long(server):
    async with pool_of(server, max_idle=60) as pool:
        conn = await bounded(pool.acquire())
        pool.release(conn)
        assert await bounded(pool.acquire()) is conn  # idle for less than max_idle: reused
        pool.release(conn)
    async with pool_of(server, max_idle=0.05) as pool:
        conn = await bounded(pool.acquire())
        pool.release(conn)
        await asyncio.sleep(0.1)  # the idle time is what is under test
        again = await bounded(pool.acquire())
        assert again is not conn
        pool.release(again)
        await until(lambda: pool.stats()["discarded"] == 1, "the expired one closed")
        assert (pool.stats()["created"], pool.stats()["reused"]) == (2, 0)


async def test_max_lifetime_retires_a_connection_in_steady_use(server):
    """max_idle never expires a connection in use all the time; max_lifetime does, never
    before its lifetime less the 10 % jitter."""
    lifetime = 0.2
    async with pool_of(server, max_idle=None, max_lifetime=lifetime) as pool:
        opened = time.monotonic()
        first = await bounded(pool.acquire())
        pool.release(first)
        for _ in range(100_000):  # bounded: until the first connection is retired
            conn = await bounded(pool.acquire())
            if conn is not first or time.monotonic() > opened + 10:
                break
            assert await bounded(conn.call("add", (1, 1), {}, None)) == 2
            pool.release(conn)
        retired_after = time.monotonic() - opened
        pool.release(conn)
        assert conn is not first
        assert retired_after >= lifetime * 0.9
        await until(lambda: pool.stats()["discarded"] == 1, "the retired one closed")
        assert pool.stats()["created"] == 2


async def test_max_lifetime_retires_a_connection_handed_from_caller_to_caller(server):
    """With callers always waiting in line, a freed connection goes straight to the next
    one; it is still retired once past max_lifetime."""
    lifetime = 0.2
    async with pool_of(server, size=1, max_idle=None, max_lifetime=lifetime, timeout=30) as pool:
        opened = time.monotonic()
        seen: list[object] = []

        async def caller() -> None:
            for _ in range(20_000):  # bounded: until a second connection, or 5 s
                conn = await pool.acquire()
                seen.append(conn)
                try:
                    assert await conn.call("add", (1, 1), {}, None) == 2
                finally:
                    pool.release(conn)
                if pool.stats()["created"] == 2 or time.monotonic() > opened + 5:
                    return

        await bounded(asyncio.gather(caller(), caller(), caller()))
        stats = pool.stats()
        assert stats["created"] == 2
        assert stats["waits"] > 100  # callers were in line: room went from one to the next
        assert seen[-1] is not seen[0]


async def test_close_closes_idle_connections_and_refuses_waiters_and_later_callers(server):
    pool = pool_of(server, size=2, timeout=30)
    idle, busy = await bounded(pool.acquire()), await bounded(pool.acquire())
    pool.release(idle)
    busy_too = await bounded(pool.acquire())  # the idle one again: both are busy now
    under_way = asyncio.ensure_future(busy.call("slow_echo", ("late", 0.2), {}, None))
    waiter = asyncio.ensure_future(pool.acquire())
    await until(lambda: pool.stats()["waits"] == 1, "a caller waits for a connection")
    await pool.aclose()
    assert pool.closed
    with pytest.raises(PoolClosed):
        await bounded(waiter)  # woken by close, not left to time out
    with pytest.raises(PoolClosed, match="is closed"):
        await bounded(pool.acquire())
    assert await bounded(under_way) == "late"  # a call under way when the pool closed ends
    pool.release(busy)
    pool.release(busy_too)
    await until(lambda: pool.stats()["open"] == 0, "busy connections closed once given back")


async def test_a_pool_refuses_a_second_loop_with_a_clear_error(server):
    pool = pool_of(server)
    conn = await bounded(pool.acquire())
    pool.release(conn)

    def elsewhere() -> str:
        async def acquire() -> str:
            try:
                await pool.acquire()
            except ConfigError as exc:
                return str(exc)
            return "acquired"

        return asyncio.run(acquire())

    message = await asyncio.get_running_loop().run_in_executor(None, elsewhere)
    assert "belongs to another event loop" in message
    await pool.aclose()


async def test_a_client_pool_is_bounded_and_times_out_waiters(server):
    async with AsyncClient(AllTypes, server.url, pool_size=1, pool_timeout=0.2) as client:
        slow = asyncio.ensure_future(client.slow_echo("hold", 1.0))
        await until(lambda: client.stats()["in_use"] == 1, "the slow call holds the connection")
        with pytest.raises(PoolTimeout, match="all 1 connections of the pool stayed busy"):
            await bounded(client.add(1, 1))
        assert await bounded(slow) == "hold"
        stats = client.stats()
    assert stats["created"] == 1
    assert stats["timeouts"] == 1
