"""Running a sync call: a connection borrowed, the call made, blocking; retries as decided.

`Caller` is the one place a pooled call runs for the sync client, for every path: a plain
method call, a call through middleware, `invoke`, and (one attempt on its own connection) a
pinned session. On one endpoint with no deadline in force and no instrumentation following
the call, the first attempt runs inline; every other call, and the rest of one whose first
attempt failed, is `_steps.call_steps` (the same code as the async client's), whose steps
`_drive` carries out, blocking. Names resolved by DNS are looked up here too: in a thread of
their own once there are endpoints to call, else in the calling thread.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from . import _hooks
from ._attempt import ACQUIRE, CALL, CallError
from ._caller import CallerCore
from ._deadline import IN_FORCE
from ._exceptions import ConnectError
from ._headers import reply_headers, send_headers
from ._pool import ConnectionPool
from ._steps import call_steps

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from ._connection import Connection
    from ._discovery import Discovery
    from ._hooks import CallTrace
    from ._middleware import Call

__all__ = ["Caller", "call_on"]


def call_on(
    conn: Connection,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    info: Call | None,
    timeout: float | None = None,
    trace: CallTrace | None = None,
) -> Any:
    """Call `name` on `conn` (headers in and out when middleware watches, the trace's headers
    out), within `timeout` (None: the endpoint's); errors propagate."""
    if info is not None:
        info.endpoint = conn.endpoint.redacted_url
        if conn.header_transport is not None:
            send_headers(conn.header_transport, conn.endpoint, info)
    if trace is not None and trace.headers:
        conn.carry_headers(trace.headers)
    conn.begin_call(timeout)
    result = conn.call(name, args, kwargs)
    if info is not None and conn.header_transport is not None:
        info.reply_headers = reply_headers(conn.header_transport)
    return result


class Caller(CallerCore):
    """The pools of a sync client's endpoints and the runner of its calls (see the module doc)."""

    pool_class = ConnectionPool

    def run(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], info: Call | None = None
    ) -> Any:
        """Run one call through the pools, retrying where the policy allows; its result.

        A call that instrumentation follows (`_hooks`) is all `call_steps`, under its trace.
        """
        if _hooks.hook is not None:
            trace = _hooks.hook.start(self, name)
            if trace is not None:
                return _hooks.traced(trace, self._stepped, name, args, kwargs, info, trace)
        pool = self.only
        if pool is None or IN_FORCE() is not None:
            return self._stepped(name, args, kwargs, info, None)
        self.begin_call()
        try:
            conn = pool.acquire()
        except ConnectError as exc:
            failure: BaseException = exc
        else:
            try:
                if info is None:  # `call_on` without middleware, inline: the usual call
                    conn.begin_call()
                    result = conn.call(name, args, kwargs)
                else:
                    result = call_on(conn, name, args, kwargs, info)
            except BaseException as exc:
                failure = CallError(exc, conn, conn)
            else:
                pool.release(conn)
                return result
        steps = call_steps(self, name, info, (pool, failure))
        del failure  # its traceback keeps this frame: no cycle through it (`_steps`)
        return self._drive(steps, name, args, kwargs, info, None)

    def _stepped(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None,
        trace: CallTrace | None,
    ) -> Any:
        """A call made wholly of `call_steps` (names resolved first, if due)."""
        if self.discoveries:
            self.refresh()
        steps = call_steps(self, name, info, None, trace)
        return self._drive(steps, name, args, kwargs, info, trace)

    def refresh(self) -> None:
        """Resolve the discovered names that are due. With endpoints to call, in a thread of
        its own, so that no call waits for the DNS (a silent server takes 5 s to give up); with
        none yet, in this thread (bounded by the deadline), or wait for another's answer."""
        now = time.monotonic()
        due = self.due_resolutions(now)
        if self.by_endpoint:
            if due:
                from ._resolver import DEFAULT_DNS_TIMEOUT  # no call waits: no deadline cuts it

                threading.Thread(
                    target=self._resolve,
                    args=(due, DEFAULT_DNS_TIMEOUT, True),
                    name="thrift-bridge DNS",
                    daemon=True,
                ).start()
            return
        timeout = self.resolve_timeout(now)
        self._resolve(due, timeout)
        if not self.by_endpoint:  # nothing to call yet: wait for another call's resolution
            self.await_endpoints(timeout)

    def _resolve(self, due: list[Discovery], timeout: float, behind: bool = False) -> None:
        """Look up each of `due` and act on the answers. `behind` (a thread of its own): any
        error counts as a failed lookup, which is logged and tried again later."""
        from ._resolver import resolve

        failure: type[BaseException] = Exception if behind else ConnectError
        for discovery in due:
            try:
                targets = resolve(discovery.endpoint, timeout)
            except failure as exc:
                self.resolve_failed(discovery, time.monotonic(), exc)
                continue
            self.resolved(discovery, time.monotonic(), targets)

    @staticmethod
    def _drive(
        steps: Generator[tuple[int, Any], Any, Any],
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None,
        trace: CallTrace | None,
    ) -> Any:
        """Carry out the steps of `call_steps`, blocking; the call's result."""
        step = next(steps)
        while True:
            kind, target = step
            try:
                if kind == ACQUIRE:
                    pool, wait, connect_timeout = target
                    value = pool.acquire(wait, connect_timeout=connect_timeout)
                elif kind == CALL:
                    conn, timeout = target
                    try:
                        value = call_on(conn, name, args, kwargs, info, timeout, trace)
                    except BaseException as exc:
                        raise CallError(exc, conn, conn) from None
                else:
                    time.sleep(target)
                    value = None
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

    def enter(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        final: Callable[[Call], Any],
    ) -> Any:
        """Run a call through the middleware into `final`, with this context's headers."""
        info = self.new_call_info(name, args, kwargs)
        try:
            return final(info)
        finally:
            self.record_reply_headers(info)

    def final(self, info: Call) -> Any:
        """The innermost step under the middleware: rate limit, then the pooled call."""
        self.wait_for_rate_limit()
        return self.run(info.method, info.args, info.kwargs, info)

    def wait_for_rate_limit(self) -> None:
        """Take a token of the rate limit, sleeping for it (or raise `RateLimited`)."""
        if self.limiter is not None:
            wait = self.limiter.reserve(self.settings.rate_limit_timeout)
            if wait:
                time.sleep(wait)

    @property
    def through_middleware(self) -> Callable[[Call], Any]:
        """The middleware chain ending in the pooled call."""
        chained = self.__dict__.get("_chained")
        if chained is None:
            from ._middleware import chain

            chained = self.__dict__["_chained"] = chain(self.settings.middleware, self.final)
        return chained
