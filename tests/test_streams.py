"""`_wire._streams.FramedTransport` on real socket pairs: frames split, joined, refused.

The framed transport is tested directly: frames arriving a byte at a time, two frames in one
segment, a message spanning frames are byte-level cases a loopback server cannot produce on
demand through a client.
"""

from __future__ import annotations

import contextlib
import socket
import struct

import pytest

from thrift_bridge import ProtocolError
from thrift_bridge._wire._socket import SocketIO
from thrift_bridge._wire._streams import FramedTransport


@pytest.fixture
def pair():
    """A connected unix socket pair; both ends closed afterwards."""
    ours, theirs = socket.socketpair()
    with contextlib.closing(ours), contextlib.closing(theirs):
        yield ours, theirs


def frame(payload: bytes) -> bytes:
    return struct.pack("!i", len(payload)) + payload


def test_framed_reads_a_frame_arriving_one_byte_at_a_time(pair):
    ours, theirs = pair
    framed = FramedTransport(SocketIO(ours, 2.0), 1024)
    framed.io.begin_call()
    for byte in frame(b"hello world"):
        theirs.send(bytes([byte]))
    assert framed.readAll(11) == b"hello world"
    assert framed.is_usable()


def test_framed_keeps_bytes_past_a_frame_for_the_next_one(pair):
    ours, theirs = pair
    framed = FramedTransport(SocketIO(ours, 2.0), 1024)
    framed.io.begin_call()
    theirs.sendall(frame(b"first") + frame(b"second"))  # one segment, two frames
    assert framed.read(100) == b"first"
    assert not framed.is_usable()  # idle with a frame nobody asked for: out of step
    assert framed.read(100) == b"second"  # from what the first recv brought in
    assert framed.is_usable()


def test_framed_message_spanning_frames_is_joined(pair):
    ours, theirs = pair
    framed = FramedTransport(SocketIO(ours, 2.0), 1024)
    framed.io.begin_call()
    theirs.sendall(frame(b"abc") + frame(b"defgh"))
    assert framed.readAll(8) == b"abcdefgh"


def test_framed_refuses_a_frame_over_max_frame_size_by_its_header(pair):
    ours, theirs = pair
    framed = FramedTransport(SocketIO(ours, 2.0), 100)
    framed.io.begin_call()
    theirs.sendall(frame(b"x" * 101))
    with pytest.raises(ProtocolError, match=r"frame size 101 is outside 0\.\.max_frame_size=100"):
        framed.read(10)
