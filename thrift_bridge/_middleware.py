"""Middleware around client calls: each one wraps a call and may time, log, retry or reject it.

A middleware is any callable ``middleware(call, proceed) -> result``: it receives the `Call`
and a `proceed(call)` function running the rest of the chain (and finally the RPC).

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
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["AccessLog", "Call", "Metrics", "Middleware", "chain", "fingerprint"]


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


class AccessLog:
    """One line per call on the `thrift_bridge.access` logger, in Zask's access-log format.

    ``#5e884898 - [2026-11-24 09:30:00] - "CustomerService" - "get_customer" - OK - 3ms``

    Zask's first field is the access key; it is a secret, so the line shows its fingerprint
    (`fingerprint`: '#' and 8 hex digits of its SHA-256), enough to tell callers apart.
    """

    def __init__(self, logger: logging.Logger | None = None, level: int = logging.INFO):
        self.logger = logger or logging.getLogger("thrift_bridge.access")
        self.level = level

    def __call__(self, call: Call, proceed: Callable[[Call], Any]) -> Any:
        start = time.perf_counter()
        outcome = "ERROR"
        try:
            result = proceed(call)
            outcome = "OK"
            return result
        finally:
            if self.logger.isEnabledFor(self.level):
                elapsed_ms = (time.perf_counter() - start) * 1000
                self.logger.log(
                    self.level,
                    '%s - [%s] - "%s" - "%s" - %s - %dms',
                    fingerprint(key) if (key := call.headers.get("access_key")) else "-",
                    time.strftime("%Y-%m-%d %H:%M:%S"),
                    call.service,
                    call.method,
                    outcome,
                    round(elapsed_ms),
                )


class Metrics:
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

    def __call__(self, call: Call, proceed: Callable[[Call], Any]) -> Any:
        start = time.perf_counter()
        outcome = "ok"
        try:
            return proceed(call)
        except BaseException as exc:
            outcome = "declared" if _is_answer(exc, self.declared) else type(exc).__name__
            raise
        finally:
            seconds = time.perf_counter() - start
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
