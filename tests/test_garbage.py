"""A call leaves no reference cycle behind, failed or not: everything it made goes when the
caller drops the result or the error, without the garbage collector. A cycle per failure made
a burst of failures (a deadline running out for a few hundred callers at once) wait for a
full collection, tens of milliseconds on a large app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import types
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from thrift.Thrift import TApplicationException

import thrift_bridge
from thrift_bridge import AsyncClient, Client, ThriftBridgeError, deadline
from thrift_bridge.testing import serve_raw

from .aio import bounded
from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import BadInput
from .handlers import AllTypesHandler

if TYPE_CHECKING:
    import socket
    from collections.abc import Awaitable, Callable, Iterator

_PACKAGE = os.path.dirname(thrift_bridge.__file__)
_SERVERS = os.path.join(_PACKAGE, "testing")
ROUNDS = 3


def _ours(obj: object) -> str | None:
    """What `obj` is, when the client made it (a frame of its code or an object of its
    classes; the loopback servers' own objects, in this process too, are left out)."""
    if isinstance(obj, types.FrameType):
        path = obj.f_code.co_filename
        if path.startswith(_PACKAGE) and not path.startswith(_SERVERS):
            return f"frame of {obj.f_code.co_name} ({os.path.basename(path)})"
        return None
    module = type(obj).__module__
    if module.startswith("thrift_bridge.") and not module.startswith("thrift_bridge.testing"):
        return type(obj).__qualname__
    return None


def _a_cycle(garbage: list[Any], start: object) -> str:
    """One shortest cycle through `start` among `garbage`, as the kinds of its objects ("":
    none; `start` is then only kept by one)."""
    inside = {id(obj) for obj in garbage}
    came_from: dict[int, Any] = {id(start): None}
    line = [start]
    for obj in line:  # breadth first: the line grows as it is walked
        for nxt in gc.get_referents(obj):
            if nxt is start:
                path = [obj]
                while came_from[id(path[-1])] is not None:
                    path.append(came_from[id(path[-1])])
                return " -> ".join(_ours(o) or type(o).__name__ for o in [*reversed(path), start])
            if id(nxt) in inside and id(nxt) not in came_from:
                came_from[id(nxt)] = obj
                line.append(nxt)
    return ""


@contextlib.contextmanager
def no_cycles_left() -> Iterator[None]:
    """Fail when the block leaves a cycle of the client's objects for the collector."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield
        gc.collect()
        found = Counter(what for what in map(_ours, gc.garbage) if what is not None)
        cycles = (_a_cycle(gc.garbage, obj) for obj in gc.garbage[:100000] if _ours(obj))
        cycle = next((c for c in cycles if c), "")
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert not found, f"cycles left for the garbage collector: {dict(found)}; one: {cycle}"


def hung(conn: socket.socket) -> None:
    """A server that reads requests and never answers (until the client closes)."""
    while conn.recv(65536):
        pass


@pytest.fixture
def hung_server() -> Iterator[Any]:
    """A raw server that never answers."""
    with serve_raw(hung) as server:
        yield server


@pytest.fixture
def alltypes(thrift_server: Callable[..., Any]) -> Any:
    """An AllTypes server."""
    return thrift_server(AllTypes.Processor(AllTypesHandler()))


def _sync_failures(*, callers: int, call: Callable[[], Any]) -> None:
    """`call` from `callers` threads at once, ROUNDS times each; each must raise ours."""

    def one() -> None:
        for _ in range(ROUNDS):
            with pytest.raises(ThriftBridgeError):
                call()

    with ThreadPoolExecutor(callers) as pool:
        for done in [pool.submit(one) for _ in range(callers)]:
            done.result(timeout=30)


def test_calls_that_run_out_of_deadline_leave_no_cycles(hung_server):
    """Timed out on the wire and in the pool's line, under deadline(), with retries."""
    with Client(AllTypes, hung_server.url, pool_size=2, retries=3) as client:

        def call() -> Any:
            with deadline(0.05):
                return client.echo_string("x")

        _sync_failures(callers=6, call=call)  # warm: lazy imports and caches
        with no_cycles_left():
            _sync_failures(callers=6, call=call)


def test_timeouts_and_refused_connects_leave_no_cycles(hung_server, closed_port):
    """A read timeout without a deadline, and connects refused on every retry."""
    urls = [f"{hung_server.url}?timeout=0.05", f"tcp://127.0.0.1:{closed_port}"]
    with Client(AllTypes, urls[0]) as slow, Client(AllTypes, urls[1], retries=2) as refused:
        for client in (slow, refused):
            call = partial(client.echo_string, "x")
            _sync_failures(callers=1, call=call)
            with no_cycles_left():
                _sync_failures(callers=2, call=call)


def test_answers_and_errors_of_the_server_leave_no_cycles(alltypes):
    """Declared exceptions, undeclared ones, and calls that succeed."""
    with Client(AllTypes, alltypes.url) as client:

        def calls() -> None:
            for _ in range(ROUNDS):
                assert client.echo_string("x") == "x"
                with pytest.raises(BadInput):
                    client.raise_error(1)
                with pytest.raises(TApplicationException):
                    client.raise_error(3)

        calls()
        with no_cycles_left():
            calls()


async def _async_failures(callers: int, call: Callable[[], Awaitable[Any]]) -> None:
    """`call` from `callers` tasks at once, ROUNDS times each; each must raise ours."""

    async def one() -> None:
        for _ in range(ROUNDS):
            with pytest.raises(ThriftBridgeError):
                await call()

    await bounded(asyncio.gather(*(one() for _ in range(callers))))


@pytest.mark.anyio
async def test_async_calls_that_run_out_of_deadline_leave_no_cycles(hung_server):
    """Timed out on the wire and in the pool's line, under deadline(), with retries."""
    async with AsyncClient(AllTypes, hung_server.url, pool_size=2, retries=3) as client:

        async def call() -> Any:
            with deadline(0.05):
                return await client.echo_string("x")

        await _async_failures(6, call)
        with no_cycles_left():
            await _async_failures(6, call)


@pytest.mark.anyio
async def test_async_timeouts_and_refused_connects_leave_no_cycles(hung_server, closed_port):
    """A read timeout without a deadline, and connects refused on every retry."""
    slow = AsyncClient(AllTypes, f"{hung_server.url}?timeout=0.05")
    refused = AsyncClient(AllTypes, f"tcp://127.0.0.1:{closed_port}", retries=2)
    async with slow, refused:
        for client in (slow, refused):
            call = partial(client.echo_string, "x")
            await _async_failures(1, call)
            with no_cycles_left():
                await _async_failures(2, call)


@pytest.mark.anyio
async def test_async_answers_errors_and_cancelled_calls_leave_no_cycles(alltypes, hung_server):
    """Declared exceptions, undeclared ones, calls that succeed, and calls cancelled."""
    client = AsyncClient(AllTypes, alltypes.url)
    stuck = AsyncClient(AllTypes, hung_server.url)
    async with client, stuck:

        async def calls() -> None:
            for _ in range(ROUNDS):
                assert await client.echo_string("x") == "x"
                with pytest.raises(BadInput):
                    await client.raise_error(1)
                with pytest.raises(TApplicationException):
                    await client.raise_error(3)
                task = asyncio.ensure_future(stuck.echo_string("x"))
                await asyncio.sleep(0)
                for _ in range(1000):  # the call is under way within a few turns
                    if stuck.stats()["in_use"]:
                        break
                    await asyncio.sleep(0.001)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                del task

        await calls()
        with no_cycles_left():
            await calls()


def test_a_client_made_used_and_closed_leaves_no_cycles(alltypes):
    with Client(AllTypes, alltypes.url) as client:  # warm: lazy imports and caches
        client.echo_string("x")
    with no_cycles_left():
        with Client(AllTypes, alltypes.url) as client:
            client.echo_string("x")
        del client


@pytest.mark.anyio
async def test_an_async_client_made_used_and_closed_leaves_no_cycles(alltypes):
    """Its methods find the running loop's pools without keeping the client."""
    async with AsyncClient(AllTypes, alltypes.url) as client:
        await client.echo_string("x")
    with no_cycles_left():
        async with AsyncClient(AllTypes, alltypes.url) as client:
            await client.echo_string("x")
        del client


def _passing(call: Any, proceed: Callable[[Any], Any]) -> Any:
    """A middleware that lets each call through (so the session runs its middleware chain)."""
    return proceed(call)


@pytest.mark.parametrize("middleware", [[], [_passing]], ids=["plain", "middleware"])
def test_pinned_sessions_leave_no_cycles(alltypes, hung_server, middleware):
    """A session's calls that succeed, raise the server's errors, or break it (a timeout),
    a call refused by the broken session, then its release."""
    client = Client(AllTypes, alltypes.url, middleware=middleware)
    stuck = Client(AllTypes, f"{hung_server.url}?timeout=0.05", middleware=middleware)

    def sessions() -> None:
        for _ in range(ROUNDS):
            with client.connection() as pinned:
                assert pinned.echo_string("x") == "x"
                with pytest.raises(BadInput):
                    pinned.raise_error(1)
                with pytest.raises(TApplicationException):
                    pinned.raise_error(3)
            with stuck.connection() as pinned:
                with pytest.raises(ThriftBridgeError):
                    pinned.echo_string("x")
                assert pinned.broken
                with pytest.raises(ThriftBridgeError, match="discarded after an earlier error"):
                    pinned.echo_string("x")
            del pinned

    with client, stuck:
        sessions()
        with no_cycles_left():
            sessions()


async def _async_passing(call: Any, proceed: Callable[[Any], Awaitable[Any]]) -> Any:
    """An async middleware that lets each call through."""
    return await proceed(call)


@pytest.mark.anyio
@pytest.mark.parametrize("middleware", [[], [_async_passing]], ids=["plain", "middleware"])
async def test_async_pinned_sessions_leave_no_cycles(alltypes, hung_server, middleware):
    """As `test_pinned_sessions_leave_no_cycles`, for `AsyncClient.connection()`."""
    client = AsyncClient(AllTypes, alltypes.url, middleware=middleware)
    stuck = AsyncClient(AllTypes, f"{hung_server.url}?timeout=0.05", middleware=middleware)

    async def sessions() -> None:
        for _ in range(ROUNDS):
            async with client.connection() as pinned:
                assert await pinned.echo_string("x") == "x"
                with pytest.raises(BadInput):
                    await pinned.raise_error(1)
                with pytest.raises(TApplicationException):
                    await pinned.raise_error(3)
            async with stuck.connection() as pinned:
                with pytest.raises(ThriftBridgeError):
                    await pinned.echo_string("x")
                assert pinned.broken
                with pytest.raises(ThriftBridgeError, match="discarded after an earlier error"):
                    await pinned.echo_string("x")
            del pinned

    async with client, stuck:
        await sessions()
        with no_cycles_left():
            await bounded(sessions())


def test_the_check_finds_a_cycle_of_ours():
    """The check itself: a cycle through a client's object is reported."""

    def leave_a_cycle() -> None:
        error = ThriftBridgeError("x")
        error.args = (error,)

    with pytest.raises(AssertionError, match="ThriftBridgeError"), no_cycles_left():
        leave_a_cycle()
