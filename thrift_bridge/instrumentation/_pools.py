"""The pools of every live client as OpenTelemetry observable instruments, per endpoint.

Each collection sums `stats()` of the open pools of every client that did not opt out, by
(`rpc.service`, endpoint): `thrift_bridge.pool.open`, `.idle` and `.in_use` (up-down
counters: the state now), `.waits`, `.timeouts` and `.discarded` (counters: totals so far).
The six callbacks of a collection share one snapshot of the pools; they answer only while
the instrumentation that made them is installed.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import CallbackOptions, Observation, get_meter

from .. import _hooks
from .._version import __version__
from ._client import RPC_SYSTEM, SCOPE, ClientTelemetry, endpoint_attributes

if TYPE_CHECKING:
    from collections.abc import Iterable

    from opentelemetry.metrics import MeterProvider

__all__ = ["observe_pools"]

#: stats() key (and instrument name suffix) -> (a running total?, unit, description)
_INSTRUMENTS = {
    "open": (False, "{connection}", "Open connections of the pool."),
    "idle": (False, "{connection}", "Open connections waiting for a call."),
    "in_use": (False, "{connection}", "Connections checked out (async: calls in flight)."),
    "waits": (True, "{wait}", "Calls that waited for a free connection."),
    "timeouts": (True, "{timeout}", "Calls that gave up waiting (PoolTimeout)."),
    "discarded": (True, "{connection}", "Connections closed after an error or by age."),
}


def _snapshot(provider: MeterProvider | None) -> dict[tuple[Any, ...], dict[str, int]]:
    """Pool counters summed by (service, endpoint attributes), or nothing when the installed
    instrumentation is not the one for `provider`."""
    telemetry = _hooks.hook
    if not isinstance(telemetry, ClientTelemetry) or telemetry.meter_provider is not provider:
        return {}
    totals: dict[tuple[Any, ...], dict[str, int]] = {}
    for core in _hooks.callers():
        if not core.settings.telemetry:
            continue
        for pool in core.pools:
            if pool.closed:
                continue
            stats = _stats(pool)
            if stats is None:
                continue
            key = (core.service, *endpoint_attributes(pool.endpoint).items())
            total = totals.setdefault(key, dict.fromkeys(_INSTRUMENTS, 0))
            for name in _INSTRUMENTS:
                total[name] += stats.get(name, 0)
    return totals


def _stats(pool: Any) -> dict[str, int] | None:
    """A pool's counters, read from the metrics thread (an async pool's event loop may change
    its set of connections meanwhile: try again, then skip it this time)."""
    for _ in range(3):
        try:
            return dict(pool.stats())
        except RuntimeError:  # "changed size during iteration"
            continue
    return None


class _Shared:
    """One snapshot per collection, read by the six callbacks: a callback that already read the
    current one takes the next (a new collection began)."""

    def __init__(self, provider: MeterProvider | None):
        self._provider = provider
        self._lock = threading.Lock()
        self._snapshot: dict[tuple[Any, ...], dict[str, int]] = {}
        self._unread: set[str] = set()

    def read(self, name: str) -> dict[tuple[Any, ...], dict[str, int]]:
        """The snapshot of this collection, for the instrument `name`."""
        with self._lock:
            if name not in self._unread:
                self._snapshot = _snapshot(self._provider)
                self._unread = set(_INSTRUMENTS)
            self._unread.discard(name)
            return self._snapshot


def observe_pools(provider: MeterProvider | None) -> None:
    """Register the pool instruments on `provider`'s meter (None: the global one)."""
    meter = get_meter(SCOPE, __version__, provider)
    shared = _Shared(provider)
    for name, (total, unit, description) in _INSTRUMENTS.items():
        callback = _callback(shared, name)
        create = (
            meter.create_observable_counter if total else meter.create_observable_up_down_counter
        )
        create(f"thrift_bridge.pool.{name}", [callback], unit=unit, description=description)


def _callback(shared: _Shared, name: str) -> Any:
    """The callback observing stats()[name] of every pool."""

    def observe(options: CallbackOptions) -> Iterable[Observation]:
        for (service, *endpoint), stats in shared.read(name).items():
            attributes = {"rpc.system": RPC_SYSTEM, "rpc.service": service, **dict(endpoint)}
            yield Observation(stats[name], attributes)

    return observe
