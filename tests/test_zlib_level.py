"""The `zlib_level` endpoint option: the level requests are compressed at, on a zlib stream;
and compressing a request counts against the call's timeout."""

from __future__ import annotations

import queue
import random
import threading
import time
import zlib
from typing import TYPE_CHECKING

import pytest

from thrift_bridge import Client, ConfigError, TransportError, WriteTimeout, parse_url
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler

if TYPE_CHECKING:
    import socket

PAYLOAD = "".join(f"line {i:06d} of a compressible request\n" for i in range(4000))  # 148 KB


def _wire_request(url_options: str) -> tuple[int, bytes]:
    """The size on the wire of one `echo_big(PAYLOAD)` request, and its bytes inflated."""
    received: queue.Queue[bytes] = queue.Queue()

    def record(conn: socket.socket) -> None:
        data = b""
        while not data.endswith(b"\x00\x00\xff\xff"):  # a sync flush ends each request
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        received.put(data)  # then close without a reply: the call fails, we have the bytes

    with (
        serve_raw(record) as raw,
        Client(AllTypes, raw.url + "?" + url_options, retries=0, timeout=10) as client,
    ):
        with pytest.raises(TransportError):
            client.echo_big(PAYLOAD)
        data = received.get(timeout=10)
    return len(data), zlib.decompressobj().decompress(data)


def test_the_level_decides_how_requests_are_compressed():
    sizes: dict[object, int] = {}
    inflated = set()
    for level in (0, 1, 6, 9):
        sizes[level], request = _wire_request(f"transport=zlib&zlib_level={level}")
        inflated.add(request)
    sizes["default"], request = _wire_request("transport=zlib")
    inflated.add(request)
    assert len(inflated) == 1  # the same request at every level
    assert PAYLOAD.encode() in request
    assert sizes[0] > len(PAYLOAD)  # stored, not compressed
    assert sizes[1] < len(PAYLOAD) / 3
    assert sizes[9] <= sizes[6] < sizes[1]
    assert sizes["default"] == sizes[6]  # zlib's own default, as Apache's C++ transport


@pytest.mark.parametrize("level", [0, 1, 9])
def test_every_level_round_trips_through_apaches_zlib_server(level):
    processor = AllTypes.Processor(AllTypesHandler())
    with (
        serve(processor, transport="zlib") as server,
        Client(AllTypes, server.url, pool_size=1, zlib_level=level) as client,
    ):
        for _ in range(2):  # one stream: the second request continues the first's
            assert client.echo_big(PAYLOAD) == PAYLOAD
        assert client.stats()["created"] == 1


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("tcp://h:1?transport=zlib&zlib_level=10", r"invalid zlib_level '10'.*0 to 9"),
        ("tcp://h:1?transport=zlib&zlib_level=-1", r"invalid zlib_level '-1'"),
        ("tcp://h:1?transport=zlib&zlib_level=fast", r"invalid zlib_level 'fast'"),
        ("tcp://h:1?zlib_level=1", "applies only to a zlib stream"),
        ("tcp://h:1?transport=framed&zlib_level=1", "applies only to a zlib stream"),
        ("http://h/thrift?zlib_level=1", "zlib_level"),
    ],
)
def test_bad_levels_and_levels_without_zlib_are_refused(url, match):
    with pytest.raises(ConfigError, match=match):
        parse_url(url)


def test_the_level_is_taken_as_a_number_or_a_digit():
    assert parse_url("tcp://h:1?transport=zlib&zlib_level=1").zlib_level == 1
    assert parse_url("tcp://h:1?transport=zlib", zlib_level=9).zlib_level == 9
    assert parse_url("tcp://h:1?transport=zlib").zlib_level == 6
    with pytest.raises(ConfigError, match="invalid zlib_level True"):
        parse_url("tcp://h:1?transport=zlib", zlib_level=True)


def test_compressing_a_large_request_stops_at_the_calls_deadline():
    payload = random.Random(23).randbytes(24 * 1024 * 1024)  # incompressible: slow at level 9
    start = time.monotonic()
    deflate = zlib.compressobj(9)
    deflate.compress(payload)
    alone = time.monotonic() - start  # what compressing it all takes here, now
    stop = threading.Event()

    def idle(conn: socket.socket) -> None:
        stop.wait(30)

    with (
        serve_raw(idle) as raw,
        Client(
            AllTypes, raw.url + "?transport=zlib&zlib_level=9", timeout=alone / 20, retries=0
        ) as client,
    ):
        try:
            start = time.monotonic()
            with pytest.raises(WriteTimeout, match=r"could not be sent .* took 0 of"):
                client.echo_blob(payload)
            elapsed = time.monotonic() - start
            assert client.stats()["discarded"] == 1  # its zlib stream is broken: it goes
        finally:
            stop.set()
    # Stopped a slice (1 MiB, 1/24 of it) past the deadline, not after compressing it all.
    assert elapsed < alone / 2, (elapsed, alone)
