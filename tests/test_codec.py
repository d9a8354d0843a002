"""The binary and compact codec and their fast calls: the generated client's bytes and results."""

from __future__ import annotations

import contextlib
import struct
import threading
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from thrift.protocol.TBinaryProtocol import TBinaryProtocol, TBinaryProtocolAccelerated
from thrift.protocol.TCompactProtocol import TCompactProtocol, TCompactProtocolAccelerated
from thrift.Thrift import TApplicationException, TMessageType
from thrift.transport.TSocket import TSocket
from thrift.transport.TTransport import (
    TBufferedTransport,
    TMemoryBuffer,
    TTransportBase,
    TTransportException,
)

from thrift_bridge import Client, ProtocolError, parse_url
from thrift_bridge._codec._binary import (
    LARGE_FIELD,
    BinaryMethod,
    binary_methods,
    supports_fast_path,
)
from thrift_bridge._codec._json_methods import json_methods
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import BadInput, Color, Everything, Inner
from .handlers import AllTypesHandler

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator


class RecordingSocket(TTransportBase):  # type: ignore[misc]
    """A server-side transport on an accepted socket that keeps every byte it reads."""

    def __init__(self, sock: socket.socket, requests: list[bytes]):
        self.sock = sock
        self.requests = requests
        self.current = bytearray()
        self.wbuf = bytearray()

    def read(self, sz: int) -> bytes:
        data = self.sock.recv(sz)
        if not data:
            raise TTransportException(TTransportException.END_OF_FILE)
        self.current += data
        return data

    def write(self, buf: bytes) -> None:
        self.wbuf += buf

    def flush(self) -> None:
        self.requests.append(bytes(self.current))  # one request read in full, its reply ready
        self.current = bytearray()
        self.sock.sendall(self.wbuf)
        self.wbuf = bytearray()


@pytest.fixture(params=["binary", "compact"])
def recording(request):
    """An Apache AllTypes processor on loopback recording each request's bytes as read."""
    requests: list[bytes] = []
    processor = AllTypes.Processor(AllTypesHandler())
    protocol = TBinaryProtocol if request.param == "binary" else TCompactProtocol

    def handle(sock: socket.socket) -> None:
        proto = protocol(RecordingSocket(sock, requests))
        for _ in range(1000):
            try:
                processor.process(proto, proto)
            except (TTransportException, OSError):
                return

    with serve_raw(handle) as server:
        server.requests = requests  # type: ignore[attr-defined]
        server.client_url = f"{server.url}?protocol={request.param}"  # type: ignore[attr-defined]
        server.protocol = request.param  # type: ignore[attr-defined]
        yield server


def without_seqid(request: bytes, protocol: str) -> bytes:
    """A strict binary request with its sequence id zeroed; a compact one with it left out."""
    if protocol == "compact":  # 0x82, version and type, varint seqid (the first two here)
        return request[:2] + request[3:]
    (name_size,) = struct.unpack_from("!i", request, 4)
    at = 8 + name_size
    return request[:at] + b"\0\0\0\0" + request[at + 4 :]


@contextlib.contextmanager
def apache_client(server: Any, protocol: type) -> Iterator[Any]:
    """Apache's generated client on Apache's own socket and buffered transport, to `server`."""
    host, port = server.address
    transport = TBufferedTransport(TSocket(host, port))
    transport.open()
    try:
        yield AllTypes.Client(protocol(transport))
    finally:
        transport.close()


APACHE = {"binary": TBinaryProtocol, "compact": TCompactProtocol}


EVERYTHING = Everything(
    a_bool=True,
    a_byte=-3,
    an_i16=1234,
    an_i32=-7,
    an_i64=2**40,
    a_double=0.25,
    a_string="héllo",
    a_binary=b"\x00\xff",
    a_color=Color.GREEN,
    inner=Inner(number=9, label="nine"),
    inners=[Inner(number=1, label="one")],
    names={"a", "b"},
    nested={"k": [{1, 2}, set()]},
    must="required",
    by_small_int={1: 0.5},
)

CALLS = [
    ("echo_string", ("x" * 100,)),
    ("echo_i64", (-(2**63),)),
    ("echo_struct", (EVERYTHING,)),
    ("echo_nested", ({"k": [{1, 2}, set()]},)),
    ("slow_echo", ("two args", 0.0)),
    ("nothing", ()),
]


