"""`PinnedClient`: the service's methods on one checked-out connection (`Client.connection()`)."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn

from . import _hooks
from ._calls import call_on
from ._deadline import exceeded, pinned_timeout, stopped_by_deadline
from ._exceptions import PoolClosed, PoolError, TransportError
from ._outcome import final_error
from ._pool import inherited
from ._service import no_such_method

if TYPE_CHECKING:
    from collections.abc import Collection

    from ._caller import CallerCore
    from ._calls import Caller
    from ._connection import Connection
    from ._hooks import CallTrace
    from ._middleware import Call
    from ._pool import ConnectionPool

__all__ = ["PinnedClient", "PinnedSession"]


class PinnedSession:
    """What the sync and async pinned clients decide alike, with no I/O: whether a call may
    go out on the session's connection, and how a failed one ends (it may break the session).

    A session keeps nothing that keeps it: its service methods are made on each look-up
    (`__getattr__`), the middleware chain per call, and the error that broke it is let go
    of on release. Dropped, it goes at once, without the garbage collector.
    """

    #: The error that broke the session, while it holds its connection (released: None).
    _broken: BaseException | None
    _out_of_step = False  # a call left the connection out of step (kept after release)
    _names: Collection[str]  # the service's methods
    _module: str  # the service's module, for the error naming a method it lacks

    if TYPE_CHECKING:

        def call(self, name: str, *args: Any, **kwargs: Any) -> Any: ...

    def __getattr__(self, name: str) -> Any:
        """A service method of the session: `session.add(1, 2)` is `session.call("add", 1, 2)`."""
        names = self.__dict__.get("_names")
        if name.startswith("_") or names is None:
            raise AttributeError(name)
        if name in names:
            return partial(self.call, name)
        raise AttributeError(no_such_method(name, self._module, names))

    def __dir__(self) -> list[str]:
        """The session's attributes and the service's methods."""
        return sorted({*super().__dir__(), *self.__dict__.get("_names", ())})

    def _ready(
        self, caller: CallerCore, conn: Any, name: str, info: Call | None
    ) -> tuple[float | None, dict[str, Any]]:
        """The timeout of a call of `name` on `conn`, and where it goes (for errors); raise
        what the caller gets if the call may not go out."""
        where = {"endpoint": conn.endpoint.redacted_url, "method": name}
        if self._broken is not None:
            raise TransportError(
                "the pinned connection was discarded after an earlier error", **where
            ) from self._broken
        if inherited(conn):
            # Parent and child would share one socket and one sequence counter, and each read
            # the other's replies. A fresh connection would silently lose the session's state.
            raise PoolError(
                "this connection was pinned before os.fork(): the parent process still uses "
                "it; pin a new one in the child (client.connection())",
                **where,
            )
        if name not in caller.answers:
            raise AttributeError(no_such_method(name, caller.module, caller.answers))
        headers = info.headers if info is not None and caller.carries_headers else None
        return pinned_timeout(conn.endpoint.timeout, time.monotonic(), headers, **where), where

    def _failed(
        self,
        caller: CallerCore,
        call: Any,
        name: str,
        exc: BaseException,
        info: Call | None,
        where: dict[str, Any],
        timeout: float | None,
    ) -> NoReturn:
        """End a call that raised `exc` (within `timeout`, from `_ready`): settle it, break the
        session if the connection is out of step, raise what the caller gets."""
        outcome = caller.settle(call, name, exc, info)
        if not outcome.keep:
            self._broken = outcome.error
            self._out_of_step = True
        cut = timeout is not None and timeout < call.endpoint.timeout  # the deadline's timer
        try:
            if stopped_by_deadline(exc, cut, time.monotonic()):
                raise exceeded(time.monotonic(), **where) from exc
            raise final_error(outcome, exc)
        finally:
            del outcome, exc, call  # the error's traceback keeps this frame: no cycle (`_steps`)

    def _let_go(self) -> bool:
        """Released: drop the error that broke the session (its traceback keeps the session's
        frames, so keeping it would be a cycle); whether the connection is clean to reuse."""
        self._broken = None
        return not self._out_of_step

    @property
    def broken(self) -> bool:
        """Whether a call left the connection out of step (it is closed on release)."""
        return self._out_of_step


class PinnedClient(PinnedSession):
    """The service's methods bound to one connection, for several calls in a row.

    ::

        with client.connection() as pinned:   # stateful servers, request scopes
            pinned.record_visit(1)
            print(pinned.visit_count(1))

    A call that leaves the connection out of step breaks the session: later calls raise
    `TransportError`, and the connection is closed on release. Calls go through the client's
    middleware and rate limit, never retried (a retry would need another connection).
    """

    def __init__(self, caller: Caller, pool: ConnectionPool, conn: Connection):
        self._caller = caller
        self._pool = pool
        self._conn: Connection | None = conn
        self._broken: BaseException | None = None
        self._names = caller.answers
        self._module = caller.module

    def __repr__(self) -> str:
        state = "released" if self._conn is None else "broken" if self.broken else "pinned"
        return f"<PinnedClient {self._pool.endpoint.redacted_url} {state}>"

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call service method `name` on the pinned connection (through the client's middleware)."""
        caller = self._caller
        if caller.plain:
            return self._direct(name, args, kwargs, None)
        from ._middleware import chain

        return caller.enter(name, args, kwargs, chain(caller.settings.middleware, self._final))

    def _final(self, info: Call) -> Any:
        """The innermost step under the middleware: rate limit, then the call."""
        self._caller.wait_for_rate_limit()
        return self._direct(info.method, info.args, info.kwargs, info)

    def _direct(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None,
        trace: CallTrace | None = None,
    ) -> Any:
        """Run `name` on the pinned connection; a failure that leaves it out of step breaks it."""
        if trace is None and _hooks.hook is not None:
            trace = _hooks.hook.start(self._caller, name)
            if trace is not None:
                trace.attempt(self._pool.endpoint)
                return _hooks.traced(trace, self._direct, name, args, kwargs, info, trace)
        conn = self._conn
        if conn is None:
            raise PoolClosed(
                "the pinned connection was already released",
                endpoint=self._pool.endpoint.redacted_url,
                method=name,
            )
        timeout, where = self._ready(self._caller, conn, name, info)
        try:
            return call_on(conn, name, args, kwargs, info, timeout, trace)
        except BaseException as exc:
            self._failed(self._caller, conn, name, exc, info, where, timeout)

    def __enter__(self) -> PinnedClient:
        return self

    # A class, not @contextmanager: generated Thrift exceptions are immutable, and contextlib
    # fails setting __traceback__ on them when they pass through a generator.
    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        """Give the connection back to its pool (closed if a call on it failed)."""
        conn, self._conn = self._conn, None
        clean = self._let_go()
        if conn is not None:
            self._pool.release(conn, clean=clean)
