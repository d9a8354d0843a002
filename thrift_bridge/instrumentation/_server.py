"""SERVER spans for Python Thrift services: a wrapper of Apache's `TProcessor` interface.

`TracedProcessor` sees the request's message begin (through a thin view of the input
protocol), extracts the caller's trace context from the request's THeader headers, or from
the HTTP request's headers an HTTP server hands over (`incoming_headers`), and runs the
processor under a SERVER span `{service}/{method}`: the handler's own calls (thrift-bridge
clients, instrumented) become its children.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from thrift.Thrift import TMessageType

from .. import _hooks
from .._version import __version__
from ._client import RPC_SYSTEM, SCOPE, _failed

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from opentelemetry.trace import Span, TracerProvider

__all__ = ["TracedProcessor", "incoming_headers"]


@contextlib.contextmanager
def incoming_headers(headers: Mapping[str, str]) -> Iterator[None]:
    """Hand the HTTP request's headers to the `TracedProcessor` run inside the block.

    ::

        with incoming_headers(request.headers):
            processor.process(iprot, oprot)
    """
    token = _hooks.request_headers.set(headers)
    try:
        yield
    finally:
        _hooks.request_headers.reset(token)


class _Reading:
    """The request's input protocol as it is, but for noticing where the message begins."""

    def __init__(self, protocol: Any, request: _Request):
        self._protocol = protocol
        self._request = request

    def readMessageBegin(self) -> Any:  # noqa: N802 - Apache's name
        begin = self._protocol.readMessageBegin()
        self._request.begin(self._protocol, begin[0])
        return begin

    def __getattr__(self, name: str) -> Any:
        return getattr(self._protocol, name)


class _Writing:
    """The reply's output protocol as it is, but for noticing an exception reply."""

    def __init__(self, protocol: Any, request: _Request):
        self._protocol = protocol
        self._request = request

    def writeMessageBegin(self, name: str, kind: int, seqid: int) -> Any:  # noqa: N802
        if kind == TMessageType.EXCEPTION:
            self._request.failed = True
        return self._protocol.writeMessageBegin(name, kind, seqid)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._protocol, name)


def _carrier(protocol: Any) -> dict[str, str]:
    """The request's headers: THeader's, else those an HTTP server handed over; lower case."""
    get_headers = getattr(getattr(protocol, "trans", None), "get_headers", None)
    if get_headers is not None:
        return {
            k.decode("utf-8", "replace").lower(): v.decode("utf-8", "replace")
            for k, v in get_headers().items()
        }
    headers = _hooks.request_headers.get()
    return {} if headers is None else {k.lower(): v for k, v in headers.items()}


class _Request:
    """One request served: its span, and the context it runs in."""

    __slots__ = ("failed", "processor", "span", "token")

    def __init__(self, processor: TracedProcessor):
        self.processor = processor
        self.span: Span | None = None
        self.token: object = None
        self.failed = False

    def begin(self, protocol: Any, name: str) -> None:
        """The message began: start the span as a child of the caller's context."""
        service, colon, method = name.rpartition(":")  # multiplexed: "Service:method"
        service = service if colon else self.processor.service
        parent = propagate.extract(_carrier(protocol))
        self.span = self.processor.tracer.start_span(
            f"{service}/{method}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"rpc.system": RPC_SYSTEM, "rpc.service": service, "rpc.method": method},
        )
        self.token = context.attach(trace.set_span_in_context(self.span, parent))

    def end(self, error: BaseException | None) -> None:
        """The request was answered (or failed): end the span, leave its context."""
        span = self.span
        if span is None:  # the connection ended before a message began
            return
        if error is not None:
            _failed(span, error)
        elif self.failed:
            span.set_attribute("error.type", "TApplicationException")
            span.set_status(Status(StatusCode.ERROR, "answered with a TApplicationException"))
        span.end()
        context.detach(self.token)  # type: ignore[arg-type]


class TracedProcessor:
    """A Thrift processor whose every request runs under a SERVER span (for Python servers).

    ::

        processor = TracedProcessor(CustomerService.Processor(handler))
        # serve it as before: THeader servers carry the caller's trace context in headers;
        # HTTP servers hand the request's headers over with `incoming_headers`.

    A declared exception is an answer (status unset); a `TApplicationException` reply (an
    unknown method, or a handler error the processor turned into one) sets `error.type`
    and the status ERROR. The service name is the generated module's unless given.
    """

    def __init__(
        self,
        processor: Any,
        *,
        service: str | None = None,
        tracer_provider: TracerProvider | None = None,
    ):
        self.processor = processor
        self.service = service or type(processor).__module__.rpartition(".")[2]
        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider)

    def process(self, iprot: Any, oprot: Any) -> Any:
        """Serve one request, under its span."""
        request = _Request(self)
        try:
            result = self.processor.process(_Reading(iprot, request), _Writing(oprot, request))
        except BaseException as exc:
            request.end(exc)
            raise
        request.end(None)
        return result

    def __getattr__(self, name: str) -> Any:
        # The rest of the processor's interface (on_message_begin, _processMap, ...).
        if name == "processor":
            raise AttributeError(name)
        return getattr(self.processor, name)