@pytest.mark.parametrize(("method", "args"), CALLS, ids=[name for name, _ in CALLS])
def test_requests_and_results_are_the_generated_clients(recording, method, args):
    with apache_client(recording, APACHE[recording.protocol]) as generated:
        expected = getattr(generated, method)(*args)
    with Client(AllTypes, recording.client_url, pool_size=1, retries=0) as client:
        assert getattr(client, method)(*args) == expected
    theirs, ours = recording.requests
    assert without_seqid(ours, recording.protocol) == without_seqid(theirs, recording.protocol)
    assert ours != theirs  # ours is numbered; Apache's generated client always sends 0


def test_oneway_call_on_the_fast_path_reaches_the_server(recording):
    with Client(AllTypes, recording.client_url, pool_size=1) as client:
        assert client.fire("token-1") is None  # type: ignore[func-returns-value]
        assert client.last_fired() == "token-1"
        assert client.stats()["created"] == 1


def test_server_errors_come_back_as_from_the_generated_client(recording):
    with apache_client(recording, APACHE[recording.protocol]) as generated:
        with pytest.raises(BadInput) as declared:
            generated.raise_error(1)
        with pytest.raises(TApplicationException) as application:
            generated.raise_error(3)
    with Client(AllTypes, recording.client_url, pool_size=1) as client:
        with client.connection() as pinned:
            with pytest.raises(BadInput) as ours:
                pinned.raise_error(1)
            assert ours.value == declared.value
            with pytest.raises(TApplicationException) as ours_too:
                pinned.raise_error(3)
            assert ours_too.value.type == application.value.type
            assert ours_too.value.type == TApplicationException.INTERNAL_ERROR
            assert str(ours_too.value) == str(application.value)
            assert pinned.add(2, 3) == 5
        assert client.stats()["discarded"] == 0


def test_keyword_arguments_and_wrong_argument_counts_behave_as_the_generated_client(recording):
    with Client(AllTypes, recording.client_url, pool_size=1) as client:
        assert client.slow_echo(value="kw", delay_seconds=0) == "kw"
        with pytest.raises(TypeError, match="delay_seconds"):
            client.slow_echo("missing one")  # type: ignore[call-arg]


@pytest.mark.parametrize("seqid", [0, 999], ids=["0, as Apache's clients send", "another's"])
def test_reply_out_of_step_is_a_protocol_error_and_the_connection_is_dropped(seqid):
    def stale_reply(sock: socket.socket) -> None:
        sock.recv(65536)
        out = TMemoryBuffer()
        proto = TBinaryProtocol(out)
        proto.writeMessageBegin("add", TMessageType.REPLY, seqid)
        AllTypes.add_result(success=5).write(proto)
        proto.writeMessageEnd()
        sock.sendall(out.getvalue())
        sock.recv(1)

    with serve_raw(stale_reply) as raw, Client(AllTypes, raw.url, retries=0) as client:
        with pytest.raises(ProtocolError, match="out of step"):
            client.add(2, 3)
        assert client.stats()["discarded"] == 1


def test_multiplexed_fast_path_prefixes_the_service_name():
    from thrift.TMultiplexedProcessor import TMultiplexedProcessor

    processor = TMultiplexedProcessor()
    processor.registerProcessor("AllTypes", AllTypes.Processor(AllTypesHandler()))
    with serve(processor) as server:
        with Client(AllTypes, server.url, service_name="AllTypes") as client:
            assert client.add(40, 2) == 42


@pytest.mark.parametrize(
    ("scheme", "transport"), [("tcp", "buffered"), ("tcp", "framed"), ("tcps", "buffered")]
)
def test_one_mebibyte_round_trips_through_the_fast_path_from_many_threads(
    scheme, transport, server_ssl_context, ca_file
):
    blob = bytes(range(256)) * 4096
    text = "é€x" * 100_000  # 300,000 characters, 600,000 UTF-8 bytes: sent as a large field
    errors: list[BaseException] = []
    tls = {"ssl_context": server_ssl_context} if scheme == "tcps" else {}
    handler = AllTypes.Processor(AllTypesHandler())
    with serve(handler, scheme=scheme, transport=transport, **tls) as server:
        options = {"ca_certs": ca_file} if scheme == "tcps" else {}
        with Client(AllTypes, server.url, pool_size=2, **options) as client:

            def worker() -> None:
                try:
                    for _ in range(3):
                        assert client.echo_blob(blob) == blob
                        assert client.echo_string(text) == text
                        assert client.slow_echo(text, 0.0) == text
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=worker) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert not any(thread.is_alive() for thread in threads)
    assert errors == []


