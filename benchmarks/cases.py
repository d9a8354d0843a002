"""Every benchmark case, defined once for `benchmarks/run.py` and the pytest-benchmark files.

A case is a zero-argument function making one call. Cases come in groups; each case is compared
with its reference (the group's, or its own in `Group.pairs`) measured in the same round.
Clients are built lazily by `Context` and closed by `Context.close()`, so a group whose peer
is not installed is skipped alone (`Unavailable`).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.servers import ROOT, Servers

#: Seconds a floor's raw socket waits for the server before its row fails.
FLOOR_TIMEOUT = 30

Case = Callable[[], object]
Factory = Callable[["Context"], Case]

SMALL = "0123456789abcdef"  # the 16 B string of every small call
PAYLOADS = {"16 B": SMALL, "4 KiB": "x" * 4096, "64 KiB": "x" * 65536, "1 MiB": "x" * (1 << 20)}
SCHEMES = ("binary", "framed", "compact", "json", "zlib", "tls", "http", "unix")
SCHEME_LABELS = {
    "binary": "tcp binary buffered",
    "framed": "tcp binary framed",
    "compact": "tcp compact framed",
    "json": "tcp json buffered",
    "zlib": "tcp binary zlib",
    "tls": "tcps binary buffered",
    "http": "http binary (keep-alive)",
    "unix": "unix binary buffered",
}


class Unavailable(Exception):
    """A peer library is not installed (or does not run here); its cases are skipped."""


@dataclass
class Group:
    """Cases measured together, in the same rounds, against a reference."""

    key: str
    title: str
    reference: str
    cases: dict[str, Factory]
    pairs: dict[str, str] = field(default_factory=dict)  # case -> its own reference

    def reference_of(self, name: str) -> str:
        """The case `name` is divided by, in each round."""
        return self.pairs.get(name, self.reference)


class Context:
    """The servers plus every client the cases use, opened on first use and closed together."""

    def __init__(self, servers: Servers):
        self.servers = servers
        self._made: dict[str, Any] = {}
        self._closers: list[Callable[[], object]] = []
        #: Undone once the group that made them is measured (see `end_group`).
        self._group_undo: list[Callable[[], object]] = []

    def once(self, key: str, make: Callable[[], Any], close: str | None = "close") -> Any:
        """`make()` the first time `key` is asked for, then the same object."""
        if key not in self._made:
            obj = make()
            self._made[key] = obj
            if close is not None:
                self._closers.append(getattr(obj, close))
        return self._made[key]

    def end_group(self) -> None:
        """Undo what a group's cases left in the process (instrumentation installed), so the
        next group measures without it."""
        for undo in reversed(self._group_undo):
            undo()
        self._group_undo.clear()

    def close(self) -> None:
        """Close every client made, newest first (a group's leftovers undone first)."""
        self.end_group()
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):  # a peer's close may fail; keep cleaning up
                close()
        self._closers.clear()
        self._made.clear()

    # -- clients --------------------------------------------------------------------------

    def bench_module(self) -> Any:
        from benchmarks.generated.bench import Bench

        return Bench

    def ours(self, scheme: str = "binary", pool_size: int = 4, **options: Any) -> Any:
        """A thrift-bridge `Client` on one of the server's endpoints (with endpoint options)."""
        from thrift_bridge import Client

        url = self.servers.url(scheme)
        return self.once(
            f"ours {scheme} {pool_size} {sorted(options.items())}",
            lambda: Client(self.bench_module(), url, pool_size=pool_size, **options),
        )

    def apache(
        self, key: str = "apache", *, framed: bool = False, json: bool = False, tls: bool = False
    ) -> Any:
        """Apache's generated client on one persistent connection: accelerated binary, or
        TJSONProtocol (buffered, on the JSON port); `tls`: a TSSLSocket (buffered binary)."""
        from thrift.protocol.TBinaryProtocol import TBinaryProtocolAccelerated
        from thrift.protocol.TJSONProtocol import TJSONProtocol
        from thrift.transport.TSocket import TSocket
        from thrift.transport.TSSLSocket import TSSLSocket
        from thrift.transport.TTransport import TBufferedTransport, TFramedTransport

        def make() -> Any:
            port = self.servers.ports["json" if json else "framed" if framed else "binary"]
            if tls:
                port = self.servers.ports["tls"]
                sock = TSSLSocket(self.servers.host, port, ca_certs=self.servers.ca_file)
            else:
                sock = TSocket(self.servers.host, port)
            transport = TFramedTransport(sock) if framed else TBufferedTransport(sock)
            transport.open()
            protocol = TJSONProtocol if json else TBinaryProtocolAccelerated
            client = self.bench_module().Client(protocol(transport))
            self._closers.append(transport.close)
            return client

        return self.once(key, make, close=None)

    def apache_http(self) -> Any:
        """Apache's THttpClient (a new HTTP connection per call, as it does by default)."""
        from thrift.protocol.TBinaryProtocol import TBinaryProtocolAccelerated
        from thrift.transport.THttpClient import THttpClient

        def make() -> Any:
            transport = THttpClient(self.servers.url("http"))
            self._closers.append(transport.close)
            return self.bench_module().Client(TBinaryProtocolAccelerated(transport))

        return self.once("apache http", make, close=None)

    def thriftpy2(self, framed: bool) -> Any:
        """thriftpy2's client with its Cython binary protocol and transport."""
        try:
            import thriftpy2
            from thriftpy2.protocol import TCyBinaryProtocolFactory
            from thriftpy2.rpc import make_client
            from thriftpy2.transport import TCyBufferedTransportFactory, TCyFramedTransportFactory
        except ImportError as exc:
            raise Unavailable(
                f"thriftpy2 is not installed ({exc}); pip install -e '.[bench]'"
            ) from exc

        def make() -> Any:
            module = sys.modules.get("bench_thrift") or thriftpy2.load(
                str(ROOT / "idl" / "bench.thrift"), module_name="bench_thrift"
            )
            factory = TCyFramedTransportFactory() if framed else TCyBufferedTransportFactory()
            return make_client(
                module.Bench,
                self.servers.host,
                self.servers.ports["framed" if framed else "binary"],
                proto_factory=TCyBinaryProtocolFactory(),
                trans_factory=factory,
                timeout=30000,
            )

        return self.once(f"thriftpy2 {framed}", make)

    def thrift_connector(self) -> Any:
        """thrift_connector's `ClientPool` with its defaults."""
        try:
            from thrift_connector import ClientPool
        except ImportError as exc:
            raise Unavailable(
                f"thrift_connector is not installed ({exc}); pip install -e '.[bench]'"
            ) from exc
        return self.once(
            "thrift_connector",
            lambda: ClientPool(
                self.bench_module(), self.servers.host, self.servers.ports["binary"], max_conn=4
            ),
        )

    def raw_socket(self, port_name: str) -> socket.socket:
        """A connected TCP socket with TCP_NODELAY (the floors' client)."""

        def make() -> socket.socket:
            sock = socket.create_connection((self.servers.host, self.servers.ports[port_name]))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # A server that stalls fails the row instead of hanging the run (the C++
            # THttpServer once left a floor's recv waiting for good). Kernel timeouts: the
            # socket stays blocking, so the floor pays no poll() per call.
            limit = struct.pack("@ll", FLOOR_TIMEOUT, 0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
            return sock

        return self.once(f"socket {port_name}", make)  # type: ignore[no-any-return]


def encoded_echo(s: str) -> tuple[bytes, bytes]:
    """The accelerated-binary bytes of an `echo(s)` request and of its reply (seqid 0)."""
    from thrift.protocol.TBinaryProtocol import TBinaryProtocol
    from thrift.Thrift import TMessageType
    from thrift.transport.TTransport import TMemoryBuffer

    from benchmarks.generated.bench import Bench

    out = []
    for kind, body in ((TMessageType.CALL, Bench.echo_args(s=s)), (TMessageType.REPLY, None)):
        buffer = TMemoryBuffer()
        proto = TBinaryProtocol(buffer)
        proto.writeMessageBegin("echo", kind, 0)
        (body or Bench.echo_result(success=s)).write(proto)
        proto.writeMessageEnd()
        out.append(buffer.getvalue())
    return out[0], out[1]


def _ping_pong(sock: socket.socket, request: bytes, reply_size: int, expect: bytes = b"") -> Case:
    """Send `request`, read exactly `reply_size` bytes back: the least a client can do."""
    buf = bytearray(reply_size)
    view = memoryview(buf)
    if expect:  # check once that the server really answers these bytes
        sock.sendall(request)
        got = 0
        while got < reply_size:
            got += sock.recv_into(view[got:])
        if bytes(buf) != expect:
            raise RuntimeError(f"unexpected reply {bytes(buf)!r} (expected {expect!r})")

    def call() -> object:
        sock.sendall(request)
        got = 0
        while got < reply_size:
            n = sock.recv_into(view[got:])
            if not n:
                raise ConnectionError("the server closed the connection")
            got += n
        return got

    return call


def _echo_floor(ctx: Context) -> Case:
    request, _ = encoded_echo(SMALL)
    return _ping_pong(ctx.raw_socket("echo"), request, len(request), request)


def _thrift_floor_for(payload: str) -> Factory:
    def factory(ctx: Context) -> Case:
        request, reply = encoded_echo(payload)
        return _ping_pong(ctx.raw_socket("binary"), request, len(reply), reply)

    return factory


_thrift_floor = _thrift_floor_for(SMALL)


def _codec_floor(ctx: Context) -> Case:
    """The least a Python client codes per call: the arguments encoded and the reply decoded
    by Apache's C codec (`fastbinary`) on every call, around the raw socket's ping-pong; no
    pool, no checks, no error mapping, every object reused."""
    import io
    import struct

    from thrift.protocol import fastbinary
    from thrift.protocol.TBinaryProtocol import TBinaryProtocol
    from thrift.transport.TTransport import TMemoryBuffer

    from benchmarks.generated.bench import Bench

    args, args_spec = Bench.echo_args(s=SMALL), [Bench.echo_args, Bench.echo_args.thrift_spec]
    result_spec = [Bench.echo_result, Bench.echo_result.thrift_spec]
    request, reply = encoded_echo(SMALL)
    head = request[: len(request) - len(fastbinary.encode_binary(args, args_spec))]
    result_body = fastbinary.encode_binary(Bench.echo_result(success=SMALL), result_spec)
    skip = len(reply) - len(result_body)  # the reply's message head
    sock, size = ctx.raw_socket("binary"), len(reply)
    view = memoryview(bytearray(size))
    memory = TMemoryBuffer()
    proto = TBinaryProtocol(memory)
    prefix = head[:-4]  # all but the sequence id, packed per call
    pack_seqid = struct.Struct("!i").pack

    def call() -> object:
        body = fastbinary.encode_binary(args, args_spec)
        sock.sendall(b"".join((prefix, pack_seqid(0), body)))
        got = 0
        while got < size:
            n = sock.recv_into(view[got:])
            if not n:
                raise ConnectionError("the server closed the connection")
            got += n
        memory._buffer = io.BytesIO(bytes(view))
        memory._buffer.seek(skip)
        result = Bench.echo_result()
        fastbinary.decode_binary(result, proto, result_spec)
        return result.success

    if call() != SMALL:
        raise RuntimeError("the codec floor's reply did not decode to the echoed string")
    return call


def _connect_per_call_over(tls: bool) -> Factory:
    """flask-thriftclient's default: open (TLS: with a checked handshake), call, close."""

    def factory(ctx: Context) -> Case:
        from thrift.protocol.TBinaryProtocol import TBinaryProtocolAccelerated
        from thrift.transport.TSocket import TSocket
        from thrift.transport.TSSLSocket import TSSLSocket
        from thrift.transport.TTransport import TBufferedTransport

        bench, host, servers = ctx.bench_module(), ctx.servers.host, ctx.servers

        def open_socket() -> Any:
            if tls:
                return TSSLSocket(host, servers.ports["tls"], ca_certs=servers.ca_file)
            return TSocket(host, servers.ports["binary"])

        def call() -> object:
            transport = TBufferedTransport(open_socket())
            transport.open()
            try:
                return bench.Client(TBinaryProtocolAccelerated(transport)).echo(SMALL)
            finally:
                transport.close()

        return call

    return factory


def _items() -> list[Any]:
    from benchmarks.generated.bench.ttypes import Item

    return [Item(id=i, name=f"item {i}", score=i / 3, tags=[1, 2, 3]) for i in range(100)]


RAW = "raw Apache (accelerated binary, buffered, one connection)"
OURS = "thrift-bridge Client (pooled)"
THRIFTPY2 = "thriftpy2 Cython buffered"
CONNECT_PER_CALL = "open + call + close (flask-thriftclient default)"
TLS_CONNECT_PER_CALL = "Apache open + TLS handshake + call + close"
THRIFT_FLOOR = "floor: raw socket, pre-encoded Thrift request, C++ server"
CODEC_FLOOR = "floor: raw socket, request encoded and reply decoded by fastbinary per call"
THRIFT_FLOOR_1MIB = "floor: raw socket, pre-encoded 1 MiB Thrift request, C++ server"
APACHE_HTTP = "Apache THttpClient"
OURS_HTTP = "thrift-bridge http:// (keep-alive)"


def _echo(method: Callable[[Context], Any], payload: Any = SMALL, name: str = "echo") -> Factory:
    """A factory of `client.<name>(payload)` calls on the client `method(ctx)` returns."""

    def factory(ctx: Context) -> Case:
        bound = getattr(method(ctx), name)
        return lambda: bound(payload)

    return factory


BIG_ITEM = "struct holding a 1 MiB string"


def _big_item() -> Any:
    """An `Item` whose name is 1 MiB (the large string nested in a struct argument)."""
    from benchmarks.generated.bench.ttypes import Item

    return Item(id=1, name=PAYLOADS["1 MiB"], score=0.5, tags=[1, 2, 3])


def _batch(method: Callable[[Context], Any]) -> Factory:
    """A factory of `client.batch(<100 items>)` calls."""

    def factory(ctx: Context) -> Case:
        client, items = method(ctx), _items()
        return lambda: client.batch(items)

    return factory


def _payload_group() -> Group:
    cases: dict[str, Factory] = {}
    pairs: dict[str, str] = {}
    payloads: dict[str, tuple[str, Any]] = {
        label: ("echo", value) for label, value in PAYLOADS.items()
    }
    payloads["1 MiB binary"] = ("echo_bin", b"x" * (1 << 20))
    for label, (method, value) in payloads.items():
        reference = f"Apache {label}"
        cases[reference] = _echo(lambda ctx: ctx.apache(), value, method)
        if label == "1 MiB":
            floor = THRIFT_FLOOR_1MIB
            cases[floor] = _thrift_floor_for(PAYLOADS[label])
            pairs[floor] = reference
        cases[f"thrift-bridge {label}"] = _echo(lambda ctx: ctx.ours(), value, method)
        cases[f"thriftpy2 {label}"] = _echo(lambda ctx: ctx.thriftpy2(False), value, method)
        pairs[f"thrift-bridge {label}"] = pairs[f"thriftpy2 {label}"] = reference
    cases["Apache 100-struct batch"] = _batch(lambda ctx: ctx.apache())
    cases["thrift-bridge 100-struct batch"] = _batch(lambda ctx: ctx.ours())
    pairs["thrift-bridge 100-struct batch"] = "Apache 100-struct batch"
    cases[f"Apache {BIG_ITEM}"] = _echo(lambda ctx: ctx.apache(), _big_item(), "echo_item")
    cases[f"thrift-bridge {BIG_ITEM}"] = _echo(lambda ctx: ctx.ours(), _big_item(), "echo_item")
    pairs[f"thrift-bridge {BIG_ITEM}"] = f"Apache {BIG_ITEM}"
    return Group(
        "payload",
        "payload scaling: string echo (and 1 MiB binary), buffered binary",
        "Apache 16 B",
        cases,
        {**pairs, **{name: name for name in cases if name.startswith("Apache")}},
    )


def _json_floor(method: str, args: Any, result: Any) -> Factory:
    """The raw-socket floor for JSON: our encoding of a request, the C++ server's reply read."""

    def factory(ctx: Context) -> Case:
        from thrift_bridge._codec._json_write import encode_message

        request = encode_message(method, 1, 0, args)
        reply = encode_message(method, 2, 0, result)
        return _ping_pong(ctx.raw_socket("json"), request, len(reply), reply)

    return factory


JSON_FLOOR = "floor: raw socket, pre-encoded JSON"

APACHE_BINARY = "Apache binary buffered"
OURS_BUFFERED = "thrift-bridge binary buffered"
OURS_COMPACT = "thrift-bridge compact framed"
OURS_HTTP_LARGE = "thrift-bridge http (keep-alive)"
HTTP_FLOOR = "floor: raw socket, pre-encoded HTTP POST, C++ server"
APACHE_TLS = "Apache TSSLSocket kept open"
OURS_TLS = "thrift-bridge tcps"
OURS_ZLIB = "thrift-bridge zlib"


def _http_large_client(ctx: Context) -> Any:
    """The client of the large HTTP rows: `echo` retried once when the server hangs up."""
    return ctx.ours("http", idempotent={"echo"}, retries=1, retry_backoff=0)


def _http_floor(ctx: Context) -> Case:
    """The raw-socket floor of a 1 MiB echo over HTTP: our POST's bytes, each reply read to the
    end its own head gives. Not a fixed size: the C++ `THttpServer` writes its Date header
    unpadded ("5 Dec 2026 4:56:9 GMT"), so a reply grows and shrinks by a byte as the clock
    turns, and a floor reading a fixed size fell out of step with the stream, then waited
    for bytes that never came (`make bench` hung there, later failed with EAGAIN)."""
    from thrift_bridge._http1 import post_head
    from thrift_bridge._urls import parse_url

    request, reply = encoded_echo(PAYLOADS["1 MiB"])
    head = post_head(parse_url(ctx.servers.url("http"))) + b"%d\r\n\r\n" % len(request)
    post = head + request
    sock = ctx.raw_socket("http")
    buf = bytearray(len(reply) + 4096)  # the body and any head the server writes
    view = memoryview(buf)

    def call() -> int:
        sock.sendall(post)
        got, end, body = 0, 0, 0
        while not end or got < end:
            n = sock.recv_into(view[got:])
            if not n:
                raise ConnectionError("the server closed the connection")
            got += n
            if not end:
                blank = buf.find(b"\r\n\r\n", 0, got)
                if blank >= 0:
                    body = _content_length(bytes(buf[:blank]))
                    end = blank + 4 + body
        if got != end:
            raise RuntimeError(f"{got - end} bytes after the HTTP reply")
        return body

    if call() != len(reply):
        raise RuntimeError("the HTTP floor's reply is not the echoed message")
    return call


def _content_length(head: bytes) -> int:
    """The Content-Length an HTTP reply's head gives."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise RuntimeError("the HTTP reply has no Content-Length")


def _wire_group() -> Group:
    """Large payloads through compact, zlib, HTTP and TLS, and small calls over TLS, each beside
    the reference its target names (same size)."""
    cases: dict[str, Factory] = {}
    pairs: dict[str, str] = {}

    def add(name: str, factory: Factory, reference: str | None = None) -> None:
        cases[name] = factory
        pairs[name] = reference or name

    for label in ("64 KiB", "1 MiB"):
        value = PAYLOADS[label]
        apache = f"{APACHE_BINARY} {label}"
        add(apache, _echo(lambda ctx: ctx.apache(), value))
        add(f"{OURS_BUFFERED} {label}", _echo(lambda ctx: ctx.ours(), value), apache)
        add(f"{OURS_COMPACT} {label}", _echo(lambda ctx: ctx.ours("compact"), value), apache)
        ours = f"{OURS_BUFFERED} {label}"
        add(f"{OURS_ZLIB} {label}", _echo(lambda ctx: ctx.ours("zlib"), value), ours)
        # The C++ THttpServer now and then closes a keep-alive connection that carried many
        # MiB without replying; `echo` is safe to repeat, so the client retries it once.
        add(f"{OURS_HTTP_LARGE} {label}", _echo(_http_large_client, value), ours)
    ours_1mib = f"{OURS_BUFFERED} 1 MiB"
    add(f"{OURS_ZLIB} zlib_level=1 1 MiB", _zlib_echo(1), ours_1mib)
    add(HTTP_FLOOR, _http_floor, ours_1mib)
    add(f"{APACHE_BINARY} 100-struct batch", _batch(lambda ctx: ctx.apache()))
    add(
        f"{OURS_COMPACT} 100-struct batch",
        _batch(lambda ctx: ctx.ours("compact")),
        f"{APACHE_BINARY} 100-struct batch",
    )
    add(f"{APACHE_BINARY} {BIG_ITEM}", _echo(lambda ctx: ctx.apache(), _big_item(), "echo_item"))
    add(
        f"{OURS_COMPACT} {BIG_ITEM}",
        _echo(lambda ctx: ctx.ours("compact"), _big_item(), "echo_item"),
        f"{APACHE_BINARY} {BIG_ITEM}",
    )
    for label in ("16 B", "1 MiB"):
        apache_tls = f"{APACHE_TLS} {label}"
        add(apache_tls, _echo(lambda ctx: ctx.apache("apache tls", tls=True), PAYLOADS[label]))
        add(f"{OURS_TLS} {label}", _echo(lambda ctx: ctx.ours("tls"), PAYLOADS[label]), apache_tls)
    return Group(
        "wire",
        "large payloads through compact, zlib, HTTP and TLS; small calls over TLS",
        f"{APACHE_BINARY} 1 MiB",
        cases,
        pairs,
    )


def _zlib_echo(level: int) -> Factory:
    """A 1 MiB echo on the zlib endpoint at compression `level`."""
    return _echo(lambda ctx: ctx.ours("zlib", zlib_level=level), PAYLOADS["1 MiB"])


def zlib_share(ctx: Context, level: int) -> tuple[Case, Case]:
    """A 1 MiB zlib echo through thrift-bridge at `level`, and what the zlib module alone does
    with the same bytes: compress the request at `level`, decompress the reply as the server
    compressed it. The C++ server's `TZlibTransport` compresses at zlib's default level (6)
    whatever the client's: a reply compressed at `level` instead decompresses 5x faster for
    this payload (0.4 ms against 2.1 ms at level 1), which made level 1's share read 2.4x."""
    import zlib

    request, reply = encoded_echo(PAYLOADS["1 MiB"])
    deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION)
    compressed_reply = deflate.compress(reply) + deflate.flush(zlib.Z_SYNC_FLUSH)

    def alone() -> object:
        deflate = zlib.compressobj(level)
        out = deflate.compress(request) + deflate.flush(zlib.Z_SYNC_FLUSH)
        return out, zlib.decompressobj().decompress(compressed_reply)

    return _zlib_echo(level)(ctx), alone


