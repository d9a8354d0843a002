"""What running a call decides, for both clients, with no I/O.

`CallerCore` holds a client's per-call decisions and state: the pools of its endpoints (sync or
async, built by the subclass), the balancer, each method's answers, the retry counter, the
per-call headers and the rate limit. A call's first attempt runs inline in the client's own I/O
shell (`_calls.Caller.run`, `_async._calls.AsyncCaller.run`); once it fails, `retry_steps` is
the rest of the call, written once: it settles each failure (`_outcome.settle`), asks the
`RetryPolicy` and the balancer, and yields what the shell must do next (acquire a connection,
call on it, wait), blocking or awaiting.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from thrift.Thrift import TApplicationException

from . import _hooks
from ._balance import RoundRobin
from ._exceptions import ConfigError, ConnectError
from ._outcome import Outcome, raise_outcome, settle

if TYPE_CHECKING:
    from ._endpoint import Endpoint
    from ._hooks import CallTrace
    from ._middleware import Call
    from ._settings import ClientSettings

__all__ = [
    "ACQUIRE",
    "CALL",
    "WAIT",
    "CallError",
    "CallState",
    "CallerCore",
    "HeaderScope",
    "check_headers",
    "reply_headers",
    "retry_steps",
    "send_headers",
]

#: What `retry_steps` asks of the shell: (ACQUIRE, pool), (CALL, connection), (WAIT, seconds).
ACQUIRE, CALL, WAIT = 0, 1, 2


class CallState(Protocol):
    """What settling a failed call needs to know of it (a sync connection, an async call)."""

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint the call went to."""

    @property
    def request_started(self) -> bool:
        """Whether any byte of the request reached the wire."""

    @property
    def request_sent(self) -> bool:
        """Whether all of it did."""

    def forget_request(self) -> None:
        """Drop a request that failed before a byte of it was written."""

    def reply_headers(self) -> dict[str, str] | None:
        """The reply's THeader headers (None without THeader)."""


class CallError(Exception):
    """A failed attempt, as the shell hands it to `retry_steps`: the error, the call's state,
    and the connection it was made on (for a sync connection, the same object)."""

    def __init__(self, error: BaseException, call: CallState, connection: Any):
        super().__init__(error)
        self.error = error
        self.call = call
        self.connection = connection


def check_headers(headers: object) -> dict[str, str]:
    """Per-call THeader headers: a mapping of str to str."""
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError(f"invalid headers {headers!r} (expected a mapping of str to str)")
    return dict(headers)


def send_headers(trans: Any, endpoint: Endpoint, info: Call) -> None:
    """Queue the endpoint's and the call's headers on a THeaderTransport for the next request."""
    for key, value in endpoint.headers:
        trans.set_header(key.encode(), value.encode())
    for key, value in info.headers.items():
        trans.set_header(key.encode(), value.encode())


def reply_headers(trans: Any) -> dict[str, str]:
    """The headers of the reply just read from a THeaderTransport, as text."""
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


