"""Wire conformance with Apache's cross-language matrix: THeader as a protocol, and lasting zlib.

Apache's test/py servers wrap the chosen transport (buffered, framed, zlib) with
`THeaderProtocolFactory` when the protocol is `header`; `thrift_bridge.testing.serve` does the
same, so these are the servers a `protocol=header` client meets in the wild.
"""

from __future__ import annotations

import os
import zlib
from typing import TYPE_CHECKING

import pytest

from thrift_bridge import Client, ConfigError, ProtocolError, TransportError, parse_url
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler
from .roundtrip import decodes_in_c, round_trip_every_type

if TYPE_CHECKING:
    import socket

MiB = 1024 * 1024


@pytest.mark.parametrize("header_protocol", ["binary", "compact"])
@pytest.mark.parametrize("transport", ["buffered", "framed", "zlib"])
@pytest.mark.parametrize("scheme", ["tcp", "unix"])
def test_header_protocol_over_each_transport(scheme, transport, header_protocol, socket_dir):
    path = os.path.join(socket_dir, "h.sock") if scheme == "unix" else None
    with serve(
        AllTypes.Processor(AllTypesHandler()),
        scheme=scheme,
        transport=transport,
        protocol="header",
        header_protocol=header_protocol,
        socket_path=path,
    ) as server:
        endpoint = parse_url(server.url)
        assert endpoint.protocol == ("header" if transport != "buffered" else header_protocol)
        with Client(AllTypes, server.url, pool_size=1) as client:
            round_trip_every_type(client)
            assert client.stats()["created"] == 1


def test_protocol_header_over_buffered_is_transport_header():
    assert parse_url("tcp://h?protocol=header") == parse_url("tcp://h?transport=header")
    assert parse_url("tcp://h?protocol=header&header_protocol=compact") == parse_url(
        "tcp://h?transport=header&protocol=compact"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("tcp://h?protocol=header&transport=header", "transport=header carries protocol=binary"),
        ("tcp://h?header_protocol=compact", "header_protocol applies only with protocol=header"),
        ("tcp://h?protocol=header&header_protocol=json", "expected one of: binary, compact"),
        ("http://h/rpc?protocol=header", "not supported over http"),
        ("tcp://h?transport=header&protocol=json", "transport=header carries protocol=binary"),
    ],
)
def test_header_combinations_that_make_no_sense_are_rejected(url, message):
    with pytest.raises(ConfigError, match=message):
        parse_url(url)


def test_header_protocol_client_against_plain_framed_server_fails_cleanly():
    with (
        serve(AllTypes.Processor(AllTypesHandler()), transport="framed") as server,
        Client(AllTypes, server.url + "&protocol=header", retries=0, timeout=2) as client,
        pytest.raises(TransportError),
    ):
        client.add(1, 2)


@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_zlib_connection_lasts_for_200_replies_of_1_mib(protocol):
    """Apache's TZlibTransport dies after 16 MB per connection; our limit is per message."""
    payload = ("thrift-bridge zlib " * (MiB // 19 + 1))[:MiB]
    with (
        serve(AllTypes.Processor(AllTypesHandler()), transport="zlib", protocol=protocol) as srv,
        Client(AllTypes, srv.url, max_message_size=2 * MiB) as client,
    ):
        assert decodes_in_c(srv.url)
        for i in range(200):
            assert client.echo_big(payload) == payload, f"reply {i} differs"
        stats = client.stats()
    assert stats["created"] == 1
    assert stats["discarded"] == 0


def test_zlib_bomb_is_refused_without_inflating_it():
    bomb = zlib.compressobj()
    compressed = b"".join(bomb.compress(b"\0" * MiB) for _ in range(64))
    compressed += bomb.flush(zlib.Z_SYNC_FLUSH)  # 64 MiB of zeros in ~64 KiB

    def explode(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(compressed)
        conn.recv(1)

    with (
        serve_raw(explode) as raw,
        Client(AllTypes, raw.url + "?transport=zlib", max_message_size=MiB, retries=0) as client,
        # Zeros inflate to a zero-length, seqid-0 message header: refused as out of step long
        # before the bomb's 64 MiB could be inflated (inflation goes one read at a time).
        pytest.raises(ProtocolError, match=r"out of step|exceeds max_message_size"),
    ):
        client.echo_big("x")


def test_zlib_peer_that_does_not_speak_zlib_is_a_protocol_error():
    def plain(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"\x80\x01\x00\x02" + b"\0" * 64)
        conn.recv(1)

    with (
        serve_raw(plain) as raw,
        Client(AllTypes, raw.url + "?transport=zlib", retries=0) as client,
        pytest.raises(ProtocolError),
    ):
        client.add(1, 2)
