"""Framing TJSONProtocol messages in a byte stream: found whatever the chunking, in linear time."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrift_bridge import ProtocolError
from thrift_bridge._codec._json_stream import MessageReader
from thrift_bridge._codec._json_write import JsonLimits, encode_message

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import Everything
from .jsonvalues import TEXT, structs

R = AllTypes.echo_string_result
# Escaped quotes and backslashes next to quotes and brackets: the cases a split must not miss.
TRICKY = encode_message("echo_string", 2, 5, R(success='a"]\\"}\\\\"[{\\'))


def frames_of(chunks: list[bytes]) -> list[tuple[str, int, int, object]]:
    """Every message found when `chunks` arrive one after another."""
    reader = MessageReader()
    found = []
    for chunk in chunks:
        reader.feed(chunk)
        while (frame := reader.next_message()) is not None:
            found.append((frame.name, frame.message_type, frame.seqid, frame.decode(R)))
    assert reader.buffered == b""
    return found


@pytest.mark.parametrize("split", range(1, len(TRICKY)))
def test_a_message_is_found_wherever_it_is_split(split):
    assert frames_of([TRICKY[:split], TRICKY[split:]]) == frames_of([TRICKY])


def test_a_message_fed_one_byte_at_a_time_is_found_at_its_last_byte():
    reader = MessageReader()
    for byte in TRICKY[:-1]:
        reader.feed(bytes([byte]))
        assert reader.next_message() is None
    reader.feed(TRICKY[-1:])
    frame = reader.next_message()
    assert frame is not None
    assert frame.data == TRICKY
    assert frame.decode(R).success == 'a"]\\"}\\\\"[{\\'


@settings(max_examples=100, deadline=None)
@given(structs(AllTypes.echo_struct_result), TEXT, st.data())
def test_messages_back_to_back_come_out_one_by_one_at_any_chunking(value, text, data):
    first = encode_message("echo_struct", 2, 1, value)
    second = encode_message("echo_string", 2, 2, R(success=text))
    stream = first + second
    cuts = sorted(data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=6)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    reader = MessageReader()
    frames = []
    for chunk in chunks:
        reader.feed(chunk)
        while (frame := reader.next_message()) is not None:
            frames.append(frame)
    assert [f.data for f in frames] == [first, second]
    assert [f.seqid for f in frames] == [1, 2]


def test_bytes_after_a_message_stay_buffered_for_the_next():
    reader = MessageReader()
    reader.feed(TRICKY + b'[1,"ne')
    frame = reader.next_message()
    assert frame is not None
    assert frame.data == TRICKY
    assert reader.buffered == b'[1,"ne'
    assert reader.next_message() is None


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x80\x01\x00\x02\x00\x00\x00\x03add", "starts with"),  # a binary-protocol reply
        (b"HTTP/1.1 500 Internal Server Error\r\n", "starts with"),
        (b' [1,"m",2,0,{}]', "starts with"),
        (b'[1,"m",2,0,{}]]', "more brackets closed"),
        (b'[1, "m",2,0,{}]', "whitespace"),
        (b'[1,"m",2,0,{}\n', "whitespace"),
    ],
)
def test_garbage_is_refused_as_soon_as_it_shows(data, match):
    reader = MessageReader()
    reader.feed(data)
    with pytest.raises(ProtocolError, match=match):
        reader.next_message()


def test_a_message_past_the_size_limit_is_refused_before_it_ends():
    reader = MessageReader(JsonLimits(max_message_size=100))
    reader.feed(b'[1,"echo",2,0,{"0":{"str":"' + b"x" * 60)
    assert reader.next_message() is None
    reader.feed(b"x" * 60)
    with pytest.raises(ProtocolError, match="max_message_size=100"):
        reader.next_message()


@pytest.mark.parametrize(
    "payload",
    [
        'x"\\' * 350_000,  # escaped quotes and backslashes throughout one string
        "]" * 1_000_000,  # brackets inside a string at every chunk boundary
    ],
    ids=["escapes", "brackets"],
)
def test_framing_a_large_message_in_small_chunks_scans_each_byte_once(payload):
    data = encode_message("echo_string", 2, 1, R(success=payload))
    start = time.perf_counter()
    assert frames_of([data])[0][3].success == payload  # type: ignore[attr-defined]
    whole = time.perf_counter() - start
    start = time.perf_counter()
    chunks = [data[at : at + 1024] for at in range(0, len(data), 1024)]  # about 1,000 chunks
    assert frames_of(chunks)[0][3].success == payload  # type: ignore[attr-defined]
    chunked = time.perf_counter() - start
    # Rescanning the buffer at every chunk would cost about 500x the whole parse here.
    assert chunked < 20 * whole + 0.5


def test_a_struct_heavy_message_in_small_chunks_is_found_once():
    value = AllTypes.echo_struct_result(
        success=Everything(inners=[], nested={str(i): [{i}] for i in range(20_000)})
    )
    data = encode_message("echo_struct", 2, 1, value)
    chunks = [data[at : at + 512] for at in range(0, len(data), 512)]
    reader = MessageReader()
    found = []
    for chunk in chunks:
        reader.feed(chunk)
        frame = reader.next_message()
        if frame is not None:
            found.append(frame)
    assert [frame.data for frame in found] == [data]
    assert found[0].decode(AllTypes.echo_struct_result).success.nested == value.success.nested
