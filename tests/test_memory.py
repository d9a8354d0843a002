"""Memory follows the bytes a peer sends, never the lengths it declares (RSS measured)."""

from __future__ import annotations

import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from thrift.Thrift import TType

from thrift_bridge import Client, ReadTimeout
from thrift_bridge.testing import serve_raw

from .generated.alltypes import AllTypes

if TYPE_CHECKING:
    import socket

MiB = 1024 * 1024
DECLARED = 99_000_000  # within the default max_message_size (100 MiB): allowed by the limits
CALLS = 8


def _rss_peak_reset() -> None:
    """Reset this process's peak resident set size (Linux: /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _rss_peak() -> int:
    """This process's peak resident set size in bytes since the last reset (VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def _head(name: bytes, seqid: int) -> bytes:
    """A strict binary REPLY message header."""
    return struct.pack("!iI", -2147418110, len(name)) + name + struct.pack("!i", seqid)


def _seqid(request: bytes, name: bytes) -> int:
    """The sequence id of a strict binary request for method `name`."""
    start = 8 + len(name)
    return int(struct.unpack("!i", request[start : start + 4])[0])


def liar(name: bytes, body: bytes, *, framed: bool = False):
    """A server answering each request with a reply head and `body`, then saying nothing."""

    def handler(conn: socket.socket) -> None:
        request = conn.recv(65536)
        offset = 4 if framed else 0
        reply = _head(name, _seqid(request[offset:], name)) + body
        if framed:
            reply = struct.pack("!i", 16_000_000) + reply  # a frame of 16 MB, 40 bytes sent
        conn.sendall(reply)
        conn.recv(1)  # until the client gives up and closes

    return handler


STRING = struct.pack("!bh", TType.STRING, 0) + struct.pack("!i", DECLARED) + b"xy"
LIST = struct.pack("!bh", TType.LIST, 0) + struct.pack("!bi", TType.STRUCT, DECLARED) + b"\x08"
MAP = struct.pack("!bh", TType.MAP, 0) + struct.pack("!bbi", TType.I32, TType.STRING, DECLARED)

CASES = [
    pytest.param(b"echo_big", STRING, "", "echo_big", ("x",), id="string"),
    pytest.param(b"echo_big", STRING, "transport=framed", "echo_big", ("x",), id="framed-string"),
    pytest.param(b"echo_list", LIST, "", "echo_list", ([],), id="list"),
    pytest.param(b"echo_map", MAP, "", "echo_map", ({},), id="map"),
]


@pytest.mark.parametrize(("name", "body", "query", "method", "args"), CASES)
def test_declared_lengths_cost_no_memory_until_the_bytes_arrive(name, body, query, method, args):
    framed = "framed" in query
    with serve_raw(liar(name, body, framed=framed)) as server:
        url = f"{server.url}?{query}" if query else server.url
        with Client(AllTypes, url, timeout=0.5, retries=0, pool_size=CALLS) as client:
            client.add  # noqa: B018 - warm imports and caches before measuring
            start = threading.Barrier(CALLS)

            def call(_: int) -> type[BaseException] | None:
                start.wait(5)
                try:
                    getattr(client, method)(*args)
                except ReadTimeout:
                    return ReadTimeout
                return None

            _rss_peak_reset()
            before = _rss_peak()
            with ThreadPoolExecutor(CALLS) as workers:
                outcomes = list(workers.map(call, range(CALLS)))
            growth = _rss_peak() - before
    assert outcomes == [ReadTimeout] * CALLS  # the promised bytes never came
    assert growth < 48 * MiB, f"{CALLS} calls raised peak RSS by {growth / MiB:.0f} MiB"
