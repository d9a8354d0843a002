"""OpenTelemetry instrumentation against real servers, read back through the SDK's in-memory
span exporter and metric reader: attributes per scheme, outcomes, retries, every call path,
propagation, opt-out and uninstrument."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import baggage, context, propagate, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from thrift.Thrift import TApplicationException
from thrift.TMultiplexedProcessor import TMultiplexedProcessor

from thrift_bridge import (
    AccessLog,
    AsyncClient,
    Client,
    ConnectError,
    DeadlineExceeded,
    Invoker,
    PoolClosed,
    PoolTimeout,
    ReadTimeout,
    TransportError,
    deadline,
    parse_url,
)
from thrift_bridge.adapters import ClientRegistry
from thrift_bridge.instrumentation import ThriftBridgeInstrumentor, TracedProcessor
from thrift_bridge.testing import HeaderCheckingProcessor, serve, serve_raw

from .commands import run_cli
from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import BadInput
from .handlers import AllTypesHandler
from .procs import ChildServer

BOUND = 10.0
ROOT = Path(__file__).resolve().parent.parent


class Telemetry:
    """An SDK tracer and meter provider with in-memory readers, and the instrumentor on them."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.instrumentor = ThriftBridgeInstrumentor()

    def spans(self, kind: SpanKind = SpanKind.CLIENT) -> list:
        return [span for span in self.exporter.get_finished_spans() if span.kind == kind]

    def span(self) -> object:
        (span,) = self.spans()
        return span

    def attempts(self, call: Any) -> list:
        """The attempt spans under the CLIENT span `call`, first first."""
        found = [
            span
            for span in self.spans(SpanKind.INTERNAL)
            if span.parent is not None and span.parent.span_id == call.context.span_id
        ]
        return sorted(found, key=lambda span: span.attributes["thrift_bridge.attempt"])

    def points(self, name: str) -> list:
        """The data points of metric `name` (collected now)."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found += list(metric.data.data_points)
        return found

    def tracer(self) -> trace.Tracer:
        return self.tracer_provider.get_tracer("tests")


@pytest.fixture
def telemetry():
    state = Telemetry()
    state.instrumentor.instrument(
        tracer_provider=state.tracer_provider, meter_provider=state.meter_provider
    )
    try:
        yield state
    finally:
        state.instrumentor.uninstrument()
        state.tracer_provider.shutdown()
        state.meter_provider.shutdown()


@pytest.fixture
def alltypes():
    with serve(AllTypes.Processor(AllTypesHandler())) as server:
        yield server


def rpc(method: str) -> dict:
    return {"rpc.system": "apache_thrift", "rpc.service": "AllTypes", "rpc.method": method}


def tcp(port: int) -> dict:
    return {"server.address": "127.0.0.1", "server.port": port, "network.transport": "tcp"}


# --- attributes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scheme_kwargs",
    [
        {"scheme": "tcp"},
        {"scheme": "tcp", "transport": "framed", "protocol": "compact"},
        {"scheme": "tcp", "transport": "header"},
        {"scheme": "http"},
        {"scheme": "tcps"},
        {"scheme": "unix"},
    ],
    ids=["tcp", "framed-compact", "theader", "http", "tcps", "unix"],
)
def test_one_client_span_per_call_with_the_endpoint_attributes(
    telemetry, scheme_kwargs, server_ssl_context, ca_file, socket_dir
):
    kwargs = dict(scheme_kwargs)
    options = {}
    if kwargs["scheme"] == "tcps":
        kwargs["ssl_context"] = server_ssl_context
        options["ca_certs"] = ca_file
    if kwargs["scheme"] == "unix":
        kwargs["socket_path"] = os.path.join(socket_dir, "s.sock")
    with serve(AllTypes.Processor(AllTypesHandler()), **kwargs) as server:
        with Client(AllTypes, server.url, **options) as client:
            assert client.add(2, 3) == 5
    span = telemetry.span()
    assert span.name == "AllTypes/add"
    assert span.kind == SpanKind.CLIENT
    assert span.status.status_code == StatusCode.UNSET
    if kwargs["scheme"] == "unix":
        where = {"server.address": kwargs["socket_path"], "network.transport": "unix"}
    else:
        where = tcp(server.address[1])
    assert dict(span.attributes) == {**rpc("add"), **where}
    (attempt,) = telemetry.attempts(span)
    assert attempt.name == "AllTypes/add attempt"
    assert dict(attempt.attributes) == {"thrift_bridge.attempt": 1, **where}
    assert attempt.status.status_code == StatusCode.UNSET
    assert span.start_time <= attempt.start_time <= attempt.end_time <= span.end_time
    (point,) = telemetry.points("rpc.client.call.duration")
    assert dict(point.attributes) == {**rpc("add"), **where}
    assert point.count == 1
    span_seconds = (span.end_time - span.start_time) / 1e9
    assert 0 < point.sum <= span_seconds * 1.5 + 0.001  # the same call measured twice


# --- outcomes ------------------------------------------------------------------------------


def test_a_declared_exception_passes_through_unchanged_and_marks_the_span(telemetry, alltypes):
    with Client(AllTypes, alltypes.url) as client, pytest.raises(BadInput) as raised:
        client.raise_error(1)
    assert type(raised.value) is BadInput  # the generated, immutable class, not a TypeError
    assert (raised.value.message, raised.value.code) == ("bad input", 400)
    span = telemetry.span()
    assert span.attributes["error.type"] == "BadInput"
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]
    (attempt,) = telemetry.attempts(span)
    assert attempt.attributes["error.type"] == "BadInput"
    assert attempt.status.status_code == StatusCode.ERROR
    (point,) = telemetry.points("rpc.client.call.duration")
    assert point.attributes["error.type"] == "BadInput"


@pytest.mark.parametrize(
    ("call", "expected", "kind"),
    [
        (lambda c: c.raise_error(3), TApplicationException, "TApplicationException"),
        (lambda c: c.slow_echo("x", 2.0), ReadTimeout, "ReadTimeout"),
    ],
    ids=["application-exception", "timeout"],
)
def test_errors_set_error_type_and_status(telemetry, alltypes, call, expected, kind):
    with Client(AllTypes, alltypes.url, timeout=0.3, retries=0) as client:
        with pytest.raises(expected):
            call(client)
    span = telemetry.span()
    assert span.attributes["error.type"] == kind
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["server.port"] == alltypes.address[1]


def test_a_refused_connection_names_the_endpoint_it_tried(telemetry, closed_port):
    with Client(AllTypes, f"tcp://127.0.0.1:{closed_port}", retries=0) as client:
        with pytest.raises(ConnectError):
            client.add(1, 2)
    span = telemetry.span()
    assert dict(span.attributes) == {**rpc("add"), **tcp(closed_port), "error.type": "ConnectError"}


@pytest.mark.parametrize("balancer", ["round_robin", "p2c"])
def test_each_attempt_is_a_span_with_its_endpoint_and_the_call_ends_on_the_one_that_answered(
    telemetry, alltypes, closed_port, balancer
):
    urls = [f"tcp://127.0.0.1:{closed_port}", alltypes.url]
    with Client(
        AllTypes, urls, retries=2, retry_backoff=0.001, cooldown=0, balancer=balancer
    ) as client:
        for _ in range(4):  # one of the first calls starts on the closed port
            assert client.add(1, 1) == 2
    calls = telemetry.spans()
    assert len(calls) == 4
    retried = [span for span in calls if len(telemetry.attempts(span)) > 1]
    assert retried, "no call met the closed endpoint"
    span = retried[0]
    failed, answered = telemetry.attempts(span)
    assert failed.attributes["thrift_bridge.attempt"] == 1
    assert failed.attributes["error.type"] == "ConnectError"
    assert failed.attributes["server.port"] == closed_port
    assert failed.attributes["thrift_bridge.retry.delay"] >= 0
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.end_time <= answered.start_time
    assert dict(answered.attributes) == {"thrift_bridge.attempt": 2, **tcp(alltypes.address[1])}
    assert answered.status.status_code == StatusCode.UNSET
    assert span.attributes["server.port"] == alltypes.address[1]  # the attempt that answered
    assert span.status.status_code == StatusCode.UNSET
    assert "error.type" not in span.attributes
    assert span.events == ()  # the attempts say it all
    (counted,) = telemetry.points("thrift_bridge.client.retries")
    assert counted.attributes["server.port"] == closed_port
    assert counted.value == len(retried)
    others = [span for span in calls if span not in retried]
    assert all(len(telemetry.attempts(span)) == 1 for span in others)


def test_a_call_under_a_deadline_is_traced_through_the_same_steps(telemetry, alltypes):
    with Client(AllTypes, alltypes.url, retries=0) as client:
        with deadline(5.0):
            assert client.add(1, 1) == 2
        with deadline(0.3), pytest.raises(DeadlineExceeded):
            client.slow_echo("x", 2.0)
    ok, exceeded = telemetry.spans()
    assert dict(ok.attributes) == {**rpc("add"), **tcp(alltypes.address[1])}
    assert len(telemetry.attempts(ok)) == 1
    assert exceeded.attributes["error.type"] == "DeadlineExceeded"
    (attempt,) = telemetry.attempts(exceeded)
    assert attempt.status.status_code == StatusCode.ERROR


def test_oneway_call_ends_its_span_once_sent(telemetry, alltypes):
    with Client(AllTypes, alltypes.url) as client:
        client.fire("t1")
        (span,) = telemetry.spans()  # ended before the next call
        assert span.name == "AllTypes/fire"
        assert client.last_fired() == "t1"
    assert span.status.status_code == StatusCode.UNSET


# --- every call path -------------------------------------------------------------------------


def test_pinned_calls_are_spans_too(telemetry, alltypes):
    with Client(AllTypes, alltypes.url) as client:
        with client.connection() as pinned:
            assert pinned.add(1, 2) == 3
        with pytest.raises(PoolClosed):
            pinned.add(1, 2)
    ok, closed = telemetry.spans()
    assert dict(ok.attributes) == {**rpc("add"), **tcp(alltypes.address[1])}
    assert closed.attributes["error.type"] == "PoolClosed"


def test_invoke_invoker_and_registry_calls_are_spans(telemetry, alltypes):
    with Client(AllTypes, alltypes.url) as client:
        assert client.invoke("add", {"a": 1, "b": 2}) == 3
    registry = ClientRegistry({"types": {"service": AllTypes, "url": alltypes.url}})
    try:
        assert registry["types"].add(3, 3) == 6
    finally:
        registry.close()
    multiplexing = TMultiplexedProcessor()
    multiplexing.registerProcessor("Everything", AllTypes.Processor(AllTypesHandler()))
    with serve(multiplexing) as server, Invoker(server.url, {"Everything": AllTypes}) as invoker:
        assert invoker.invoke("Everything.add", {"a": 2, "b": 2}) == 4
    spans = telemetry.spans()
    assert [span.name for span in spans] == ["AllTypes/add", "AllTypes/add", "Everything/add"]
    assert spans[2].attributes["rpc.service"] == "Everything"  # the multiplexed name
    assert spans[2].attributes["server.port"] == server.address[1]
    assert all(span.attributes["server.port"] == alltypes.address[1] for span in spans[:2])


def test_flask_adapter_calls_are_spans(telemetry, alltypes):
    flask = pytest.importorskip("flask")
    from thrift_bridge.adapters.flask import ThriftClient

    app = flask.Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = alltypes.url
    thrift = ThriftClient(AllTypes.Client, app)

    @app.route("/")
    def home():
        return str(thrift.client.add(20, 22))

    assert app.test_client().get("/").data == b"42"
    assert [span.name for span in telemetry.spans()] == ["AllTypes/add"]


def test_a_client_can_opt_out(telemetry):
    checking = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
    with serve(checking, transport="header") as server:
        with (
            Client(AllTypes, server.url, telemetry=False) as quiet,
            Client(AllTypes, server.url) as traced,
        ):
            quiet.add(1, 1)
            traced.add(1, 1)
        registry = ClientRegistry(
            {"quiet": {"service": AllTypes, "url": server.url, "telemetry": False}}
        )
        try:
            assert registry["quiet"].add(2, 2) == 4  # the registry's entry opts out too
        finally:
            registry.close()
    assert len(telemetry.spans()) == 1
    assert len(checking.seen) == 3
    assert "traceparent" not in checking.seen[0]
    assert "traceparent" in checking.seen[1]
    assert "traceparent" not in checking.seen[2]
    (point,) = telemetry.points("rpc.client.call.duration")
    assert point.count == 1


def test_nothing_after_uninstrument(alltypes):
    state = Telemetry()
    state.instrumentor.instrument(
        tracer_provider=state.tracer_provider, meter_provider=state.meter_provider
    )
    checking = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
    try:
        with serve(checking, transport="header") as server, Client(AllTypes, server.url) as client:
            client.add(1, 1)
            assert len(state.spans()) == 1
            assert state.points("thrift_bridge.pool.open")
            (before,) = state.points("rpc.client.call.duration")
            state.instrumentor.uninstrument()
            state.exporter.clear()
            client.add(1, 1)
            with client.connection() as pinned:
                pinned.add(1, 1)
            assert state.spans() == []
            (after,) = state.points("rpc.client.call.duration")  # cumulative: the old point
            assert after.count == before.count == 1
            assert state.points("thrift_bridge.pool.open") == []
            assert all("traceparent" not in headers for headers in checking.seen[1:])
    finally:
        if state.instrumentor.is_instrumented_by_opentelemetry:
            state.instrumentor.uninstrument()
        state.tracer_provider.shutdown()
        state.meter_provider.shutdown()


# --- propagation ---------------------------------------------------------------------------


def test_theader_requests_carry_the_client_span_and_baggage(telemetry):
    checking = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
    with serve(checking, transport="header") as server, Client(AllTypes, server.url) as client:
        token = context.attach(baggage.set_baggage("tenant", "acme"))
        try:
            with telemetry.tracer().start_as_current_span("app") as app:
                client.add(1, 1)
        finally:
            context.detach(token)
    span = telemetry.span()
    assert span.parent.span_id == app.get_span_context().span_id
    headers = checking.seen[0]
    ids = span.get_span_context()
    assert (
        headers["traceparent"] == f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"
    )
    assert headers["baggage"] == "tenant=acme"


@pytest.mark.parametrize("scheme", ["http", "theader"])
def test_a_traced_server_continues_the_trace(telemetry, scheme):
    processor = TracedProcessor(
        AllTypes.Processor(AllTypesHandler()), tracer_provider=telemetry.tracer_provider
    )
    kwargs = {"scheme": "http"} if scheme == "http" else {"transport": "header"}
    with serve(processor, **kwargs) as server, Client(AllTypes, server.url) as client:
        client.add(1, 1)
        with pytest.raises(TApplicationException):
            client.raise_error(3)
    (ok_server, failed_server) = telemetry.spans(SpanKind.SERVER)
    (ok_client, failed_client) = telemetry.spans()
    for server_span, client_span in ((ok_server, ok_client), (failed_server, failed_client)):
        assert server_span.parent.span_id == client_span.get_span_context().span_id
        assert server_span.context.trace_id == client_span.context.trace_id
        assert server_span.parent.is_remote
    assert dict(ok_server.attributes) == rpc("add")
    assert ok_server.status.status_code == StatusCode.UNSET
    assert failed_server.attributes["error.type"] == "TApplicationException"
    assert failed_server.status.status_code == StatusCode.ERROR


def test_the_global_propagator_is_the_one_used(telemetry):
    class OneHeader:
        """A propagator of our own: the trace id alone, in x-trace."""

        fields = frozenset({"x-trace"})

        def inject(self, carrier, context=None, setter=None):
            ids = trace.get_current_span(context).get_span_context()
            carrier["x-trace"] = f"{ids.trace_id:032x}"

        def extract(self, carrier, context=None, getter=None):
            return context or context_api_current()

    def context_api_current():
        return context.get_current()

    checking = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
    previous = propagate.get_global_textmap()
    propagate.set_global_textmap(OneHeader())
    try:
        with serve(checking, transport="header") as server, Client(AllTypes, server.url) as c:
            c.add(1, 1)
    finally:
        propagate.set_global_textmap(previous)
    assert checking.seen[0]["x-trace"] == f"{telemetry.span().context.trace_id:032x}"
    assert "traceparent" not in checking.seen[0]


# --- metrics -------------------------------------------------------------------------------


def test_pools_are_observed_per_endpoint(telemetry, alltypes):
    other = serve(AllTypes.Processor(AllTypesHandler()))
    try:
        with (
            Client(AllTypes, [alltypes.url, other.url], pool_size=2) as client,
            Client(AllTypes, alltypes.url, telemetry=False) as quiet,
        ):
            for _ in range(4):
                client.add(1, 1)
            quiet.add(1, 1)  # opted out: its pool is not counted
            points = {
                name: {p.attributes["server.port"]: p.value for p in telemetry.points(name)}
                for name in ("thrift_bridge.pool.open", "thrift_bridge.pool.idle")
            }
            in_use = telemetry.points("thrift_bridge.pool.in_use")
        closed = {p.attributes["server.port"] for p in telemetry.points("thrift_bridge.pool.open")}
    finally:
        other.close()
    ports = (alltypes.address[1], other.address[1])
    for name in ("thrift_bridge.pool.open", "thrift_bridge.pool.idle"):
        assert {port: points[name].get(port) for port in ports} == dict.fromkeys(ports, 1)
    mine = [p for p in in_use if p.attributes["server.port"] in ports]
    assert [p.value for p in mine] == [0, 0]
    assert all(p.attributes["rpc.service"] == "AllTypes" for p in mine)
    assert not closed & set(ports)  # a closed client's pools are no longer observed


# --- AsyncClient ---------------------------------------------------------------------------


@pytest.fixture(
    params=[("asyncio", {}), ("asyncio", {"use_uvloop": True})], ids=["asyncio", "uvloop"]
)
def anyio_backend(request):
    return request.param


@pytest.mark.anyio
async def test_async_calls_are_spans_with_the_same_attributes(telemetry, alltypes):
    async with AsyncClient(AllTypes, alltypes.url) as client:
        assert await asyncio.wait_for(client.add(1, 2), BOUND) == 3
        with pytest.raises(BadInput) as raised:
            await asyncio.wait_for(client.raise_error(1), BOUND)
        async with client.connection() as pinned:
            assert await asyncio.wait_for(pinned.add(2, 2), BOUND) == 4
    assert type(raised.value) is BadInput
    ok, declared, pinned_span = telemetry.spans()
    assert dict(ok.attributes) == {**rpc("add"), **tcp(alltypes.address[1])}
    assert [len(telemetry.attempts(span)) for span in (ok, declared, pinned_span)] == [1, 1, 1]
    assert declared.attributes["error.type"] == "BadInput"
    assert declared.status.status_code == StatusCode.ERROR
    assert dict(pinned_span.attributes) == dict(ok.attributes)


@pytest.mark.anyio
@pytest.mark.parametrize("scheme", ["http", "theader"])
async def test_async_calls_continue_the_trace_on_a_traced_server(telemetry, scheme):
    processor = TracedProcessor(
        AllTypes.Processor(AllTypesHandler()), tracer_provider=telemetry.tracer_provider
    )
    kwargs = {"scheme": "http"} if scheme == "http" else {"transport": "header"}
    with serve(processor, **kwargs) as server:
        async with AsyncClient(AllTypes, server.url) as client:
            with telemetry.tracer().start_as_current_span("app"):
                await asyncio.wait_for(client.add(1, 1), BOUND)
    (server_span,) = telemetry.spans(SpanKind.SERVER)
    (client_span,) = telemetry.spans()
    assert server_span.parent.span_id == client_span.context.span_id
    assert server_span.context.trace_id == client_span.context.trace_id


@pytest.mark.anyio
async def test_async_retries_and_cancellation(telemetry, alltypes, closed_port):
    urls = [f"tcp://127.0.0.1:{closed_port}", alltypes.url]
    async with AsyncClient(AllTypes, urls, retry_backoff=0.001, cooldown=0) as client:
        for _ in range(4):
            assert await asyncio.wait_for(client.add(1, 1), BOUND) == 2
        retried = [span for span in telemetry.spans() if len(telemetry.attempts(span)) > 1]
        slow = asyncio.ensure_future(client.slow_echo("x", 0.2))
        await asyncio.sleep(0.05)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        for _ in range(300):  # the abandoned reply drains (0.2 s) before the client closes
            stats = client.stats()
            if stats["idle"] == stats["open"]:
                break
            await asyncio.sleep(0.01)
    assert retried
    failed, answered = telemetry.attempts(retried[0])
    assert failed.attributes["server.port"] == closed_port
    assert failed.attributes["error.type"] == "ConnectError"
    assert answered.attributes["server.port"] == alltypes.address[1]
    assert retried[0].attributes["server.port"] == alltypes.address[1]
    cancelled = telemetry.spans()[-1]
    assert cancelled.name == "AllTypes/slow_echo"
    assert cancelled.attributes["error.type"] == "CancelledError"
    last = telemetry.attempts(cancelled)[-1]  # (the first may have met the closed port)
    assert last.attributes["error.type"] == "CancelledError"
    assert last.attributes["server.port"] == alltypes.address[1]


@pytest.mark.anyio
async def test_async_calls_under_a_deadline_are_traced_through_the_same_steps(telemetry, alltypes):
    async with AsyncClient(AllTypes, alltypes.url, retries=0) as client:
        with deadline(5.0):
            assert await asyncio.wait_for(client.add(1, 1), BOUND) == 2
        with deadline(0.3), pytest.raises(DeadlineExceeded):
            await asyncio.wait_for(client.slow_echo("x", 2.0), BOUND)
    ok, exceeded = telemetry.spans()
    assert dict(ok.attributes) == {**rpc("add"), **tcp(alltypes.address[1])}
    (attempt,) = telemetry.attempts(ok)
    assert dict(attempt.attributes) == {"thrift_bridge.attempt": 1, **tcp(alltypes.address[1])}
    assert exceeded.attributes["error.type"] == "DeadlineExceeded"
    assert len(telemetry.attempts(exceeded)) == 1


# --- logs and registration -------------------------------------------------------------------


def test_access_log_lines_carry_the_active_trace_id(telemetry, alltypes, caplog):
    caplog.set_level(logging.INFO, logger="thrift_bridge.access")
    with Client(AllTypes, alltypes.url, middleware=[AccessLog()]) as client:
        client.add(1, 1)
        with telemetry.tracer().start_as_current_span("app") as app:
            client.add(1, 1)
    untraced, traced = (record.getMessage() for record in caplog.records)
    assert "trace_id" not in untraced
    assert traced.endswith(f" - trace_id={app.get_span_context().trace_id:032x}")


def test_the_instrumentor_is_registered_for_opentelemetry_instrument():
    found = metadata.entry_points()
    group = "opentelemetry_instrumentor"
    # Python 3.9's entry_points() is a dict of groups (one entry per copy of the metadata
    # found: the editable install's and the checkout's egg-info); 3.10 added select().
    entries = found.select(group=group) if hasattr(found, "select") else found.get(group, ())
    (entry,) = {entry for entry in entries if entry.name == "thrift_bridge"}
    assert entry.load() is ThriftBridgeInstrumentor


# --- end to end: three processes -------------------------------------------------------------


class Relay(ChildServer):
    """`python -m tests.otel_relay` in a child process, stopped (by its PID) on exit."""

    def __init__(self, scheme: str, spans: str, forward: str | None = None):
        self.spans = spans
        super().__init__("-m", "tests.otel_relay", scheme, spans, *([forward] if forward else []))

    def finish(self) -> list[dict]:
        """Stop it (it flushes its spans as it exits); the spans it exported."""
        self.stop()
        with open(self.spans) as lines:
            return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("scheme", ["theader", "http"])
def test_one_trace_across_three_processes(telemetry, scheme, tmp_path):
    leaf = Relay(scheme, str(tmp_path / "leaf.jsonl"))
    try:
        middle = Relay(scheme, str(tmp_path / "middle.jsonl"), forward=leaf.url)
        try:
            with Client(AllTypes, middle.url) as client:
                with telemetry.tracer().start_as_current_span("app") as app:
                    assert client.add(20, 22) == 42
        finally:
            middle_spans = middle.finish()
    finally:
        leaf_spans = leaf.finish()
    (client_span,) = telemetry.spans()
    trace_id = f"{app.get_span_context().trace_id:032x}"
    (middle_server,) = [s for s in middle_spans if s["kind"] == "SERVER"]
    (middle_client,) = [s for s in middle_spans if s["kind"] == "CLIENT"]
    (leaf_server,) = leaf_spans
    chain = [middle_server, middle_client, leaf_server]
    assert {span["trace_id"] for span in chain} == {trace_id}
    assert f"{client_span.context.trace_id:032x}" == trace_id
    assert client_span.parent.span_id == app.get_span_context().span_id
    assert middle_server["parent_id"] == f"{client_span.context.span_id:016x}"
    assert middle_client["parent_id"] == middle_server["span_id"]
    assert leaf_server["parent_id"] == middle_client["span_id"]
    assert [span["name"] for span in chain] == ["AllTypes/add"] * 3
    assert leaf_server["kind"] == "SERVER"
    assert middle_client["attributes"]["server.port"] == parse_url(leaf.url).port


# --- without an SDK, and with opentelemetry-instrument ----------------------------------------

_NO_SDK = """
import json
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from thrift_bridge import Client
from thrift_bridge.instrumentation import ThriftBridgeInstrumentor
from thrift_bridge.testing import HeaderCheckingProcessor, serve, serve_raw
from tests.generated.alltypes import AllTypes
from tests.handlers import AllTypesHandler