def _json_group() -> Group:
    """protocol=json at every payload size and the batch, each beside Apache's TJSONProtocol,
    and the floor: what a client costing nothing would measure against the C++ server."""
    from benchmarks.generated.bench import Bench

    cases: dict[str, Factory] = {}
    ours = ("thrift-bridge JSON", lambda ctx: ctx.ours("json"))
    apache = ("Apache TJSONProtocol", lambda ctx: ctx.apache("apache json", json=True))
    for label, value in PAYLOADS.items():
        for name, client in (apache, ours):
            cases[f"{name} {label}"] = _echo(client, value)
        floor = _json_floor("echo", Bench.echo_args(value), Bench.echo_result(success=value))
        cases[f"{JSON_FLOOR} {label}"] = floor
    for name, client in (apache, ours):
        cases[f"{name} 100-struct batch"] = _batch(client)
    items = _items()
    batch_floor = _json_floor("batch", Bench.batch_args(items), Bench.batch_result(success=items))
    cases[f"{JSON_FLOOR} 100-struct batch"] = batch_floor
    pairs = {
        name: name.replace(ours[0], apache[0]).replace(JSON_FLOOR, apache[0]) for name in cases
    }
    return Group(
        "json",
        "protocol=json: string echo and 100-struct batch, JSON buffered",
        f"{apache[0]} 16 B",
        cases,
        pairs,
    )