@pytest.mark.parametrize(
    ("url", "fast"),
    [
        ("tcp://h:1", True),
        ("tcp://h:1?transport=framed", True),
        ("unix:/tmp/s.sock", True),
        ("tcps://h:1", True),
        ("tcp://h:1?protocol=compact", True),
        ("tcp://h:1?protocol=compact&transport=framed", True),
        ("tcp://h:1?protocol=json", False),
        ("tcp://h:1?transport=zlib", True),
        ("tcp://h:1?transport=framed&zlib=true", True),
        ("tcp://h:1?transport=header", False),
        ("tcp://h:1?protocol=header", False),
        ("http://h/thrift", True),
        ("https://h/thrift?protocol=compact", True),
    ],
)
def test_fast_path_applies_to_binary_and_compact_on_buffered_framed_zlib_and_http(url, fast):
    assert supports_fast_path(parse_url(url)) is fast


def test_the_codecs_cover_every_method_once_per_client_class_and_protocol():
    binary, compact = parse_url("tcp://h:1"), parse_url("tcp://h:1?protocol=compact")
    methods = binary_methods(AllTypes.Client, None, binary)
    assert set(methods) == set(Client(AllTypes, "tcp://127.0.0.1:1").methods)
    assert binary_methods(AllTypes.Client, None, parse_url("unix:/tmp/s.sock")) is methods
    assert binary_methods(AllTypes.Client, "AllTypes", binary) is not methods
    assert set(binary_methods(AllTypes.Client, None, compact)) == set(methods)
    assert binary_methods(AllTypes.Client, None, compact) is not methods
    zlib = binary_methods(AllTypes.Client, None, parse_url("tcp://h:1?transport=zlib"))
    assert set(zlib) == set(methods)
    assert binary_methods(AllTypes.Client, None, parse_url("tcp://h:1?transport=header")) == {}
    json = json_methods(AllTypes.Client, None, parse_url("tcp://h:1?protocol=json"))
    assert set(json) == set(methods)  # from the JSON codec: tests/test_json_calls.py


def method(name: str, protocol: str = "binary") -> BinaryMethod:
    """The codec of AllTypes method `name`."""
    return binary_methods(AllTypes.Client, None, parse_url(f"tcp://h:1?protocol={protocol}"))[name]


def apache_request(name: str, seqid: int, args_struct: object, protocol: type) -> bytes:
    """The request Apache's generated client writes."""
    out = TMemoryBuffer()
    proto = protocol(out)
    proto.writeMessageBegin(name, 1, seqid)
    args_struct.write(proto)  # type: ignore[attr-defined]
    proto.writeMessageEnd()
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "args", "small"),
    [
        ("slow_echo", ("é" * LARGE_FIELD, 0.5), ("small", 0.5)),
        ("echo_blob", (b"\xff" * LARGE_FIELD,), (b"small",)),
    ],
    ids=["string and double", "binary"],
)
def test_large_arguments_are_sent_as_their_own_field_and_are_the_same_bytes(name, args, small):
    args_class = getattr(AllTypes, f"{name}_args")
    for values in (args, small):
        parts = method(name).request(7, values)
        expected = apache_request(name, 7, args_class(*values), TBinaryProtocol)
        if values is args:
            assert len(parts) > 2  # the large field on its own
            if isinstance(values[0], bytes):
                assert any(part is values[0] for part in parts)  # sent as it is, never copied
            decoded = args_class()
            decoded.read(TBinaryProtocol(TMemoryBuffer(b"".join(parts)[len(parts[0]) :])))
            assert decoded == args_class(*values)
        else:
            assert len(parts) == 2  # small arguments: header and the C encoder's bytes
            assert b"".join(parts) == expected


