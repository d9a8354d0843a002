"""The JSON fast path through `Client`, against Apache's Python TJSONProtocol servers."""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from thrift.protocol.TJSONProtocol import TJSONProtocol
from thrift.Thrift import TApplicationException
from thrift.transport.TTransport import TMemoryBuffer, TTransportException

from thrift_bridge import Client, ProtocolError, ReadTimeout, TransportError, parse_url
from thrift_bridge._codec._json_methods import json_methods, supports_json_fast_path
from thrift_bridge._codec._json_stream import MessageReader
from thrift_bridge._codec._json_write import JsonLimits
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import BadInput
from .handlers import AllTypesHandler
from .roundtrip import EVERYTHING, round_trip_every_type
from .test_codec import RecordingSocket, apache_client

if TYPE_CHECKING:
    import socket

TRANSPORTS = [("tcp", "buffered"), ("tcp", "framed"), ("http", "buffered")]
TRANSPORT_IDS = [f"{scheme} {transport}" for scheme, transport in TRANSPORTS]


@pytest.fixture(params=TRANSPORTS, ids=TRANSPORT_IDS)
def json_server(request):
    """Apache's AllTypes processor speaking TJSONProtocol over each transport."""
    scheme, transport = request.param
    processor = AllTypes.Processor(AllTypesHandler())
    with serve(processor, scheme=scheme, transport=transport, protocol="json") as server:
        yield server


def test_every_method_and_type_round_trips(json_server):
    with Client(AllTypes, json_server.url, pool_size=1) as client:
        endpoint = parse_url(json_server.url)
        assert set(json_methods(AllTypes.Client, None, endpoint)) == set(client.methods)
        assert client.echo_struct(EVERYTHING) == EVERYTHING
        round_trip_every_type(client)
        assert client.stats()["discarded"] == 0


def test_server_errors_come_back_as_the_generated_code_raises_them(json_server):
    with Client(AllTypes, json_server.url, pool_size=1) as client:
        with client.connection() as pinned:
            with pytest.raises(BadInput) as bad:  # a declared exception: the fast path's
                pinned.raise_error(1)
            assert bad.value == BadInput(message="bad input", code=400)
            with pytest.raises(TApplicationException) as caught:
                pinned.raise_error(3)  # an EXCEPTION message: read by the generated recv_
            assert caught.value.type == TApplicationException.INTERNAL_ERROR
            assert pinned.add(2, 3) == 5
        assert client.stats()["discarded"] == 0


def test_keyword_arguments_and_wrong_argument_counts_behave_as_the_generated_client(
    json_server,
):
    with Client(AllTypes, json_server.url, pool_size=1) as client:
        assert client.slow_echo(value="kw", delay_seconds=0) == "kw"
        with pytest.raises(TypeError, match="delay_seconds"):
            client.slow_echo("missing one")  # type: ignore[call-arg]


@pytest.mark.parametrize("transport", ["buffered", "framed"])
def test_large_values_round_trip_from_many_threads(transport):
    blob = bytes(range(256)) * 4096  # 1 MiB of binary: base64 both ways
    text = 'é€x"\\\n' * 50_000  # non-ASCII and escapes throughout
    errors: list[BaseException] = []
    processor = AllTypes.Processor(AllTypesHandler())
    with serve(processor, transport=transport, protocol="json") as server:
        # The third thread waits for a connection while the pure-Python JSON
        # server decodes 1 MiB for the other two: give it as long as a call.
        with Client(AllTypes, server.url, pool_size=2, timeout=60, pool_timeout=60) as client:

            def worker() -> None:
                try:
                    assert client.echo_blob(blob) == blob
                    assert client.echo_string(text) == text
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=worker) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert not any(thread.is_alive() for thread in threads)
    assert errors == []


SEQID = re.compile(rb'^\[1,"(\w+)",(\d),(\d+),')


