"""`thrift-bridge demo --trace`: one traced call, its span tree printed (no collector needed).

Serves the demo service over THeader under `TracedProcessor`, instruments the client with
an SDK tracer provider of its own, makes one call inside an application span, and prints the
spans as a tree, then the client span as the SDK's console exporter writes it.
"""

from __future__ import annotations

import sys
from typing import Any

from .._client import Client
from .._exceptions import ConfigError

__all__ = ["run_trace_demo", "span_tree"]


def span_tree(spans: list[Any]) -> list[str]:
    """Finished SDK spans as indented lines, parents first, one trace after another."""
    children: dict[int | None, list[Any]] = {}
    ids = {span.context.span_id for span in spans}
    for span in sorted(spans, key=lambda span: span.start_time):
        parent = span.parent.span_id if span.parent is not None else None
        children.setdefault(parent if parent in ids else None, []).append(span)
    lines: list[str] = []

    def walk(span: Any, depth: int) -> None:
        millis = (span.end_time - span.start_time) / 1e6
        attributes = " ".join(f"{key}={value}" for key, value in span.attributes.items())
        status = span.status.status_code.name
        indent = "    " * (depth - 1) + "└── " if depth else ""
        lines.append(
            f"{indent}{span.name}  {span.kind.name}  {millis:.2f} ms  {status}  {attributes}"
        )
        for child in children.get(span.context.span_id, []):
            walk(child, depth + 1)

    for root in children.get(None, []):
        lines.append(f"trace {root.context.trace_id:032x}")
        walk(root, 0)
    return lines


def run_trace_demo(out: Any = sys.stdout) -> int:
    """Make one traced call to the demo service and print its spans; returns 0."""
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from ..instrumentation import ThriftBridgeInstrumentor, TracedProcessor
    except ImportError as exc:
        raise ConfigError(
            f"demo --trace needs OpenTelemetry and its SDK ({exc}): "
            "pip install 'thrift-bridge[otel]' opentelemetry-sdk"
        ) from None
    from ..generated.demo import CustomerService
    from ..testing import serve
    from ._service import CustomerServiceHandler

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = ThriftBridgeInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        processor = TracedProcessor(
            CustomerService.Processor(CustomerServiceHandler()), tracer_provider=provider
        )
        tracer = provider.get_tracer("thrift-bridge demo")
        with (
            serve(processor, transport="header") as server,
            Client(CustomerService, server.url) as client,
            tracer.start_as_current_span("demo"),
        ):
            customer = client.get_customer(1)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    spans = list(exporter.get_finished_spans())
    print(f"one call through {server.url}: get_customer(1) -> {customer.name}\n", file=out)
    print("\n".join(span_tree(spans)), file=out)
    (client_span,) = [span for span in spans if span.kind.name == "CLIENT"]
    print("\nthe CLIENT span, as the SDK's console exporter writes it:", file=out)
    print(client_span.to_json(), file=out)
    return 0