ThriftBridgeInstrumentor().instrument()  # no SDK: the API's no-op providers
checking = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1))
with serve(checking, transport="header") as server, Client(AllTypes, server.url) as client:
    with trace.use_span(NonRecordingSpan(remote)):  # a context that came in from elsewhere
        client.add(1, 1)
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # an SDK set late: the next call is traced
    client.add(1, 1)
print(json.dumps({
    "passed_through": checking.seen[0].get("traceparent"),
    "spans": [span.name for span in exporter.get_finished_spans()],
    "second": checking.seen[1].get("traceparent", "")[3:35],
    "trace_id": f"{exporter.get_finished_spans()[0].context.trace_id:032x}",
}))
"""


def test_without_an_sdk_context_passes_through_and_a_late_sdk_is_picked_up():
    done = subprocess.run(
        [sys.executable, "-c", _NO_SDK],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert seen["passed_through"] == f"00-{0xABC:032x}-{0xDEF:016x}-01"
    assert seen["spans"] == ["AllTypes/add attempt", "AllTypes/add"]  # an attempt ends first
    assert seen["second"] == seen["trace_id"]


_APP = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from thrift_bridge import Client
from thrift_bridge.testing import serve
from tests.generated.alltypes import AllTypes
from tests.handlers import AllTypesHandler

exporter = InMemorySpanExporter()  # the SDK provider comes from OTEL_PYTHON_TRACER_PROVIDER
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
with serve(AllTypes.Processor(AllTypesHandler())) as server, Client(AllTypes, server.url) as c:
    c.add(1, 1)
print(json.dumps([(s.name, s.kind.name) for s in exporter.get_finished_spans()]))
"""