@pytest.mark.parametrize(
    ("method", "args", "expected"), [("nothing", (), None), ("add", (2, 3), 5)]
)
def test_old_non_strict_replies_are_read_through_the_generated_code(method, args, expected):
    from thrift.protocol.TBinaryProtocol import TBinaryProtocol as Plain
    from thrift.transport.TTransport import TMemoryBuffer as Memory

    def non_strict(sock: socket.socket) -> None:
        request = sock.recv(65536)
        (name_size,) = struct.unpack_from("!i", request, 4)
        seqid = request[8 + name_size : 12 + name_size]
        out = Memory()
        reply = Plain(out, strictWrite=False)
        reply.writeMessageBegin(method, 2, struct.unpack("!i", seqid)[0])
        getattr(AllTypes, f"{method}_result")(**({"success": expected} if expected else {})).write(
            reply
        )
        sock.sendall(out.getvalue())  # name length first, no version word: 3 bytes shorter
        sock.recv(1)

    with serve_raw(non_strict) as raw, Client(AllTypes, raw.url, retries=0, timeout=2) as client:
        assert client.call(method, *args) == expected


@given(st.integers(0, 2**31 - 1), st.sampled_from(["binary", "compact"]))
def test_requests_are_the_bytes_apache_writes_for_every_sequence_id(seqid, protocol):
    apache = TCompactProtocol if protocol == "compact" else TBinaryProtocol
    expected = apache_request("add", seqid, AllTypes.add_args(3, -4), apache)
    assert b"".join(method("add", protocol).request(seqid, (3, -4))) == expected


@pytest.mark.parametrize("transport", ["buffered", "framed"])
def test_compact_calls_past_one_byte_sequence_ids(transport):
    handler = AllTypes.Processor(AllTypesHandler())
    with serve(handler, protocol="compact", transport=transport) as server:
        with Client(AllTypes, server.url, pool_size=1) as client:
            for i in range(300):  # ids 128..301 take two varint bytes
                assert client.add(i, 1) == i + 1
            assert client.stats()["created"] == 1


REPLIES = [
    *CALLS,
    ("raise_error", (1,)),  # a declared exception: a REPLY message, decoded by the codec
    ("raise_error", (3,)),  # an EXCEPTION message: for the generated code to read
]


@pytest.mark.parametrize("protocol", ["binary", "compact"])
@pytest.mark.parametrize(
    ("name", "args"),
    REPLIES,
    # not the arguments' repr: a set's order differs per process, and xdist's workers must agree
    ids=[f"{n}{a}" if n == "raise_error" else n for n, a in REPLIES],
)
def test_the_codec_reads_a_reply_as_the_generated_code_does(protocol, name, args):
    """The codec's request, answered by Apache's processor: the codec recognises the reply by
    its head and decodes what the generated recv_ reads from the same bytes; any other
    message (an exception) differs from the head it expects, so the generated code reads it."""
    codec = method(name, protocol)
    apache = APACHE[protocol]
    out = TMemoryBuffer()
    request = TMemoryBuffer(b"".join(codec.request(7, args)))
    AllTypes.Processor(AllTypesHandler()).process(apache(request), apache(out))
    reply = out.getvalue()

    def outcome(read: Any) -> tuple[str, Any]:
        try:
            return "returned", read()
        except Exception as exc:  # the server's answer, compared below
            return "raised", exc

    generated = outcome(getattr(AllTypes.Client(apache(TMemoryBuffer(reply))), f"recv_{name}"))
    head = codec.reply_head(7)
    if args == (3,):
        assert not reply.startswith(head)
        assert generated[0] == "raised"
        assert generated[1].type == TApplicationException.INTERNAL_ERROR
        return
    assert reply.startswith(head)
    accelerated = (
        TCompactProtocolAccelerated if protocol == "compact" else TBinaryProtocolAccelerated
    )
    ours = outcome(lambda: codec.read_result(accelerated(TMemoryBuffer(reply[len(head) :]))))
    assert ours == generated


@given(st.integers(min_value=0, max_value=2**32 - 1))
@example(0x7F).via("one byte's end")
@example(0x80).via("two bytes")
@example(0x3FFF).via("two bytes' end")
@example(0x4000).via("three bytes")
@example(0x1FFFFF).via("three bytes' end")
@example(0x200000).via("the loop")
def test_a_varint_is_apaches_compact_varint(n):
    from thrift.protocol.TCompactProtocol import writeVarint

    from thrift_bridge._codec._large import varint

    apache = TMemoryBuffer()
    writeVarint(apache, n)
    assert varint(n) == apache.getvalue()
