"""Running a call: choose an endpoint, borrow a connection, call, settle, retry where safe.

`Caller` is the one place a pooled call runs, for every path: a plain method call, a call
through middleware, `invoke`, and (one attempt on its own connection) a pinned session. How a
failed call ends is `_outcome.settle`'s decision; when to retry, the `RetryPolicy`'s; which
endpoint, the balancer's. This module only carries them out with blocking I/O.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from thrift.Thrift import TApplicationException

from ._balance import RoundRobin
from ._exceptions import ConfigError, ConnectError
from ._outcome import Outcome, raise_outcome, settle
from ._pool import ConnectionPool

# Middleware (and the rate limiter) load only for clients that use them.
if TYPE_CHECKING:
    from collections.abc import Callable

    from ._connection import Connection
    from ._endpoint import Endpoint
    from ._middleware import Call
    from ._settings import ClientSettings

__all__ = ["Caller", "HeaderScope", "check_headers"]


def check_headers(headers: object) -> dict[str, str]:
    """Per-call THeader headers: a mapping of str to str."""
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError(f"invalid headers {headers!r} (expected a mapping of str to str)")
    return dict(headers)


def _reply_headers(trans: Any) -> dict[str, str]:
    """The headers of the reply just read, as text."""
    return {
        k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
        for k, v in trans.get_headers().items()
    }


class HeaderScope:
    """Headers for the calls of one ``with`` block, and the last reply's headers (`reply`).

    Returned by `Client.call_headers`; each block belongs to its thread or task (a context
    variable), so a shared client never mixes two blocks' headers.
    """

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


def call_on(
    conn: Connection, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], info: Call | None
) -> Any:
    """Call `name` on `conn` (headers in and out when middleware watches); errors propagate."""
    if info is not None:
        info.endpoint = conn.endpoint.redacted_url
        trans = conn.header_transport
        if trans is not None:
            for key, value in conn.endpoint.headers:
                trans.set_header(key.encode(), value.encode())
            for key, value in info.headers.items():
                trans.set_header(key.encode(), value.encode())
    conn.begin_call()
    result = conn.call(name, args, kwargs)
    if info is not None and conn.header_transport is not None:
        info.reply_headers = _reply_headers(conn.header_transport)
    return result


class Caller:
    """The pools of a client's endpoints and the runner of its calls (see the module doc)."""

    def __init__(
        self,
        client_class: type[Any],
        endpoints: list[Endpoint],
        settings: ClientSettings,
        declared: dict[str, tuple[type[BaseException], ...]],
        service: str,
    ):
        self.settings = settings
        #: The service's name, as middleware and traces report it.
        self.service = service
        #: The generated module, named in messages.
        self.module = client_class.__module__
        self.pools = [
            ConnectionPool(
                endpoint,
                client_class,
                size=settings.pool_size,
                timeout=settings.pool_timeout,
                max_idle=settings.max_idle,
                max_lifetime=settings.max_lifetime,
                service_name=settings.service_name,
            )
            for endpoint in endpoints
        ]
        self.balancer = RoundRobin(len(self.pools), settings.cooldown)
        #: Per method, the exceptions that are the server's answer (the connection stays).
        self.answers = {name: (TApplicationException, *errors) for name, errors in declared.items()}
        self.scope: contextvars.ContextVar[HeaderScope | None] = contextvars.ContextVar(
            "thrift_bridge_call_headers", default=None
        )
        header_endpoints = all("header" in (ep.transport, ep.protocol) for ep in endpoints)
        #: The headers every call carries (THeader endpoints), as middleware sees them.
        self.static_headers = dict(endpoints[0].headers) if header_endpoints else {}
        self.carries_headers = header_endpoints
        self.limiter = None
        rate = settings.calls_per_second
        if rate is not None:
            from ._ratelimit import TokenBucket

            self.limiter = TokenBucket(rate, settings.rate_limit_burst)
        #: Whether calls skip the middleware and header bookkeeping entirely.
        self.plain = not settings.middleware and self.limiter is None and not header_endpoints
        self.retried = 0
        self._lock = threading.Lock()
        #: The middleware chain ending in the pooled call (or the call itself without any).
        self.through_middleware: Callable[[Call], Any] = self._final
        if settings.middleware:
            from ._middleware import chain

            self.through_middleware = chain(settings.middleware, self._final)

    def run(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], info: Call | None = None
    ) -> Any:
        """Run one call through the pools, retrying where the policy allows; its result."""
        retry = self.settings.retry
        pools = self.pools
        attempt = 0
        avoid = -1
        while True:
            index = 0 if len(pools) == 1 else self.balancer.pick(avoid)
            pool = pools[index]
            try:
                conn = pool.acquire()
            except ConnectError as exc:
                self.balancer.connect_failed(index)
                if not retry.may_retry(name, sent=False, attempt=attempt):
                    exc.method = exc.method or name
                    raise
            else:
                try:
                    result = call_on(conn, name, args, kwargs, info)
                except BaseException as exc:
                    outcome = self.settle(conn, name, exc, info)
                    pool.release(conn, clean=outcome.keep)
                    sent = conn.request_sent
                    if not (
                        outcome.retryable and retry.may_retry(name, sent=sent, attempt=attempt)
                    ):
                        raise_outcome(outcome, exc)
                else:
                    pool.release(conn)
                    return result
            attempt += 1
            avoid = index
            with self._lock:
                self.retried += 1
            delay = retry.delay(attempt)
            if delay:
                time.sleep(delay)

    def settle(self, conn: Connection, name: str, exc: BaseException, info: Call | None) -> Outcome:
        """How a call on `conn` that raised `exc` ends (see `_outcome.settle`)."""
        answers = self.answers[name]
        outcome = settle(
            exc,
            answers,
            written=conn.request_started,
            sent=conn.request_sent,
            endpoint=conn.endpoint.redacted_url,
            method=name,
        )
        if outcome.keep:
            if not isinstance(exc, answers):
                conn.forget_request()  # nothing reached the wire: drop what was half encoded
            elif info is not None and conn.header_transport is not None:
                info.reply_headers = _reply_headers(conn.header_transport)
        return outcome

    def enter(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], final: Callable[[Call], Any]
    ) -> Any:
        """Run a call through the middleware into `final`, with this context's headers."""
        from ._middleware import Call

        scope = self.scope.get()
        headers = {**self.static_headers, **scope.headers} if scope else dict(self.static_headers)
        info = Call(self.service, name, args, kwargs, headers)
        try:
            return final(info)
        finally:
            if scope is not None:
                scope.reply = info.reply_headers

    def _final(self, info: Call) -> Any:
        """The innermost step under the middleware: rate limit, then the pooled call."""
        self.wait_for_rate_limit()
        return self.run(info.method, info.args, info.kwargs, info)

    def wait_for_rate_limit(self) -> None:
        """Take a token of the rate limit, sleeping for it (or raise `RateLimited`)."""
        if self.limiter is not None:
            wait = self.limiter.reserve(self.settings.rate_limit_timeout)
            if wait:
                time.sleep(wait)

    def close(self) -> None:
        """Close every pool's idle connections; later calls raise `PoolClosed`."""
        for pool in self.pools:
            pool.close()
