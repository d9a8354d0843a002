"""What running a call decides, for both clients, with no I/O.

`CallerCore` holds a client's per-call decisions and state: the pools of its endpoints (sync or
async, built by the subclass), the fleet policies (balancer with ejection, retry budget, DNS
discovery), each method's answers, the retry counter, the per-call headers and the rate limit.

A call on a client with one endpoint, no deadline in force and no instrumentation following it
(`_hooks`) runs its first attempt inline in the client's own I/O shell (`_calls.Caller.run`,
`_async._calls.AsyncCaller.run`). Every other call, and the rest of one whose first attempt
failed, is `call_steps`, written once: it picks the endpoint, cuts each attempt's timeouts to
the deadline, settles each failure (`_outcome.settle`), tells the balancer how each attempt
ended, asks the `RetryPolicy` and the retry budget, and yields what the shell must do next
(acquire a connection, call on it, wait), blocking or awaiting. Resolving names (`discovery`)
is the shell's I/O too: `due_resolutions` says which, `resolved` and `resolve_failed` take
the answers.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from thrift.Thrift import TApplicationException

from . import _hooks
from ._balance import make_balancer
from ._budget import RetryBudget
from ._deadline import exceeded, expired, remaining
from ._discovery import Discovery
from ._exceptions import ConnectError
from ._headers import all_theader
from ._outcome import Outcome, settle

if TYPE_CHECKING:
    import contextvars

    from ._attempt import CallState
    from ._discovery import Target
    from ._ejection import EjectionEvent
    from ._endpoint import Endpoint
    from ._fleet import Balancer
    from ._headers import HeaderScope
    from ._middleware import Call
    from ._settings import ClientSettings

__all__ = ["STATS", "CallerCore", "no_fleet_stats"]

#: What `stats()` counts: each pool's counters summed (the pools' own `stats()`), and the
#: client's retries.
STATS = ("open", "idle", "in_use", "created", "reused", "discarded", "waits", "timeouts", "retries")


def no_fleet_stats() -> dict[str, Any]:
    """`fleet_stats()` of a client that knows no endpoint yet (nothing measured)."""
    return {
        "balancer": None,
        "panic": False,
        "endpoints": {},
        "retry_budget": None,
        "discovery": [],
    }


_log = logging.getLogger("thrift_bridge")


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
        static = [endpoint for endpoint in endpoints if endpoint.discovery is None]
        #: The pool of each endpoint calls may go to (discovered ones come and go).
        self.by_endpoint: dict[Endpoint, Any] = {ep: self._make_pool(ep) for ep in static}
        #: Every pool, for stats and closing (replaced, never changed in place).
        self.pools: list[Any] = list(self.by_endpoint.values())
        #: One endpoint, no discovery: calls go straight to its pool, with no balancer.
        self.only = self.pools[0] if len(endpoints) == 1 and static else None
        #: The names resolved by DNS (`discovery=dns` or `srv`), and the static endpoints.
        self.discoveries = [Discovery(ep) for ep in endpoints if ep.discovery is not None]
        self._static = static
        self._found: dict[Any, Discovery] = {}  # a discovered pool -> its name's discovery
        self.balancer: Balancer[Any] | None = None
        if self.only is None:
            self.balancer = make_balancer(
                settings.balancer,
                self.pools,
                cooldown=settings.cooldown,
                outlier_ratio=settings.outlier_ratio,
                ejection=settings.ejection,
                on_event=_log_ejection,
            )
        retrying = settings.retry.retries > 0 and settings.retry_budget is not None
        #: Retries may add only a share of the calls (None: no budget, or no retries).
        self.budget = RetryBudget(settings.retry_budget) if retrying else None
        #: Per method, the exceptions that are the server's answer (the connection stays).
        self.answers = {name: (TApplicationException, *errors) for name, errors in declared.items()}
        #: The client's per-call headers (`call_headers`), of the current thread or task.
        self.scope = scope
        header_endpoints = all_theader(endpoints)
        #: The headers every call carries whichever endpoint it goes to (THeader endpoints),
        #: as middleware sees them; a header the endpoints differ on is each one's own (see
        #: `send_headers`). Over http(s) the endpoint's `headers` are HTTP headers instead.
        socket_headers = header_endpoints and not any(ep.is_http for ep in endpoints)
        shared = set(endpoints[0].headers).intersection(*(ep.headers for ep in endpoints[1:]))
        self.static_headers = (
            {k: v for k, v in endpoints[0].headers if (k, v) in shared} if socket_headers else {}
        )
        self.carries_headers = header_endpoints
        #: Whether calls carry trace context, for instrumentation: every endpoint speaks
        #: THeader, or one is http(s) (whose calls carry it as HTTP headers).
        self.carries_trace_headers = header_endpoints or any(ep.is_http for ep in endpoints)
        self.limiter = None
        rate = settings.calls_per_second
        if rate is not None:
            from ._ratelimit import TokenBucket

            self.limiter = TokenBucket(rate, settings.rate_limit_burst)
        #: Whether calls skip the middleware and header bookkeeping entirely.
        self.plain = not settings.middleware and self.limiter is None and not header_endpoints
        self.retried = 0
        self._lock = threading.Lock()
        self._answered = threading.Condition()  # notified when a resolution ends
        _hooks.register(self)  # instrumentation observes every client's pools

    #: The pool class of this kind of client (`ConnectionPool` or `AsyncConnectionPool`).
    pool_class: Any = None
    _closed = False  # close_pools() was called: a DNS answer coming later opens no pool

    def _make_pool(self, endpoint: Endpoint) -> Any:
        """The pool of one endpoint, of this client's kind, sized by its settings."""
        settings = self.settings
        return self.pool_class(
            endpoint,
            self.client_class,
            size=settings.pool_size,
            timeout=settings.pool_timeout,
            max_idle=settings.max_idle,
            max_lifetime=settings.max_lifetime,
            service_name=settings.service_name,
        )

    # -- choosing an endpoint ------------------------------------------------------------------

    def choose(self, now: float, avoid: tuple[Any, ...] = (), method: str | None = None) -> Any:
        """The pool of the endpoint the next attempt goes to, counted there as outstanding
        (the endpoints skipped for their cooldown logged at DEBUG)."""
        if self.only is not None:
            return self.only
        assert self.balancer is not None
        try:
            pool = self.balancer.pick(now, avoid)
        except LookupError:
            error = self._nothing_found()
            error.method = method
            if expired(now):  # the deadline ran out while the names were being resolved
                raise exceeded(now, method=method) from error
            raise error from None
        if _log.isEnabledFor(logging.DEBUG):
            for skipped in self.balancer.cooling(now):
                if skipped is not pool:
                    _log.debug(
                        "%s: skipping %s, cooling down after a failed connect",
                        self.service,
                        skipped.endpoint.redacted_url,
                    )
        return pool

    def pinned_pool(self) -> Any:
        """The pool a pinned session takes its connection from (it is no call: not counted)."""
        if self.only is not None:
            return self.only
        now = time.monotonic()
        pool = self.choose(now)
        self.abandoned(pool, now)
        return pool

    def _nothing_found(self) -> ConnectError:
        """The error for a client whose discovered names gave no endpoint yet."""
        why = "; ".join(
            f"{d.endpoint.host}: {d.stats(time.monotonic())['last_error'] or 'not resolved yet'}"
            for d in self.discoveries
        )
        return ConnectError(f"no endpoint to call: DNS discovery found none ({why})")

    def left_fleet(self, pool: Any) -> bool:
        """Whether `pool`'s endpoint has left the fleet (DNS discovery), its pool closed."""
        return self.only is None and pool not in self.by_endpoint.values()

    def elsewhere(self, now: float, avoid: tuple[Any, ...]) -> bool:
        """Whether an endpoint this call has not tried is usable (for free transparent retries)."""
        return self.balancer is not None and self.balancer.usable_besides(now, avoid)

    def finished(self, pool: Any, started: float, acquired: float, ok: bool) -> None:
        """An attempt on `pool` ended with the server's answer (`ok`) or a wire failure; its
        latency counts from `started`, when it picked the endpoint (so a wait in the pool's
        line and the connect count too: Finagle's balancer sees them likewise), its service
        time from `acquired`, when it got its connection (p2c's outlier rule)."""
        if self.balancer is not None:
            now = time.monotonic()
            self.balancer.finished(pool, now, now - started, ok, now - acquired)

    def connect_failed(self, pool: Any, now: float) -> None:
        """No connection to `pool`'s endpoint could be opened."""
        if self.balancer is not None:
            self.balancer.connect_failed(pool, now)
            found = self._found.get(pool)
            if found is not None:
                found.connect_failed(now)

    def abandoned(self, pool: Any, now: float) -> None:
        """The attempt picked for `pool` never ran, or gave no verdict on the endpoint."""
        if self.balancer is not None:
            self.balancer.abandoned(pool, now)

    # -- DNS discovery ---------------------------------------------------------------------------

    def due_resolutions(self, now: float) -> list[Discovery]:
        """The discovered names this caller must resolve now (each claimed by one caller)."""
        return [d for d in self.discoveries if d.claim(now)]

    def resolve_failed(self, discovery: Discovery, now: float, error: BaseException) -> None:
        """A name could not be resolved: its last endpoints stay (and it is tried again)."""
        discovery.failed(now, str(error))
        _log.warning("DNS discovery of %s failed: %s", discovery.endpoint.host, error)
        with self._answered:
            self._answered.notify_all()

    def await_endpoints(self, timeout: float) -> None:
        """Block (at most `timeout` seconds) while no endpoint is known and a resolution
        another caller claimed is out: a call then goes with its answer, not fail before it."""
        with self._answered:
            self._answered.wait_for(
                lambda: self.by_endpoint or not any(d.resolving for d in self.discoveries),
                timeout,
            )

    def resolved(self, discovery: Discovery, now: float, targets: list[Target]) -> None:
        """A name's answer: pools opened for new endpoints, those of the endpoints that left
        closed (a busy connection when its call ends; sync and async pools alike)."""
        try:
            gone = self._act_on(discovery, now, targets)
        finally:
            with self._answered:
                self._answered.notify_all()
        for pool in gone:
            pool.close()

    def _act_on(self, discovery: Discovery, now: float, targets: list[Target]) -> list[Any]:
        """`resolved` before the callers waiting for an answer are woken."""
        if not discovery.resolved(now, targets) or self.balancer is None:
            return []
        with self._lock:
            if self._closed:  # an answer that came after close(): no pools opened for it
                return []
            members: dict[Endpoint, Target | None] = dict.fromkeys(self._static)
            owner: dict[Endpoint, Discovery] = {}
            for each in self.discoveries:
                for endpoint, target in each.members().items():
                    members.setdefault(endpoint, target)
                    owner.setdefault(endpoint, each)
            by_endpoint = dict(self.by_endpoint)
            for endpoint in members:
                if endpoint not in by_endpoint:
                    by_endpoint[endpoint] = self._make_pool(endpoint)
            weights = {by_endpoint[ep]: t.weight for ep, t in members.items() if t is not None}
            priorities = {by_endpoint[ep]: t.priority for ep, t in members.items() if t is not None}
            change = self.balancer.update([by_endpoint[ep] for ep in members], weights, priorities)
            gone = set(change.removed) | set(change.draining)
            self.by_endpoint = {ep: pool for ep, pool in by_endpoint.items() if pool not in gone}
            self._found = {self.by_endpoint[ep]: d for ep, d in owner.items()}
            # Draining pools (calls still in flight) count until the balancer lets them go,
            # however many updates later that is.
            self.pools = [*self.by_endpoint.values(), *self.balancer.draining()]
        if change.added or gone:
            _log.info(
                "DNS discovery of %s: %d endpoints (%d new, %d leaving)",
                discovery.endpoint.host,
                len(members),
                len(change.added),
                len(gone),
            )
        return list(gone)

    def begin_call(self) -> None:
        """A call starts: it earns the retry budget its share."""
        budget = self.budget
        if budget is not None:
            budget.deposit(time.monotonic())

    def resolve_timeout(self, now: float) -> float:
        """How long the DNS lookups a call waits for may take: the resolver's 5 s, or what
        the deadline in force leaves (at least 1 ms)."""
        from ._resolver import DEFAULT_DNS_TIMEOUT

        left = remaining(now)
        return DEFAULT_DNS_TIMEOUT if left is None else max(0.001, min(DEFAULT_DNS_TIMEOUT, left))

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
        total = dict.fromkeys(STATS, 0)
        for pool in self.pools:
            for key, value in pool.stats().items():
                total[key] += value
        total["retries"] = self.retried
        return total

    def fleet_stats(self) -> dict[str, Any]:
        """Each endpoint's state (balancer, ejection), the retry budget and discovery."""
        now = time.monotonic()
        if self.balancer is None:  # one endpoint, no balancer
            assert self.only is not None
            url = self.only.endpoint.redacted_url
            endpoints = {url: {"pending": 0, "state": "alive"}}
            balancer: dict[str, Any] = {"policy": None, "panic": False, "endpoints": endpoints}
        else:
            balancer = self.balancer.stats(now)
            balancer["endpoints"] = {  # the balancer's members are the pools
                pool.endpoint.redacted_url: row for pool, row in balancer["endpoints"].items()
            }
        return {
            "balancer": balancer["policy"],
            "panic": balancer["panic"],
            "endpoints": balancer["endpoints"],
            "retry_budget": None if self.budget is None else self.budget.stats(now),
            "discovery": [d.stats(now) for d in self.discoveries],
        }

    def close_pools(self) -> None:
        """Close every pool's idle connections; later calls raise `PoolClosed`."""
        with self._lock:
            self._closed = True
            pools = list(self.pools)
        for pool in pools:
            pool.close()


def _log_ejection(event: EjectionEvent) -> None:
    """Ejections at WARNING, revivals at INFO, on the `thrift_bridge` logger."""
    endpoint = getattr(event.key, "endpoint", event.key)
    where = getattr(endpoint, "redacted_url", endpoint)
    if event.kind == "ejected":
        _log.warning(
            "ejected %s for %.1fs (%s; ejection %d)",
            where,
            max(0.0, event.until - event.at) if event.until is not None else 0.0,
            event.reason,
            event.ejections,
        )
    else:
        _log.info("%s %s (%s)", event.kind, where, event.reason)