def test_requests_and_results_are_the_generated_clients():
    requests: list[bytes] = []
    processor = AllTypes.Processor(AllTypesHandler())

    def handle(sock: socket.socket) -> None:
        proto = TJSONProtocol(RecordingSocket(sock, requests))
        for _ in range(100):
            try:
                processor.process(proto, proto)
            except (TTransportException, OSError):
                return

    calls = [("echo_struct", (EVERYTHING,)), ("echo_map", ({1: "a", -2: "b"},)), ("add", (1, 2))]
    with serve_raw(handle) as server:
        with apache_client(server, TJSONProtocol) as generated:
            expected = [getattr(generated, method)(*args) for method, args in calls]
        url = f"{server.url}?protocol=json"
        with Client(AllTypes, url, pool_size=1, retries=0) as client:
            assert [getattr(client, method)(*args) for method, args in calls] == expected
    assert len(requests) == 2 * len(calls)
    for theirs, ours in zip(requests[: len(calls)], requests[len(calls) :]):
        assert SEQID.sub(rb"[1,\1,\2,N,", ours) == SEQID.sub(rb"[1,\1,\2,N,", theirs)
        assert ours != theirs  # ours is numbered; Apache's generated client always sends 0


REPLIES = [("echo_struct", (EVERYTHING,)), ("add", (1, 2)), ("nothing", ()), ("raise_error", (1,))]


@pytest.mark.parametrize(("name", "args"), REPLIES, ids=[name for name, _ in REPLIES])
def test_the_codec_reads_a_reply_as_the_generated_code_does(name, args):
    """The codec's request, answered by Apache's processor: the codec takes the reply as its
    own and decodes what the generated recv_ reads from the same bytes."""
    codec = json_methods(AllTypes.Client, None, parse_url("tcp://h:1?protocol=json"))[name]
    out = TMemoryBuffer()
    request = TJSONProtocol(TMemoryBuffer(codec.request(7, args)))
    AllTypes.Processor(AllTypesHandler()).process(request, TJSONProtocol(out))
    reader = MessageReader(JsonLimits(max_message_size=1 << 20))
    reader.feed(out.getvalue())
    frame = reader.next_message()
    assert frame is not None
    assert codec.answers(frame, 7)
    assert not codec.answers(frame, 8)

    def outcome(read: Any) -> tuple[str, Any]:
        try:
            return "returned", read()
        except Exception as exc:  # the server's answer, compared below
            return "raised", exc

    recv = getattr(AllTypes.Client(TJSONProtocol(TMemoryBuffer(out.getvalue()))), f"recv_{name}")
    assert outcome(lambda: codec.read_result(frame)) == outcome(recv)


def test_oneway_calls_reach_the_server(json_server):
    with Client(AllTypes, json_server.url, pool_size=1) as client:
        assert client.fire("token-1") is None  # type: ignore[func-returns-value]
        assert client.last_fired() == "token-1"


def test_a_multiplexed_json_call_prefixes_the_service_name():
    from thrift.TMultiplexedProcessor import TMultiplexedProcessor

    processor = TMultiplexedProcessor()
    processor.registerProcessor("AllTypes", AllTypes.Processor(AllTypesHandler()))
    with serve(processor, protocol="json") as server:
        with Client(AllTypes, server.url, service_name="AllTypes") as client:
            assert client.add(40, 2) == 42
        multiplexed = json_methods(AllTypes.Client, "AllTypes", parse_url(server.url))
        assert multiplexed["add"].request(1, (40, 2)).startswith(b'[1,"AllTypes:add",1,1,')


