"""A traced AllTypes server in its own process, for the end-to-end tracing test.

    python -m tests.otel_relay SCHEME SPANS_FILE [FORWARD_URL]

Serves AllTypes over SCHEME ("theader" or "http") under `TracedProcessor`, with the
instrumentor on an SDK provider whose console exporter writes one JSON line per finished
span to SPANS_FILE. With FORWARD_URL, `add` is answered by calling `add` there through a
thrift-bridge `Client`. Prints the URL once listening; stops when stdin closes.
"""

from __future__ import annotations

import json
import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from thrift_bridge import Client
from thrift_bridge.instrumentation import ThriftBridgeInstrumentor, TracedProcessor
from thrift_bridge.testing import serve

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler


def span_line(span) -> str:
    """One finished span as a JSON line: what the test checks the trace with."""
    parent = span.parent
    return (
        json.dumps(
            {
                "name": span.name,
                "kind": span.kind.name,
                "trace_id": f"{span.context.trace_id:032x}",
                "span_id": f"{span.context.span_id:016x}",
                "parent_id": None if parent is None else f"{parent.span_id:016x}",
                "attributes": dict(span.attributes),
            }
        )
        + "\n"
    )


class Relay(AllTypesHandler):
    """AllTypes, but `add` asks the next server."""

    def __init__(self, client: Client):
        super().__init__()
        self.client = client

    def add(self, a: int, b: int) -> int:
        return int(self.client.add(a, b))


def main(scheme: str, spans_path: str, forward: str | None) -> None:
    with open(spans_path, "w") as spans:
        provider = TracerProvider()
        provider.add_span_processor(
            SimpleSpanProcessor(ConsoleSpanExporter(out=spans, formatter=span_line))
        )
        ThriftBridgeInstrumentor().instrument(tracer_provider=provider)
        client = Client(AllTypes, forward) if forward else None
        handler = Relay(client) if client else AllTypesHandler()
        processor = TracedProcessor(AllTypes.Processor(handler), tracer_provider=provider)
        kwargs = {"scheme": "http"} if scheme == "http" else {"transport": "header"}
        with serve(processor, **kwargs) as server:
            print(server.url, flush=True)
            sys.stdin.read()  # serve until the parent closes our stdin
        if client is not None:
            client.close()
        provider.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
