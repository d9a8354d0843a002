"""Framing TJSONProtocol messages in a byte stream: found whatever the chunking, in linear time."""

from __future__ import annotations

import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from thrift_bridge import ProtocolError
from thrift_bridge._codec._json_frame import (
    outside_strings,
    outside_strings_exactly,
    returns_to_zero,
    window_outside_strings,
)
from thrift_bridge._codec._json_stream import Frame, MessageReader
from thrift_bridge._codec._json_write import JsonLimits, encode_message

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import Everything, Inner
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
    frames = frames_cut_at(stream, cuts)
    assert [f.data for f in frames] == [first, second]
    assert [f.seqid for f in frames] == [1, 2]


def frames_cut_at(stream: bytes, cuts: list[int]) -> list[Frame]:
    """Every frame found when `stream` arrives in pieces cut at `cuts` (sorted)."""
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    reader = MessageReader()
    frames = []
    for chunk in chunks:
        reader.feed(chunk)
        while (frame := reader.next_message()) is not None:
            frames.append(frame)
    return frames


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


# Strings that make windows of short strings go wrong if anything can: brackets, whitespace,
# escaped quotes and backslashes inside; empty ones; some past the long-string threshold.
WINDOW_TEXT = (
    TEXT
    | st.text(st.sampled_from('"\\[]{} \t\nx'), max_size=12)
    | st.integers(200, 700).map(lambda n: "x" * n + "]")
    | st.integers(200, 700).map(lambda n: "[ " * (n // 2))
)


@settings(max_examples=150, deadline=None)
@given(st.lists(WINDOW_TEXT, min_size=1, max_size=120), st.data())
def test_struct_heavy_messages_past_a_window_are_framed_exactly_at_any_chunking(labels, data):
    first = encode_message(
        "echo_list", 2, 1, AllTypes.echo_list_result(success=[Inner(label=t) for t in labels])
    )
    second = encode_message("echo_string", 2, 2, R(success=labels[-1]))
    stream = first + second
    size = data.draw(st.sampled_from([7, 100, 511, 512, 513, 1500, 9000, len(stream)]))
    cuts = sorted(
        set(range(size, len(stream), size))
        | set(data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=3)))
    )
    frames = frames_cut_at(stream, cuts)
    assert [f.data for f in frames] == [first, second]
    assert [item.label for item in frames[0].decode(AllTypes.echo_list_result).success] == labels


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from([b'"', b"\\", b"[", b"]", b"{", b"}", b" ", b"\n", b"x", b","]), max_size=80
    ).map(b"".join)
)
def test_the_window_scan_sees_the_brackets_and_whitespace_the_exact_one_sees(text):
    # Any bytes starting outside a string: what the fast scan keeps of them outside strings
    # is exactly what the string-by-string scan keeps, and it ends inside a string as often.
    region = bytearray(text)
    structure = b'"[]{} \t\n\r'
    exact, exact_inside = outside_strings_exactly(region)
    for fast, inside in (
        outside_strings(region),
        window_outside_strings(region),
        outside_strings(bytearray(b"x" * 600) + region),
    ):
        assert inside == exact_inside
        assert bytes(fast).translate(None, bytes(set(range(256)) - set(structure))) == bytes(
            exact
        ).translate(None, bytes(set(range(256)) - set(structure)))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(b"[]{}"), max_size=60).map(bytes), st.integers(0, 8))
@example(b"[" * 40 + b"]" * 41, 1)  # deeper than the pairs peeled before the step-by-step count
@example(b"[" * 40 + b"]" * 40, 1)
def test_the_peeled_bracket_count_falls_to_zero_exactly_when_the_running_depth_does(
    brackets, depth
):
    running, falls = depth, False
    for byte in brackets:
        running += 1 if byte in b"[{" else -1
        falls = falls or running <= 0
    assert returns_to_zero(brackets, depth) == falls
