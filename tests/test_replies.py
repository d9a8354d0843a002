"""ReplyStream: replies cut and decoded from the bytes an async connection receives.

A reply that comes in many reads must cost O(log n) decode attempts, not one per read (each
attempt decodes from the reply's start); a read short of the transport's read size is the
tail of what the server sent and is always tried at once; a full read that ends a reply is
tried once the connection sees no more bytes follow (`deferred`, `retry`). Counted through
`ReplyStream.decode_attempts`, the documented counter for this.
"""

from __future__ import annotations

import asyncio
import math
import zlib
from typing import Any

import pytest
from thrift.protocol import fastbinary

from thrift_bridge import AsyncClient, parse_url
from thrift_bridge._async._methods import method_table
from thrift_bridge._codec._replies import ReplyStream
from thrift_bridge.testing import serve

from .aio import bounded
from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import Inner
from .handlers import AllTypesHandler

PIECE = 64 * 1024


class Awaiting:
    """The call awaiting a reply, as `ReplyStream` sees it."""

    def __init__(self, info: Any, name: str):
        self.name = name
        self.result_class = info.result_class
        self.unpack = info.unpack
        self.json = None


def big_reply(url: str, seqid: int, count: int) -> tuple[bytes, list[Inner], Any, Awaiting]:
    """A reply to `echo_list` of `count` structs, coded as the server codes it."""
    endpoint = parse_url(url)
    info = method_table(AllTypes.Client, None, endpoint)["echo_list"]
    value = [Inner(i) for i in range(count)]
    result = info.result_class(success=value)
    protocol = 2 if endpoint.protocol == "compact" else 0
    encode = fastbinary.encode_compact if protocol else fastbinary.encode_binary
    body = encode(result, [info.result_class, info.result_class.thrift_spec])
    return info.fast.reply_head(seqid) + body, value, info.fast, Awaiting(info, "echo_list")


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("protocol", ["binary", "compact"])
@pytest.mark.parametrize("in_order", [True, False], ids=["c-decoder", "general-way"])
def test_a_large_reply_in_full_reads_costs_log_n_decode_attempts(protocol, in_order):
    url = f"tcp://127.0.0.1:1?protocol={protocol}&max_message_size=100000000"
    data, value, method, call = big_reply(url, 7, 300_000)
    reads = pieces(data, PIECE)
    assert len(reads) >= 16
    assert len(reads[-1]) < PIECE
    stream = ReplyStream(parse_url(url), read_size=PIECE)
    awaited = {7: call}.get
    got = []
    for read in reads:
        stream.feed(read)
        decoded = stream.next_reply(awaited, 7, method) if in_order else stream.next_reply(awaited)
        if decoded is not None:
            got.append(decoded)
    assert [(d.seqid, d.ok, d.value) for d in got] == [(7, True, value)]
    assert stream.buffered == 0
    # Doubling: one try on the first read, one per doubling, one on the short tail.
    assert stream.decode_attempts <= math.ceil(math.log2(len(reads))) + 2


def test_a_zlib_reply_in_full_reads_costs_log_n_decode_attempts():
    url = "tcp://127.0.0.1:1?transport=zlib&max_message_size=100000000"
    data, value, method, call = big_reply(url, 3, 200_000)
    squeeze = zlib.compressobj(0)  # stored: as many bytes on the wire as inflated
    packed = squeeze.compress(data) + squeeze.flush(zlib.Z_SYNC_FLUSH)
    reads = pieces(packed, PIECE)
    stream = ReplyStream(parse_url(url), read_size=PIECE)
    got = []
    for read in reads:
        stream.feed(read)
        decoded = stream.next_reply({3: call}.get, 3, method)
        if decoded is not None:
            got.append(decoded.value)
    assert got == [value]
    assert stream.decode_attempts <= math.ceil(math.log2(len(reads))) + 2


def test_every_short_read_is_tried_at_once():
    url = "tcp://127.0.0.1:1?max_message_size=100000000"
    data, value, method, call = big_reply(url, 1, 50_000)
    reads = pieces(data, PIECE - 1)  # all short of the read size: each may be the tail
    stream = ReplyStream(parse_url(url), read_size=PIECE)
    for i, read in enumerate(reads):
        stream.feed(read)
        decoded = stream.next_reply({1: call}.get, 1, method)
        assert (decoded is not None) == (i == len(reads) - 1)
    assert decoded is not None
    assert decoded.value == value
    assert stream.decode_attempts == len(reads)


def test_a_full_read_that_ends_a_reply_is_deferred_until_retry():
    url = "tcp://127.0.0.1:1?max_message_size=100000000"
    data, value, method, call = big_reply(url, 9, 50_000)
    size = len(data) // 5
    reads = pieces(data[: 5 * size], size)  # five full reads ...
    reads[-1] += data[5 * size :]  # ... the last one ending the reply: no short tail
    stream = ReplyStream(parse_url(url), read_size=size)
    deferred = []
    for read in reads:
        stream.feed(read)
        assert stream.next_reply({9: call}.get, 9, method) is None
        deferred.append(stream.deferred)
    # Tried at 1 and 2 reads (twice the first try), put off at 3, tried at 4, put off at 5.
    assert deferred == [False, False, True, False, True]
    assert stream.decode_attempts == 3
    stream.retry()  # what the connection does once no more bytes follow
    decoded = stream.next_reply({9: call}.get, 9, method)
    assert decoded is not None
    assert decoded.value == value
    assert not stream.deferred
    assert stream.buffered == 0


def test_pipelined_replies_in_one_read_are_decoded_in_order_without_loss():
    url = "tcp://127.0.0.1:1"
    replies = [big_reply(url, seqid, seqid) for seqid in range(1, 301)]
    stream = ReplyStream(parse_url(url))
    calls = {seqid: reply[3] for seqid, reply in enumerate(replies, 1)}
    stream.feed(b"".join(reply[0] for reply in replies))
    got = []
    while calls:
        seqid = next(iter(calls))
        decoded = stream.next_reply(calls.get, seqid, replies[seqid - 1][2])
        assert decoded is not None
        del calls[decoded.seqid]
        got.append((decoded.seqid, decoded.value))
    assert got == [(seqid, reply[1]) for seqid, reply in enumerate(replies, 1)]
    assert stream.buffered == 0
    assert stream.decode_attempts == 300


@pytest.mark.anyio
@pytest.mark.parametrize("wire", [{}, {"protocol": "compact"}, {"transport": "zlib"}])
async def test_a_megabyte_reply_arrives_whole_through_the_async_client(wire):
    value = [Inner(i) for i in range(100_000)]  # about 0.7 MB in binary: a dozen reads or more
    with serve(AllTypes.Processor(AllTypesHandler()), **wire) as server:
        url = server.url + ("&" if "?" in server.url else "?") + "max_message_size=100000000"
        async with AsyncClient(AllTypes, url, timeout=30) as client:
            # Apache's Python server codes the large argument and reply slowly (seconds with
            # zlib, more on a loaded machine): a wider bound than `bounded`'s.
            assert await asyncio.wait_for(client.echo_list(value), 60) == value
            assert await bounded(client.add(1, 2)) == 3  # the connection is still in step
