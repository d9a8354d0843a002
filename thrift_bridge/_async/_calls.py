"""Running an async call: a connection borrowed, the call made, awaited; retries as decided.

The asyncio shell of `_caller`: the first attempt runs inline; after a failure, the same
`retry_steps` as the sync client's decides and `_drive` awaits its steps. Cancellation is a
normal outcome: a cancelled call is abandoned to its connection, which drains its reply by
sequence id before the connection carries another call in its place.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

from .. import _hooks
from .._caller import ACQUIRE, CALL, CallerCore, CallError, retry_steps
from .._exceptions import ConnectError
from ._connection import AsyncCall
from ._pool import AsyncConnectionPool

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator

    from .._endpoint import Endpoint
    from .._hooks import CallTrace
    from .._middleware import Call

__all__ = ["AsyncCaller", "achain"]


def achain(
    middleware: tuple[Callable[..., Any], ...], final: Callable[[Call], Awaitable[Any]]
) -> Callable[[Call], Awaitable[Any]]:
    """One coroutine function running `middleware` (sync or async) outermost-first around `final`.

    A sync middleware's `proceed(call)` returns an awaitable here: it returns it (or hands it
    on), and the chain awaits it. `AccessLog` and `Metrics` await it themselves.
    """
    run = final
    for layer in reversed(middleware):

        async def run_layer(
            call: Call,
            layer: Callable[..., Any] = layer,
            inner: Callable[[Call], Awaitable[Any]] = run,
        ) -> Any:
            result = layer(call, inner)
            if inspect.isawaitable(result):
                result = await result
            return result

        run = run_layer
    return run


class AsyncCaller(CallerCore):
    """The pools of an async client's endpoints on one event loop, and the runner of its calls."""

    def _make_pool(self, endpoint: Endpoint) -> AsyncConnectionPool:
        settings = self.settings
        return AsyncConnectionPool(
            endpoint,
            self.client_class,
            size=settings.pool_size,
            timeout=settings.pool_timeout,
            max_idle=settings.max_idle,
            max_lifetime=settings.max_lifetime,
            service_name=settings.service_name,
        )

    async def run(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None = None,
        trace: CallTrace | None = None,
    ) -> Any:
        """Run one call through the pools, retrying where the policy allows; its result.

        The first attempt is written out here rather than through `AsyncConnection.call`:
        one coroutine fewer on every call. With instrumentation installed (`_hooks`), the
        call runs again under its trace.
        """
        if trace is None and _hooks.hook is not None:
            trace = _hooks.hook.start(self, name)
            if trace is not None:
                return await _hooks.atraced(trace, self.run(name, args, kwargs, info, trace))
        index = 0 if len(self.pools) == 1 else self.balancer.pick()
        pool = self.pools[index]
        if trace is not None:
            trace.attempt(pool.endpoint)
        conn = pool.take()
        failure: BaseException
        try:
            if conn is None:
                conn = await pool.acquire()
        except ConnectError as exc:
            failure = exc
        else:
            if info is not None:
                info.endpoint = conn.endpoint.redacted_url
            call = AsyncCall(conn, name, conn.methods[name])
            try:
                future = conn.send(call, args, kwargs, info, trace)
                if future is None:  # oneway: done once written (and out of our buffer)
                    if conn.paused:
                        await conn.drain()
                    result = None
                else:
                    result = await future
            except asyncio.CancelledError:
                conn.abandon(call)  # the connection, not this call, gives back its share
                raise
            except BaseException as exc:
                failure = CallError(exc, call, conn)
            else:
                if info is not None and call.headers is not None:
                    info.reply_headers = call.headers
                pool.release(conn)
                return result
        steps = retry_steps(self, name, info, index, failure, trace)
        return await self._drive(steps, name, args, kwargs, info, trace)

    @staticmethod
    async def _drive(
        steps: Generator[tuple[int, Any], Any, Any],
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None,
        trace: CallTrace | None,
    ) -> Any:
        """Await the steps of `retry_steps`; the call's result."""
        step = next(steps)
        while True:
            kind, target = step
            try:
                if kind == ACQUIRE:
                    value = await target.acquire()
                elif kind == CALL:
                    value = await target.call(name, args, kwargs, info, trace=trace)
                else:
                    await asyncio.sleep(target)
                    value = None
            except asyncio.CancelledError:
                steps.close()
                raise
            except BaseException as exc:
                try:
                    step = steps.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    step = steps.send(value)
                except StopIteration as done:
                    return done.value

    async def enter(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        final: Callable[[Call], Awaitable[Any]],
    ) -> Any:
        """Run a call through the middleware into `final`, with this task's headers."""
        info = self.new_call_info(name, args, kwargs)
        try:
            return await final(info)
        finally:
            self.record_reply_headers(info)

    async def final(self, info: Call) -> Any:
        """The innermost step under the middleware: rate limit, then the pooled call."""
        await self.wait_for_rate_limit()
        return await self.run(info.method, info.args, info.kwargs, info)

    async def wait_for_rate_limit(self) -> None:
        """Take a token of the rate limit, waiting for it (or raise `RateLimited`)."""
        if self.limiter is not None:
            wait = self.limiter.reserve(self.settings.rate_limit_timeout)
            if wait:
                await asyncio.sleep(wait)

    @property
    def through_middleware(self) -> Callable[[Call], Awaitable[Any]]:
        """The middleware chain ending in the pooled call."""
        chained = self.__dict__.get("_chained")
        if chained is None:
            chained = self.__dict__["_chained"] = achain(self.settings.middleware, self.final)
        return chained

    async def aclose_pools(self) -> None:
        """Close every pool and wait for its idle connections' sockets to close."""
        await asyncio.gather(*(pool.aclose() for pool in self.pools))
