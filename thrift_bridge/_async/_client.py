"""`AsyncClient`: `Client` for asyncio, with its URLs, options, decisions and guarantees.

Every generated method is a coroutine function on it. Connections belong to an event loop:
the client keeps one set of pools per running loop (two `asyncio.run()` calls, or a test
framework's loop per test, each get their own connections), and closes a loop's pools when
that loop shuts its async generators down (as `asyncio.run` does) or at `aclose()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import weakref
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .. import _hooks
from .._attempt import CallError
from .._base import ClientBase
from .._caller import STATS, no_fleet_stats
from .._exceptions import PoolClosed
from .._pinned import PinnedSession
from .._pool import inherited
from ._calls import AsyncCaller, achain

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence

    from .._endpoint import Endpoint
    from .._hooks import CallTrace
    from .._middleware import Call, Middleware
    from .._settings import DEFAULT_MAX_IDLE
    from ..typing import AsyncClientAPI, AsyncPinnedClientAPI, AsyncServiceModule
    from ._connection import AsyncConnection
    from ._pool import AsyncConnectionPool

__all__ = ["AsyncClient", "AsyncPinnedClient"]

_View = TypeVar("_View")


async def _until_the_loop_ends(caller: AsyncCaller) -> AsyncGenerator[None, None]:
    """Suspended for the loop's life; closed by the loop's `shutdown_asyncgens()`, which
    then waits for the sockets to close (a TLS one's close_notify answered, or cut)."""
    try:
        yield
    finally:
        await caller.aclose_pools()


class _LoopState:
    """One event loop's pools, and the generator that closes them with the loop."""

    __slots__ = ("caller", "closer")

    def __init__(self, caller: AsyncCaller, closer: AsyncGenerator[None, None]):
        self.caller = caller
        self.closer = closer


class _PerLoop:
    """A client's pools, one set per running event loop, and the loop of the last call.

    The client's methods keep this, not the client: a client dropped without `aclose()`
    then goes with its last reference, with no cycle left for the garbage collector.
    """

    __slots__ = ("closed", "last", "make", "name", "states")

    def __init__(self, make: Callable[[], AsyncCaller], name: str):
        self.make = make  # a new loop's pools
        self.name = name  # the client's repr, for errors
        self.states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        #: The loop of the last call and its pools: the usual case, checked first.
        self.last: tuple[asyncio.AbstractEventLoop, AsyncCaller] | None = None
        self.closed = False

    async def caller(self) -> AsyncCaller:
        """The running loop's pools (made on the loop's first call)."""
        loop = asyncio.get_running_loop()
        last = self.last
        if last is not None and last[0] is loop:
            return last[1]
        if self.closed:
            raise PoolClosed(f"{self.name} is closed")
        state = self.states.get(loop)
        if state is None:
            caller = self.make()
            closer = _until_the_loop_ends(caller)
            await closer.__anext__()  # the loop now finalizes it at shutdown
            state = self.states[loop] = _LoopState(caller, closer)
        self.last = (loop, state.caller)
        return state.caller


class AsyncClient(ClientBase):
    """A proxy for a generated Thrift service for asyncio code, shared safely by every task.

    ::

        async with AsyncClient(CustomerService, "tcp://127.0.0.1:9090?pipeline=8") as customers:
            print((await customers.get_customer(1)).name)

    Given a service module with a generated stub, type checkers see the stub's
    ``TypedAsyncClient`` (the IDL's signatures as coroutines); see `thrift_bridge.typing`.
    """

    if TYPE_CHECKING:
        # For type checkers only, as on Client: the parameters repeat ClientBase.__init__'s
        # (tests/test_typed_clients.py keeps them equal).
        @overload
        def __new__(  # type: ignore[misc]
            cls,
            service: AsyncServiceModule[_View],
            url: str | Endpoint | Sequence[str | Endpoint] | None = None,
            *,
            pool_size: int = 8,
            pool_timeout: float = 5.0,
            retries: int = 2,
            retry_backoff: float = 0.05,
            idempotent: Iterable[str] = (),
            max_idle: float | None = DEFAULT_MAX_IDLE,
            max_lifetime: float | None = None,
            cooldown: float = 5.0,
            service_name: str | None = None,
            middleware: Sequence[Middleware] = (),
            rate_limit: str | None = None,
            rate_limit_burst: int | None = None,
            rate_limit_timeout: float = 1.0,
            telemetry: bool = True,
            **options: Any,
        ) -> _View: ...
        @overload
        def __new__(
            cls,
            service: Any,
            url: str | Endpoint | Sequence[str | Endpoint] | None = None,
            *,
            pool_size: int = 8,
            pool_timeout: float = 5.0,
            retries: int = 2,
            retry_backoff: float = 0.05,
            idempotent: Iterable[str] = (),
            max_idle: float | None = DEFAULT_MAX_IDLE,
            max_lifetime: float | None = None,
            cooldown: float = 5.0,
            service_name: str | None = None,
            middleware: Sequence[Middleware] = (),
            rate_limit: str | None = None,
            rate_limit_burst: int | None = None,
            rate_limit_timeout: float = 1.0,
            telemetry: bool = True,
            **options: Any,
        ) -> AsyncClient: ...
        def __new__(cls, *args: Any, **kwargs: Any) -> Any: ...

    def _setup(self) -> None:
        self._per_loop = _PerLoop(self._caller_of(AsyncCaller), repr(self))
        self._plain = not self.settings.middleware and self.settings.rate_limit is None
        self._plain = self._plain and not any(
            "header" in (ep.transport, ep.protocol) for ep in self.endpoints
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _caller(self) -> AsyncCaller:
        """The running loop's pools (made on the loop's first call)."""
        return await self._per_loop.caller()

    def _bind(self, name: str) -> Callable[..., Awaitable[Any]]:
        """A function returning the coroutine that calls `name` on the running loop's pools.

        Not itself a coroutine function: on the usual path (the same loop as the last call)
        it hands back the caller's own coroutine, one coroutine fewer per call.
        """
        # None where no loop runs (get_running_loop raises): the call's coroutine is then made
        # by on_loop, to be awaited on whatever loop later runs it.
        running_loop = asyncio._get_running_loop
        per_loop, plain = self._per_loop, self._plain  # kept instead of the client (`_PerLoop`)

        async def on_loop(*args: Any, **kwargs: Any) -> Any:
            caller = await per_loop.caller()
            if plain:
                return await caller.run(name, args, kwargs)
            return await caller.enter(name, args, kwargs, caller.through_middleware)

        if plain:

            def method(*args: Any, **kwargs: Any) -> Awaitable[Any]:
                last = per_loop.last  # the loop of the last call, and its pools: the usual case
                if last is not None and last[0] is running_loop():
                    return last[1].run(name, args, kwargs)
                return on_loop(*args, **kwargs)

        else:
            method = on_loop

        method.__name__ = method.__qualname__ = name
        method.__doc__ = getattr(self.client_class, name).__doc__
        if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+
            inspect.markcoroutinefunction(method)
        return method

    async def invoke(
        self, method: str, args: Mapping[str, Any] | None = None, *, headers: Any = None
    ) -> Any:
        """Call `method` with plain (JSON-like) arguments; the result comes back as plain data.

        Arguments are checked against the IDL (`ArgumentError` names the field path); declared
        exceptions are raised as their generated classes (`to_dict` turns them into data).
        """
        bound = self._method(method)
        from .._convert import convert_args, convert_result

        kwargs = convert_args(self.client_class, method, args)
        if headers:
            with self.call_headers(headers):
                result = await bound(**kwargs)
        else:
            result = await bound(**kwargs)
        return convert_result(self.client_class, method, result)

    def connection(self) -> AsyncPinnedClient:
        """Pin one pooled connection for several calls: ``async with client.connection() as c:``."""
        return AsyncPinnedClient(self)

    def stats(self) -> dict[str, int]:
        """Pool counters summed over endpoints and event loops, plus `retries` made."""
        total = dict.fromkeys(STATS, 0)
        for state in list(self._per_loop.states.values()):
            for key, value in state.caller.stats().items():
                total[key] += value
        return total

    def fleet_stats(self) -> dict[str, Any]:
        """Each endpoint's state (calls out, latency, ejection), the retry budget and DNS, as
        the running event loop's pools (else the last loop's) see them."""
        per_loop = self._per_loop
        try:
            state = per_loop.states.get(asyncio.get_running_loop())
        except RuntimeError:
            state = None
        if state is None and per_loop.last is not None:
            state = per_loop.states.get(per_loop.last[0])
        if state is None:  # no call yet: nothing measured
            return no_fleet_stats()
        return state.caller.fleet_stats()

    async def aclose(self) -> None:
        """Close every connection (busy ones once their calls end); later calls raise
        `PoolClosed`. Pools of other, still running loops are closed on their loops."""
        state = self._per_loop.states.get(asyncio.get_running_loop())
        self.close()
        if state is not None:  # this loop's pools: closed now, their sockets awaited
            await state.closer.aclose()  # its `finally` is `aclose_pools()`

    def close(self) -> None:
        """`aclose()` for sync code and other threads: each loop's pools close on that loop at
        its next turn (busy connections once their calls end), without waiting."""
        per_loop = self._per_loop
        per_loop.closed = True
        per_loop.last = None
        for loop, state in list(per_loop.states.items()):
            if not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # closed meanwhile: pools with it
                    loop.call_soon_threadsafe(state.caller.close_pools)

    @property
    def closed(self) -> bool:
        """Whether `aclose()` was called."""
        return self._per_loop.closed


class AsyncPinnedClient(PinnedSession):
    """One connection of an `AsyncClient` for several calls in a row (`client.connection()`).

    ::

        async with client.connection() as pinned:   # stateful servers, request scopes
            await pinned.record_visit(1)
            print(await pinned.visit_count(1))

    As with `PinnedClient`: a call that leaves the connection out of step breaks the session
    (later calls raise `TransportError`); calls are never retried; a connection pinned before
    `os.fork()` refuses calls in the child (`PoolError`).
    """

    def __init__(self, client: AsyncClient):
        self._client = client
        self._caller: AsyncCaller | None = None
        self._pool: AsyncConnectionPool | None = None
        self._conn: AsyncConnection | None = None
        self._broken: BaseException | None = None
        self._names = client._declared
        self._module = client.client_class.__module__

    def __repr__(self) -> str:
        state = "unpinned" if self._conn is None else "broken" if self.broken else "pinned"
        return f"<AsyncPinnedClient {self._module} {state}>"

    async def __aenter__(self) -> AsyncPinnedClient:
        caller = self._caller = await self._client._caller()
        if caller.discoveries:
            await caller.refresh()
        pool = self._pool = caller.pinned_pool()
        self._conn = await pool.acquire()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        """Give the connection back to its pool (closed if a call on it failed)."""
        conn, self._conn = self._conn, None
        clean = self._let_go()
        if conn is not None and self._pool is not None:
            if inherited(conn):
                return  # the parent's: the fork reset let go of it already
            self._pool.release(conn, clean=clean)

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call service method `name` on the pinned connection (through the middleware)."""
        caller = self._caller
        if caller is None or caller.plain:
            return await self._direct(name, args, kwargs, None)
        final = achain(caller.settings.middleware, self._final)
        return await caller.enter(name, args, kwargs, final)

    async def _final(self, info: Call) -> Any:
        """The innermost step under the middleware: rate limit, then the call."""
        assert self._caller is not None
        await self._caller.wait_for_rate_limit()
        return await self._direct(info.method, info.args, info.kwargs, info)

    async def _direct(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None,
        trace: CallTrace | None = None,
    ) -> Any:
        """Run `name` on the pinned connection; a failure that leaves it out of step breaks it."""
        conn, caller = self._conn, self._caller
        if trace is None and _hooks.hook is not None and caller is not None:
            trace = _hooks.hook.start(caller, name)
            if trace is not None:
                if self._pool is not None:
                    trace.attempt(self._pool.endpoint)
                return await _hooks.atraced(trace, self._direct(name, args, kwargs, info, trace))
        if conn is None or caller is None:
            raise PoolClosed(
                "the pinned connection is not held: use 'async with client.connection() as c:'",
                method=name,
            )
        timeout, where = self._ready(caller, conn, name, info)
        try:
            return await conn.call(
                name, args, kwargs, info, timeout=timeout, pinned=True, trace=trace
            )
        except CallError as failure:
            failed = failure  # raised from here, its error would keep this CallError as context
        try:
            self._failed(caller, failed.call, name, failed.error, info, where, timeout)
        finally:
            del failed  # the error's traceback keeps this frame: no cycle (`_steps`)


if TYPE_CHECKING:
    # Typed views promise AsyncClientAPI and AsyncPinnedClientAPI: mypy checks here that both
    # classes keep those promises.
    def _async_api(client: AsyncClient) -> AsyncClientAPI:
        return client

    def _async_pinned_api(pinned: AsyncPinnedClient) -> AsyncPinnedClientAPI:
        return pinned