class CallerCore:
    """A client's call decisions and state, for its sync or async shell (see the module doc)."""

    def __init__(
        self,
        client_class: type[Any],
        endpoints: list[Endpoint],
        settings: ClientSettings,
        declared: dict[str, tuple[type[BaseException], ...]],
        service: str,
        *,
        scope: contextvars.ContextVar[HeaderScope | None],
    ):
        self.settings = settings
        #: The service's name, as middleware and traces report it.
        self.service = service
        #: The generated module, named in messages.
        self.module = client_class.__module__
        self.client_class = client_class
        self.pools = [self._make_pool(endpoint) for endpoint in endpoints]
        self.balancer = RoundRobin(len(self.pools), settings.cooldown)
        #: Per method, the exceptions that are the server's answer (the connection stays).
        self.answers = {name: (TApplicationException, *errors) for name, errors in declared.items()}
        #: The client's per-call headers (`call_headers`), of the current thread or task.
        self.scope = scope
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
        _hooks.register(self)  # instrumentation observes every client's pools

    def _make_pool(self, endpoint: Endpoint) -> Any:
        """The pool of one endpoint (the sync or async kind)."""
        raise NotImplementedError

    def pick(self, avoid: int = -1) -> int:
        """The endpoint the next attempt goes to."""
        return 0 if len(self.pools) == 1 else self.balancer.pick(avoid)

    def count_retry(self) -> None:
        """Count one retry (for `stats()`)."""
        with self._lock:
            self.retried += 1

    def settle(self, call: CallState, name: str, exc: BaseException, info: Call | None) -> Outcome:
        """How a call that raised `exc` ends (see `_outcome.settle`), its bookkeeping done."""
        answers = self.answers[name]
        outcome = settle(
            exc,
            answers,
            written=call.request_started,
            sent=call.request_sent,
            endpoint=call.endpoint.redacted_url,
            method=name,
        )
        if outcome.keep:
            if not isinstance(exc, answers):
                call.forget_request()  # nothing reached the wire: drop what was half encoded
            elif info is not None:
                headers = call.reply_headers()
                if headers is not None:
                    info.reply_headers = headers
        return outcome

    def new_call_info(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        """What middleware sees of a call, with this context's headers."""
        from ._middleware import Call

        scope = self.scope.get()
        headers = {**self.static_headers, **scope.headers} if scope else dict(self.static_headers)
        return Call(self.service, name, args, kwargs, headers)

    def record_reply_headers(self, info: Call) -> None:
        """Give this context's header scope the reply's headers."""
        scope = self.scope.get()
        if scope is not None:
            scope.reply = info.reply_headers

    def stats(self) -> dict[str, int]:
        """Pool counters summed over endpoints, plus `retries` made."""
        total: dict[str, int] = {}
        for pool in self.pools:
            for key, value in pool.stats().items():
                total[key] = total.get(key, 0) + value
        total["retries"] = self.retried
        return total

    def close_pools(self) -> None:
        """Close every pool's idle connections; later calls raise `PoolClosed`."""
        for pool in self.pools:
            pool.close()


def retry_steps(
    core: CallerCore,
    name: str,
    info: Call | None,
    index: int,
    failure: BaseException,
    trace: CallTrace | None = None,
) -> Generator[tuple[int, Any], Any, Any]:
    """The rest of a call whose first attempt, on endpoint `index`, failed with `failure`.

    `failure` is a `ConnectError` (no connection was had) or a `CallError`. Yields
    (ACQUIRE, pool) for a connection, (CALL, connection) for the result, (WAIT, seconds);
    the shell sends back what happened or throws what was raised (a failed CALL as a
    `CallError`). Returns the call's result, or raises what the caller gets. A `trace`
    (instrumentation) hears of each retry and of the endpoint each new attempt goes to.
    """
    retry = core.settings.retry
    attempt = 0
    pool = core.pools[index]
    while True:
        if isinstance(failure, CallError):
            outcome = core.settle(failure.call, name, failure.error, info)
            pool.release(failure.connection, clean=outcome.keep)
            sent = failure.call.request_sent
            if not outcome.retryable or not retry.may_retry(name, sent=sent, attempt=attempt):
                raise_outcome(outcome, failure.error)
            error = outcome.error
        else:
            core.balancer.connect_failed(index)
            if not isinstance(failure, ConnectError) or not retry.may_retry(
                name, sent=False, attempt=attempt
            ):
                if isinstance(failure, ConnectError):
                    failure.method = failure.method or name
                raise failure
            error = failure
        attempt += 1
        core.count_retry()
        delay = retry.delay(attempt)
        if trace is not None:
            trace.retry(error, attempt, delay)
        if delay:
            yield WAIT, delay
        index = core.pick(avoid=index)
        pool = core.pools[index]
        if trace is not None:
            trace.attempt(pool.endpoint)
        try:
            conn = yield ACQUIRE, pool
        except ConnectError as error:
            failure = error
            continue
        try:
            result = yield CALL, conn
        except CallError as error:
            failure = error
            continue
        pool.release(conn)
        return result
