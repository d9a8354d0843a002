"""Middleware around client calls: each one wraps a call and may time, log, retry or reject it.

A middleware is any callable ``middleware(call, proceed) -> result``: it receives the `Call`
and a `proceed(call)` function running the rest of the chain (and finally the RPC). Under
`AsyncClient` a middleware may be ``async def`` (and awaits `proceed(call)`); a sync one
gets an awaitable from `proceed` and returns it (or hands it on).

    def timing(call, proceed):
        start = time.perf_counter()
        try:
            return proceed(call)
        finally:
            print(call.method, time.perf_counter() - start)

    client = Client(CustomerService, url, middleware=[timing, AccessLog()])
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ._hooks import active_trace_id

__all__ = ["AccessLog", "Call", "Metrics", "Middleware", "Observer", "chain", "fingerprint"]


@dataclasses.dataclass
class Call:
    """One client call as middleware sees it (one object per call: safe across threads)."""

    service: str
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    endpoint: str | None = None
    reply_headers: dict[str, str] = dataclasses.field(default_factory=dict)


Middleware = Callable[[Call, Callable[[Call], Any]], Any]


def chain(middleware: Sequence[Middleware], final: Callable[[Call], Any]) -> Callable[[Call], Any]:
    """One function running `middleware` outermost-first around `final`."""
    run = final
    for layer in reversed(middleware):

        def run_layer(
            call: Call, layer: Middleware = layer, inner: Callable[[Call], Any] = run
        ) -> Any:
            return layer(call, inner)

        run = run_layer
    return run


def fingerprint(secret: str) -> str:
    """A short, stable stand-in for a secret in logs: 8 hex digits of its SHA-256."""
    import hashlib

    return "#" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]


class Observer:
    """A middleware that watches each call's outcome and time, for the sync and async clients.

    Subclasses write `observe`; under `AsyncClient`, `proceed(call)` returns an awaitable,
    and the outcome is observed once it is awaited.
    """

    def __call__(self, call: Call, proceed: Callable[[Call], Any]) -> Any:
        start = time.perf_counter()
        try:
            result = proceed(call)
        except BaseException as exc:
            self.observe(call, time.perf_counter() - start, exc)
            raise
        if inspect.isawaitable(result):
            return self._awaited(call, start, result)
        self.observe(call, time.perf_counter() - start, None)
        return result

    async def _awaited(self, call: Call, start: float, awaitable: Awaitable[Any]) -> Any:
        """`awaitable`'s result, its outcome observed."""
        try:
            result = await awaitable
        except BaseException as exc:
            self.observe(call, time.perf_counter() - start, exc)
            raise
        self.observe(call, time.perf_counter() - start, None)
        return result

    def observe(self, call: Call, seconds: float, error: BaseException | None) -> None:
        """One call ended after `seconds`, with `error` (None: it returned)."""
        raise NotImplementedError


class AccessLog(Observer):
    """One line per call on the `thrift_bridge.access` logger, in Zask's access-log format.

    ``#5e884898 - [2026-11-24 09:30:00] - "CustomerService" - "get_customer" - OK - 3ms``

    Zask's first field is the access key; it is a secret, so the line shows its fingerprint
    (`fingerprint`: '#' and 8 hex digits of its SHA-256), enough to tell callers apart. When
    an OpenTelemetry span is active, the line ends with `` - trace_id=<32 hex digits>``.
    """

    def __init__(self, logger: logging.Logger | None = None, level: int = logging.INFO):
        self.logger = logger or logging.getLogger("thrift_bridge.access")
        self.level = level

    def observe(self, call: Call, seconds: float, error: BaseException | None) -> None:
        """Write the call's line."""
        if self.logger.isEnabledFor(self.level):
            trace_id = active_trace_id()
            self.logger.log(
                self.level,
                '%s - [%s] - "%s" - "%s" - %s - %dms%s',
                fingerprint(key) if (key := call.headers.get("access_key")) else "-",
                time.strftime("%Y-%m-%d %H:%M:%S"),
                call.service,
                call.method,
                "OK" if error is None else "ERROR",
                round(seconds * 1000),
                "" if trace_id is None else f" - trace_id={trace_id}",
            )


class Metrics(Observer):
    """Counters and latencies for an exporter (Prometheus, OpenTelemetry, statsd, ...).

    `on_call(service, method, outcome, seconds)` runs after every call, where outcome is "ok",
    "declared" (an IDL exception or TApplicationException) or the exception class name.
    `counts` keeps totals per (service, method, outcome) for a quick look.
    """

    def __init__(
        self,
        on_call: Callable[[str, str, str, float], None] | None = None,
        declared: tuple[type[BaseException], ...] = (),
    ):
        self.on_call = on_call
        self.declared = declared
        self.counts: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def observe(self, call: Call, seconds: float, error: BaseException | None) -> None:
        """Count the call's outcome and hand it to `on_call`."""
        if error is None:
            outcome = "ok"
        elif _is_answer(error, self.declared):
            outcome = "declared"
        else:
            outcome = type(error).__name__
        key = (call.service, call.method, outcome)
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1
        if self.on_call is not None:
            self.on_call(call.service, call.method, outcome, seconds)


def _is_answer(exc: BaseException, declared: tuple[type[BaseException], ...]) -> bool:
    """Whether `exc` is the server's answer (an IDL exception or TApplicationException)."""
    from thrift.protocol.TProtocol import TProtocolException
    from thrift.Thrift import TException
    from thrift.transport.TTransport import TTransportException

    if declared:
        return isinstance(exc, declared)
    return isinstance(exc, TException) and not isinstance(
        exc, (TTransportException, TProtocolException)
    )