def test_opentelemetry_instrument_picks_the_instrumentor_up_with_no_code_change(tmp_path):
    command = Path(sys.executable).with_name("opentelemetry-instrument")
    app = tmp_path / "app.py"
    app.write_text(_APP)
    done = subprocess.run(
        [str(command), sys.executable, str(app)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "OTEL_PYTHON_TRACER_PROVIDER": "sdk_tracer_provider",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        },
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == [
        ["AllTypes/add attempt", "INTERNAL"],
        ["AllTypes/add", "CLIENT"],
    ]


def test_demo_trace_prints_the_span_tree_of_one_call():
    done = run_cli("demo", "--trace")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    tree = lines[lines.index(next(line for line in lines if line.startswith("trace "))) :]
    assert tree[1].startswith("demo  INTERNAL")
    assert tree[2].startswith("└── CustomerService/get_customer  CLIENT")
    assert tree[3].startswith("    └── CustomerService/get_customer attempt  INTERNAL")
    assert tree[4].startswith("    └── CustomerService/get_customer  SERVER")
    assert len(tree) == 5 or not tree[5].startswith(" ")
    assert "rpc.system=apache_thrift" in tree[2]
    assert "server.address=127.0.0.1" in tree[2]
    assert "thrift_bridge.attempt=1" in tree[3]
    exported = json.loads(done.stdout[done.stdout.index("{") :])
    assert exported["attributes"]["rpc.method"] == "get_customer"
    assert exported["context"]["trace_id"] == "0x" + tree[0].split()[1]


# --- README promises: the span's extent, clients made before, the pool counters -------------


def test_spans_cover_the_wire_only(telemetry, alltypes):
    slept: list[int] = []

    def slow(call, proceed):
        time.sleep(0.2)
        slept.append(time.time_ns())
        return proceed(call)

    with Client(AllTypes, alltypes.url, middleware=[slow]) as client:
        assert client.add(1, 2) == 3
    span = telemetry.span()
    assert span.start_time >= slept[0]  # the middleware's 0.2 s came before the span
    telemetry.exporter.clear()
    with Client(AllTypes, alltypes.url, rate_limit="2/s", rate_limit_burst=1) as client:
        client.add(1, 1)
        before = time.time_ns()
        client.add(1, 1)  # waits for its token (about 0.5 s) before the span starts
        after = time.time_ns()
    second = max(telemetry.spans(), key=lambda span: span.start_time)
    assert second.start_time - before >= 0.25e9
    assert second.end_time <= after


def test_clients_made_before_instrument_are_instrumented(alltypes):
    state = Telemetry()
    with Client(AllTypes, alltypes.url) as client:
        client.add(1, 1)  # before: nothing to record it
        state.instrumentor.instrument(
            tracer_provider=state.tracer_provider, meter_provider=state.meter_provider
        )
        try:
            assert state.spans() == []
            assert client.add(2, 2) == 4
            assert [span.name for span in state.spans()] == ["AllTypes/add"]
            (point,) = state.points("rpc.client.call.duration")
            assert point.count == 1
        finally:
            state.instrumentor.uninstrument()
            state.tracer_provider.shutdown()
            state.meter_provider.shutdown()


def _pool_counter(telemetry: Telemetry, name: str, port: int) -> int:
    (point,) = [
        p
        for p in telemetry.points(f"thrift_bridge.pool.{name}")
        if p.attributes["server.port"] == port
    ]
    return point.value


def test_pool_counters_discarded_waits_and_timeouts(telemetry):
    def hang_up(sock):
        sock.recv(65536)  # the request, then the connection closes before any reply

    with serve_raw(hang_up) as raw, Client(AllTypes, raw.url) as client:
        with pytest.raises(TransportError):
            client.add(1, 1)
        assert _pool_counter(telemetry, "discarded", raw.address[1]) == 1
    span = telemetry.span()
    assert span.attributes["error.type"] == "PeerClosed"  # a TransportError: the peer hung up
    assert span.status.status_code == StatusCode.ERROR
    with serve(AllTypes.Processor(AllTypesHandler())) as server:
        with Client(AllTypes, server.url, pool_size=1, pool_timeout=0.2) as client:
            port = server.address[1]
            with client.connection() as pinned:
                pinned.add(1, 1)
                with pytest.raises(PoolTimeout):
                    client.add(1, 1)  # the only connection is pinned
            assert (
                _pool_counter(telemetry, "waits", port),
                _pool_counter(telemetry, "timeouts", port),
            ) == (1, 1)
            assert client.add(1, 1) == 2  # the pool serves again once the pin is released
