"""The JSON fast path through `Client`, against Apache's Python TJSONProtocol servers."""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING

import pytest
from thrift.protocol.TJSONProtocol import TJSONProtocol
from thrift.Thrift import TApplicationException
from thrift.transport.TTransport import TTransportException

from thrift_bridge import Client, ProtocolError, ReadTimeout, TransportError, parse_url
from thrift_bridge._codec._json_methods import json_methods, supports_json_fast_path
from thrift_bridge._fast import fast_calls
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import BadInput
from .handlers import AllTypesHandler
from .roundtrip import EVERYTHING, round_trip_every_type
from .test_codec import RecordingSocket

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


class ReadsCounted:
    """Counts the replies the generated code reads (the fast path reads none itself)."""

    def __init__(self, conn):
        self.count = 0
        read = conn.protocol.readMessageBegin

        def counted():
            self.count += 1
            return read()

        conn.protocol.readMessageBegin = counted


def test_every_method_and_type_round_trips_on_the_fast_path(json_server):
    with Client(AllTypes, json_server.url, pool_size=1) as client:
        with client.connection() as pinned:
            conn = pinned._conn
            assert set(conn.calls) == set(client.methods)
            reads = ReadsCounted(conn)
            assert pinned.echo_struct(EVERYTHING) == EVERYTHING
            assert reads.count == 0  # decoded by the fast path itself
        round_trip_every_type(client)
        assert client.stats()["discarded"] == 0


def test_server_errors_come_back_as_from_the_generated_client(json_server):
    with Client(AllTypes, json_server.url, pool_size=1) as client:
        with client.connection() as pinned:
            reads = ReadsCounted(pinned._conn)
            with pytest.raises(BadInput) as bad:  # a declared exception: the fast path's
                pinned.raise_error(1)
            assert bad.value == BadInput(message="bad input", code=400)
            assert reads.count == 0
            with pytest.raises(TApplicationException) as caught:
                pinned.raise_error(3)  # an EXCEPTION message: read by the generated recv_
            assert reads.count == 1
            assert caught.value.type == TApplicationException.INTERNAL_ERROR
            assert pinned.add(2, 3) == 5
        assert client.stats()["discarded"] == 0


def test_keyword_arguments_and_wrong_argument_counts_behave_as_the_generated_client(
    json_server,
):
    with Client(AllTypes, json_server.url, pool_size=1) as client:
        assert client.slow_echo(value="kw", delay_seconds=0) == "kw"
        with pytest.raises(TypeError, match="delay_seconds"):
            client.slow_echo("missing one")


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


def test_the_fast_path_sends_the_generated_clients_bytes():
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
        url = f"{server.url}?protocol=json"
        with Client(AllTypes, url, pool_size=1, retries=0) as client:
            with client.connection() as pinned:
                conn = pinned._conn
                for method, args in calls:
                    conn.begin_call()
                    generated = getattr(conn.client, method)(*args)
                    conn.begin_call()
                    assert conn.calls[method](conn, args) == generated
    assert len(requests) == 2 * len(calls)
    for generated, fast in zip(requests[::2], requests[1::2]):
        assert SEQID.sub(rb"[1,\1,\2,N,", generated) == SEQID.sub(rb"[1,\1,\2,N,", fast)
        assert generated != fast  # the sequence id moved on


def test_oneway_calls_reach_the_server(json_server):
    with Client(AllTypes, json_server.url, pool_size=1) as client:
        assert client.fire("token-1") is None
        assert client.last_fired() == "token-1"


def test_a_multiplexed_json_call_prefixes_the_service_name():
    from thrift.TMultiplexedProcessor import TMultiplexedProcessor

    processor = TMultiplexedProcessor()
    processor.registerProcessor("AllTypes", AllTypes.Processor(AllTypesHandler()))
    with serve(processor, protocol="json") as server:
        with Client(AllTypes, server.url, service_name="AllTypes") as client:
            assert client.add(40, 2) == 42
            with client.connection() as pinned:
                assert "add" in pinned._conn.calls


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
                    time.sleep(0.001)
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


def test_json_fast_calls_are_built_once_per_class_service_name_and_size_limit():
    plain = parse_url("tcp://h:1?protocol=json")
    calls = fast_calls(AllTypes.Client, None, plain)
    assert set(calls) == set(Client(AllTypes, "tcp://127.0.0.1:1").methods)
    assert fast_calls(AllTypes.Client, None, parse_url("tcp://other:2?protocol=json")) is calls
    assert set(fast_calls(AllTypes.Client, None, parse_url("http://h/t?protocol=json"))) == set(
        calls
    )
    assert fast_calls(AllTypes.Client, "AllTypes", plain) is not calls
    limited = parse_url("tcp://h:1?protocol=json&max_message_size=1000")
    assert fast_calls(AllTypes.Client, None, limited) is not calls