UNINSTRUMENTED = "uninstrumented (pooled 16 B call)"
OTEL_NO_SDK = "instrumentor installed, no SDK (no-op providers)"
OTEL_SDK = "instrumentor + SDK, BatchSpanProcessor, spans dropped"


def _telemetry(ctx: Context, kind: str) -> Any:
    """The instrumentation installed during a case: None, without an SDK, or with one."""

    def make() -> Any:
        from thrift_bridge import _hooks

        if kind == "none":
            return None
        if kind == "no-sdk":
            from thrift_bridge.instrumentation import ThriftBridgeInstrumentor

            instrumentor = ThriftBridgeInstrumentor()
            instrumentor.instrument()  # no provider set in this process: the API's no-ops
            telemetry = _hooks.hook
            instrumentor.uninstrument()
            return telemetry
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

        from thrift_bridge.instrumentation._client import ClientTelemetry

        class Dropped(SpanExporter):  # type: ignore[misc]
            """Exports nowhere: the batch is built and handed over, then dropped."""

            def export(self, spans: Any) -> Any:
                from opentelemetry.sdk.trace.export import SpanExportResult

                return SpanExportResult.SUCCESS

        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(BatchSpanProcessor(Dropped()))
        meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        ctx._closers.append(tracer_provider.shutdown)
        ctx._closers.append(meter_provider.shutdown)
        return ClientTelemetry(tracer_provider, meter_provider)

    try:
        return ctx.once(f"telemetry {kind}", make, close=None)
    except ImportError as exc:
        raise Unavailable(
            f"OpenTelemetry is not installed ({exc}); pip install -e '.[otel]'"
        ) from exc