def scripted(reply: bytes, *, then_wait: bool = True, pieces: int = 1):
    """A server answering every request with `reply` (with its sequence id put in place)."""

    def handle(sock: socket.socket) -> None:
        while True:
            request = sock.recv(65536)
            if not request:
                return
            seqid = SEQID.match(request).group(3)
            data = reply.replace(b"SEQID", seqid)
            step = max(1, len(data) // pieces)
            for at in range(0, len(data), step):
                sock.sendall(data[at : at + step])
                if pieces > 1:
                    time.sleep(0.001)  # the pause is what is under test: separate segments
            if not then_wait:
                return

    return serve_raw(handle)


def test_a_reply_arriving_in_many_pieces_is_read_whole():
    reply = b'[1,"echo_string",2,SEQID,{"0":{"str":"' + b'ab\\"c' * 200 + b'"}}]'
    with scripted(reply, pieces=300) as raw:
        with Client(AllTypes, f"{raw.url}?protocol=json", retries=0) as client:
            assert client.echo_string("x") == 'ab"c' * 200


@pytest.mark.parametrize(
    ("reply", "error", "match"),
    [
        (b'[1,"add",2,999,{"0":{"i64":5}}]', ProtocolError, "out of step"),
        (b'[1,"other",2,SEQID,{"0":{"i64":5}}]', ProtocolError, "out of step"),
        (b"\x80\x01\x00\x02\x00\x00\x00\x03add", ProtocolError, "starts with"),
        (b'[1,"add",2,SEQID,{"0":{"i64":"5"}}]', ProtocolError, "expected an integer"),
        (b'[1,"add",2,SEQID, {"0":{"i64":5}}]', ProtocolError, "whitespace"),
    ],
    ids=["seqid", "name", "binary protocol", "wrong type", "whitespace"],
)
def test_a_bad_reply_is_a_protocol_error_and_the_connection_is_dropped(reply, error, match):
    with scripted(reply) as raw:
        with Client(AllTypes, f"{raw.url}?protocol=json", retries=0, timeout=5) as client:
            with pytest.raises(error, match=match):
                client.add(2, 3)
            assert client.stats()["discarded"] == 1


def test_a_reply_cut_short_by_the_peer_is_a_transport_error():
    with scripted(b'[1,"add",2,SEQID,{"0":{"i6', then_wait=False) as raw:
        with Client(AllTypes, f"{raw.url}?protocol=json", retries=0, timeout=5) as client:
            with pytest.raises(TransportError, match="closed"):
                client.add(2, 3)


def test_a_reply_that_stalls_midway_times_out():
    with scripted(b'[1,"add",2,SEQID,{"0":{"i6') as raw:
        with Client(AllTypes, f"{raw.url}?protocol=json", retries=0, timeout=0.3) as client:
            with pytest.raises(ReadTimeout):
                client.add(2, 3)


def test_bytes_after_a_reply_leave_the_call_answered_and_the_connection_discarded():
    with scripted(b'[1,"add",2,SEQID,{"0":{"i64":5}}]junk') as raw:
        with Client(AllTypes, f"{raw.url}?protocol=json", retries=0, pool_size=1) as client:
            assert client.add(2, 3) == 5
            assert client.add(2, 3) == 5  # on a new connection: the idle check saw the junk
            assert client.stats()["created"] == 2


@pytest.mark.parametrize(
    ("url", "fast"),
    [
        ("tcp://h:1?protocol=json", True),
        ("tcp://h:1?protocol=json&transport=framed", True),
        ("unix:/tmp/s.sock?protocol=json", True),
        ("http://h/thrift?protocol=json", True),
        ("tcp://h:1?protocol=json&transport=zlib", False),
        ("tcp://h:1?protocol=json&transport=framed&zlib=true", False),
        ("tcp://h:1", False),
    ],
)
def test_the_json_fast_path_applies_to_buffered_framed_and_http(url, fast):
    endpoint = parse_url(url)
    assert supports_json_fast_path(endpoint) is fast
    assert bool(json_methods(AllTypes.Client, None, endpoint)) is fast


def test_json_codecs_are_built_once_per_class_and_service_name():
    plain = parse_url("tcp://h:1?protocol=json")
    methods = json_methods(AllTypes.Client, None, plain)
    assert set(methods) == set(Client(AllTypes, "tcp://127.0.0.1:1").methods)
    assert json_methods(AllTypes.Client, None, parse_url("tcp://other:2?protocol=json")) is methods
    assert json_methods(AllTypes.Client, None, parse_url("http://h/t?protocol=json")) is methods
    assert json_methods(AllTypes.Client, "AllTypes", plain) is not methods
