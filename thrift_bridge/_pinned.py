"""Pinned sessions and per-call headers: the pieces of a call that outlive one method call."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._exceptions import ConfigError, PoolClosed, PoolError, TransportError, wrap_error
from ._middleware import Call, chain
from ._pool import inherited
from ._service import no_such_method

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._client import Client
    from ._pool import ConnectionPool

__all__ = [
    "HeaderScope",
    "PinnedClient",
    "check_headers",
    "reply_headers",
    "run_call",
    "send_headers",
]


def check_headers(headers: object) -> dict[str, str]:
    """Per-call THeader headers: a mapping of str to str."""
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError(f"invalid headers {headers!r} (expected a mapping of str to str)")
    return dict(headers)


def send_headers(
    trans: Any, static: tuple[tuple[str, str], ...], per_call: Mapping[str, str]
) -> None:
    """Queue the endpoint's and the call's headers on a THeaderTransport for the next request."""
    for key, value in static:
        trans.set_header(key.encode(), value.encode())
    for key, value in per_call.items():
        trans.set_header(key.encode(), value.encode())


def reply_headers(trans: Any) -> dict[str, str]:
    """The headers of the reply just read, as text."""
    return {
        k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
        for k, v in trans.get_headers().items()
    }


def run_call(
    run: Callable[[Call], Any],
    scope: contextvars.ContextVar[HeaderScope | None],
    static: dict[str, str],
    service: str,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """Run one call through a middleware chain with its headers; record the reply's in scope."""
    current = scope.get()
    headers = {**static, **current.headers} if current else dict(static)
    info = Call(service, name, args, kwargs, headers)
    try:
        return run(info)
    finally:
        if current is not None:
            current.reply = info.reply_headers


class HeaderScope:
    """Headers for the calls of one ``with`` block, and the last reply's headers (`reply`)."""

    def __init__(self, var: contextvars.ContextVar[HeaderScope | None], headers: dict[str, str]):
        self._var = var
        self._token: contextvars.Token[HeaderScope | None] | None = None
        self.headers = headers
        self.reply: dict[str, str] = {}

    def __enter__(self) -> HeaderScope:
        self._token = self._var.set(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            self._var.reset(self._token)
            self._token = None


class PinnedClient:
    """The service's methods bound to one checked-out connection (see `Client.connection`)."""

    def __init__(self, owner: Client, pool: ConnectionPool, conn: Any):
        self._owner = owner
        self._pool = pool
        self._conn = conn
        self._broken: BaseException | None = None
        self._run = None if owner._plain else chain(owner.middleware, self._final)
        for name in owner._methods:
            if not hasattr(type(self), name):
                setattr(self, name, self._bind(name))

    def __getattr__(self, name: str) -> Any:
        owner = self.__dict__.get("_owner")
        if name.startswith("_") or owner is None:
            raise AttributeError(name)
        raise AttributeError(no_such_method(name, owner.client_class, owner._methods))

    def _bind(self, name: str) -> Callable[..., Any]:
        """A function calling `name` on the pinned connection."""

        def method(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, *args, **kwargs)

        method.__name__ = method.__qualname__ = name
        return method

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call service method `name` on the pinned connection (through the client's middleware)."""
        if self._run is None:
            return self._direct(name, args, kwargs, None)
        owner = self._owner
        return run_call(
            self._run, owner._scope, owner._static_headers, owner.service, name, args, kwargs
        )

    def _final(self, info: Call) -> Any:
        """The innermost step under the middleware: rate limit, then the call."""
        limiter = self._owner._limiter
        if limiter is not None:
            limiter.take(self._owner.rate_limit_timeout)
        return self._direct(info.method, info.args, info.kwargs, info)

    def _direct(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], info: Call | None
    ) -> Any:
        """Run `name` on the pinned connection; a failure discards the connection."""
        conn = self._conn
        if conn is None:
            raise PoolClosed("the pinned connection was already released")
        if self._broken is not None:
            raise TransportError(
                "the pinned connection was discarded after an earlier error",
                endpoint=self._pool.endpoint.redacted_url,
                method=name,
            ) from self._broken
        if inherited(conn):
            # Parent and child would share one socket and one sequence counter, and each read
            # the other's replies. A fresh connection would silently lose the session's state.
            raise PoolError(
                "this connection was pinned before os.fork(): the parent process still uses "
                "it; pin a new one in the child (client.connection())",
                endpoint=self._pool.endpoint.redacted_url,
                method=name,
            )
        keep = self._owner._keep[name]
        if info is not None:
            info.endpoint = self._pool.endpoint.redacted_url
            if conn.headers is not None:
                send_headers(conn.headers, self._pool.endpoint.headers, info.headers)
        try:
            conn.begin_call()
            return conn.call(name, args, kwargs)
        except keep:
            raise
        except BaseException as exc:
            self._broken = exc
            sent = conn.request_sent
            error = wrap_error(exc, self._pool.endpoint.redacted_url, name, reading=sent)
            if error is None or error is exc:
                raise
            raise error from exc
        finally:
            if info is not None and conn.headers is not None and self._broken is None:
                info.reply_headers = reply_headers(conn.headers)

    def __enter__(self) -> PinnedClient:
        return self

    # A class, not @contextmanager: generated Thrift exceptions are immutable, and contextlib
    # fails setting __traceback__ on them when they pass through a generator.
    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        """Give the connection back to its pool (closed if a call on it failed)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn, clean=self._broken is None)