def _traced(kind: str) -> Factory:
    """A pooled 16 B echo with `kind` of instrumentation installed around it (every case,
    the baseline too, installs its own before each call: the same global store in each)."""

    def factory(ctx: Context) -> Case:
        from thrift_bridge._hooks import install

        telemetry = _telemetry(ctx, kind)
        bound = ctx.ours().echo
        # No instrumentation left behind for the groups after this one: their calls paid the
        # last case's instrumentation (the SDK's, 4x a call) until this was done per group.
        ctx._group_undo.append(lambda: install(None))

        def call() -> object:
            install(telemetry)
            return bound(SMALL)

        return call

    return factory


GROUPS: list[Group] = [
    Group(
        "small",
        "16 B echo: floors, thrift-bridge and the clients users would otherwise pick",
        RAW,
        {
            "floor: raw socket ping-pong, C echo server, same bytes": _echo_floor,
            THRIFT_FLOOR: _thrift_floor,
            CODEC_FLOOR: _codec_floor,
            RAW: _echo(lambda ctx: ctx.apache()),
            OURS: _echo(lambda ctx: ctx.ours()),
            THRIFTPY2: _echo(lambda ctx: ctx.thriftpy2(False)),
            "thriftpy2 Cython framed": _echo(lambda ctx: ctx.thriftpy2(True)),
            "thrift_connector ClientPool (its defaults)": _echo(lambda ctx: ctx.thrift_connector()),
            CONNECT_PER_CALL: _connect_per_call_over(tls=False),
        },
    ),
    Group(
        "http",
        "HTTP 16 B echo",
        APACHE_HTTP,
        {
            APACHE_HTTP: _echo(lambda ctx: ctx.apache_http()),
            OURS_HTTP: _echo(lambda ctx: ctx.ours("http")),
        },
    ),
    Group(
        "schemes",
        "16 B echo through every scheme x protocol x transport (thrift-bridge)",
        SCHEME_LABELS["binary"],
        {
            **{
                SCHEME_LABELS[scheme]: _echo(lambda ctx, scheme=scheme: ctx.ours(scheme))  # type: ignore[misc]
                for scheme in SCHEMES
            },
            TLS_CONNECT_PER_CALL: _connect_per_call_over(tls=True),
        },
    ),
    _payload_group(),
    _wire_group(),
    _json_group(),
    Group(
        "otel",
        "OpenTelemetry instrumentation: pooled 16 B echo, tcp binary buffered",
        UNINSTRUMENTED,
        {
            UNINSTRUMENTED: _traced("none"),
            OTEL_NO_SDK: _traced("no-sdk"),
            OTEL_SDK: _traced("sdk"),
        },
    ),
]

