"""Running an async call: a connection borrowed, the call made, awaited; retries as decided.

The asyncio shell of `_caller`: on one endpoint with no deadline in force and no
instrumentation following the call, the first attempt runs inline; every other call, and the
rest of one whose first attempt failed, is the same `call_steps` as the sync client's, whose
steps `_drive` awaits. Names resolved by DNS are looked up in a task of their own, awaited
only while no endpoint is known yet. Cancellation is a normal outcome: a cancelled call is
abandoned to its connection, which drains its reply by sequence id before the connection
carries another call in its place.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import TYPE_CHECKING, Any

from .. import _hooks
from .._attempt import ACQUIRE, CALL, CallError
from .._caller import CallerCore
from .._deadline import IN_FORCE, exceeded, remaining
from .._exceptions import ConnectError
from .._steps import call_steps
from ._connection import AsyncCall
from ._pool import AsyncConnectionPool

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator

    from .._discovery import Discovery
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

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        #: DNS lookups under way (kept referenced until they end).
        self._resolving: set[asyncio.Future[None]] = set()

    pool_class = AsyncConnectionPool

    async def run(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], info: Call | None = None
    ) -> Any:
        """Run one call through the pools, retrying where the policy allows; its result.

        The first attempt is written out here rather than through `AsyncConnection.call`:
        one coroutine fewer on every call. A call that instrumentation follows (`_hooks`) is
        all `call_steps`, under its trace.
        """
        if _hooks.hook is not None:
            trace = _hooks.hook.start(self, name)
            if trace is not None:
                return await _hooks.atraced(trace, self._stepped(name, args, kwargs, info, trace))
        pool = self.only
        if pool is None or IN_FORCE() is not None:
            return await self._stepped(name, args, kwargs, info, None)
        self.begin_call()
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
                future = conn.send(call, args, kwargs, info)
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
                # The error's traceback keeps this frame: no cycle through its locals (`_steps`).
                del call
                future = None
            else:
                if info is not None and call.headers is not None:
                    info.reply_headers = call.headers
                pool.release(conn)
                return result
        steps = call_steps(self, name, info, (pool, failure))
        del failure
        return await self._drive(steps, name, args, kwargs, info, None)

    async def _stepped(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None,
        trace: CallTrace | None,
    ) -> Any:
        """A call made wholly of `call_steps` (names resolved first, if due)."""
        if self.discoveries:
            await self.refresh(name)
        steps = call_steps(self, name, info, None, trace)
        return await self._drive(steps, name, args, kwargs, info, trace)

    async def refresh(self, method: str | None = None) -> None:
        """Start resolving the discovered names that are due; wait for them only while no
        endpoint is known yet (bounded by the deadline: `DeadlineExceeded` for `method` when
        the deadline ends that wait)."""
        now = time.monotonic()
        due = self.due_resolutions(now)
        timeout = self.resolve_timeout(now)
        tasks = [asyncio.ensure_future(self._resolve(d, timeout)) for d in due]
        self._resolving.update(tasks)
        for task in tasks:
            task.add_done_callback(self._resolving.discard)
        if not self.by_endpoint and self._resolving:
            # Nothing to call yet: this call needs the answers, its own or another call's.
            left = remaining(now)
            _, pending = await asyncio.wait(list(self._resolving), timeout=timeout)
            if pending and not self.by_endpoint and left is not None and timeout >= left:
                # The deadline's wait ran out; uvloop's millisecond clock may end it a moment
                # early, where `choose` would not see the deadline passed yet.
                raise exceeded(time.monotonic(), method=method) from self._nothing_found()

    async def _resolve(self, discovery: Discovery, timeout: float) -> None:
        """Ask the DNS for one name and act on the answer (a task of its own)."""
        from .._resolver import resolve_async

        try:
            targets = await resolve_async(discovery.endpoint, timeout)
        except ConnectError as exc:
            self.resolve_failed(discovery, time.monotonic(), exc)
            return
        except asyncio.CancelledError:  # the client closed: no answer, and no failure
            discovery.unclaim()
            raise
        self.resolved(discovery, time.monotonic(), targets)

    @staticmethod
    async def _drive(
        steps: Generator[tuple[int, Any], Any, Any],
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None,
        trace: CallTrace | None,
    ) -> Any:
        """Await the steps of `call_steps`; the call's result."""
        step = next(steps)
        while True:
            kind, target = step
            try:
                if kind == ACQUIRE:
                    pool, wait, connect_timeout = target
                    value = await pool.acquire(wait, connect_timeout=connect_timeout)
                elif kind == CALL:
                    conn, timeout = target
                    value = await conn.call(name, args, kwargs, info, timeout=timeout, trace=trace)
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

    def close_pools(self) -> None:
        """Stop any DNS lookup, and close every pool's idle connections."""
        for task in list(self._resolving):
            task.cancel()
        super().close_pools()

    async def aclose_pools(self) -> None:
        """`close_pools()`, then wait until the lookups have ended (their sockets closed) and
        the sockets of the connections let go of are closed."""
        lookups = list(self._resolving)
        self.close_pools()
        await asyncio.gather(*lookups, return_exceptions=True)  # cancelled: end at once
        await asyncio.gather(*(pool.aclose() for pool in self.pools))
