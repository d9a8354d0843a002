"""OpenTelemetry instrumentation of thrift-bridge: client spans, metrics, trace context.

::

    from thrift_bridge.instrumentation import ThriftBridgeInstrumentor

    ThriftBridgeInstrumentor().instrument()   # or: opentelemetry-instrument python app.py

Every `Client` and `AsyncClient` (pooled calls, pinned sessions, `invoke`, the registry and
the framework adapters) then makes one CLIENT span per logical call, records
`rpc.client.call.duration`, reports its pools as observable instruments and sends the active
trace context in THeader and HTTP headers. `Client(..., telemetry=False)` opts one client
out. `TracedProcessor` continues the trace in a Python Thrift server. Needs the `otel` extra:
``pip install 'thrift-bridge[otel]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
        BaseInstrumentor,
    )
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError(
        "thrift_bridge.instrumentation needs OpenTelemetry: pip install 'thrift-bridge[otel]'"
    ) from exc

from .. import _hooks
from ._client import RPC_SYSTEM, ClientTelemetry
from ._pools import observe_pools
from ._server import TracedProcessor, incoming_headers

if TYPE_CHECKING:
    from collections.abc import Collection

__all__ = ["RPC_SYSTEM", "ThriftBridgeInstrumentor", "TracedProcessor", "incoming_headers"]


class ThriftBridgeInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instrument every thrift-bridge client: ``instrument(tracer_provider=, meter_provider=)``.

    ::

        ThriftBridgeInstrumentor().instrument(tracer_provider=provider)
        ...
        ThriftBridgeInstrumentor().uninstrument()   # no spans, metrics or headers after this
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        """Nothing to check: the instrumented library is this one."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        """Install the client hook and the pool instruments."""
        meter_provider = kwargs.get("meter_provider")
        telemetry = ClientTelemetry(kwargs.get("tracer_provider"), meter_provider)
        observe_pools(meter_provider)
        _hooks.install(telemetry)

    def _uninstrument(self, **kwargs: Any) -> None:
        """Remove the hook: calls are no longer followed, pools no longer observed."""
        _hooks.install(None)