GROUPS_BY_KEY = {group.key: group for group in GROUPS}
THREADS = (1, 2, 8)


def thread_calls(ctx: Context, threads: int, shared: bool) -> list[Case]:
    """One call function per thread: all on one shared `Client`, or each on its own raw
    Apache connection."""
    if shared:
        client = ctx.ours(pool_size=threads)
        return [lambda: client.echo(SMALL)] * threads
    clients = [ctx.apache(f"apache private {i}") for i in range(threads)]
    return [lambda c=c: c.echo(SMALL) for c in clients]  # type: ignore[misc]


def throughput(calls: list[Case], seconds: float) -> float:
    """Calls per second when each function in `calls` runs in its own thread for `seconds`."""
    import threading
    import time

    counts = [0] * len(calls)
    stop = threading.Event()
    start = threading.Barrier(len(calls) + 1)

    def worker(i: int) -> None:
        call = calls[i]
        start.wait()
        n = 0
        while not stop.is_set():
            call()
            n += 1
        counts[i] = n

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - began)


IMPORTS = {
    "thrift": "import thrift",
    "thrift (what a raw Apache client imports)": (
        "import thrift.protocol.TBinaryProtocol, thrift.transport.TSocket, "
        "thrift.transport.TTransport"
    ),
    "thrift_bridge": "import thrift_bridge",
    "thrift_bridge Client": "from thrift_bridge import Client",
}


#: Loading idl/demo.thrift at run time in a fresh interpreter, and the module the statement
#: needs (its row is skipped without it). Ours twice: parsing (the plan cache off), and from
#: the plan cache a first load left on disk; thriftpy2 always parses (its grammar tables are
#: cached, as ours are); the compiled package's import is the floor.
DEMO_IDL = str(ROOT / "idl" / "demo.thrift")
LOADS: dict[str, tuple[str, str | None]] = {
    "thrift_bridge.load (parsing)": (
        "import os; os.environ['THRIFT_BRIDGE_LOAD_CACHE'] = '0'; "
        f"import thrift_bridge; thrift_bridge.load({DEMO_IDL!r})",
        "lark",
    ),
    "thrift_bridge.load (plan cache)": (
        f"import thrift_bridge; thrift_bridge.load({DEMO_IDL!r})",
        "lark",
    ),
    "thriftpy2.load": (
        f"import thriftpy2; thriftpy2.load({DEMO_IDL!r}, module_name='demo_thrift')",
        "thriftpy2",
    ),
    "import the compiled package (thrift --gen py)": (
        "import thrift_bridge.generated.demo.CustomerService",
        None,
    ),
}


def load_available(name: str) -> bool:
    """Whether the module a `LOADS` row needs is installed."""
    import importlib.util

    needed = LOADS[name][1]
    return needed is None or importlib.util.find_spec(needed) is not None


_BYTECODE_CACHE: list[str] = []


def import_env() -> dict[str, str]:
    """The environment for import timings: bytecode compiled once and cached, as after install.

    With PYTHONDONTWRITEBYTECODE set (as on some CI machines) every fresh interpreter would
    compile the package's source again, which no installed package does.
    """
    import os
    import tempfile

    if not _BYTECODE_CACHE:
        _BYTECODE_CACHE.append(tempfile.mkdtemp(prefix="tb-bench-pycache-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = _BYTECODE_CACHE[0]
    return env


def import_seconds(statement: str) -> float:
    """Seconds `statement` takes in a fresh interpreter (`python -c`, site loaded first)."""
    import subprocess

    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=import_env())
    return float(out.stdout)
