"""SocketIO and FramedTransport on real socket pairs: kernel timeouts, deadlines, frames."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import time

import pytest

from thrift_bridge import ProtocolError, ReadTimeout, WriteTimeout
from thrift_bridge._wire._socket import SocketIO
from thrift_bridge._wire._streams import FramedTransport


@pytest.fixture
def pair():
    """A connected unix socket pair; both ends closed afterwards."""
    ours, theirs = socket.socketpair()
    with contextlib.closing(ours), contextlib.closing(theirs):
        yield ours, theirs


def kernel_timeout(sock: socket.socket, option: int) -> float:
    """The SO_RCVTIMEO / SO_SNDTIMEO value of `sock`, in seconds."""
    seconds, micros = struct.unpack("@ll", sock.getsockopt(socket.SOL_SOCKET, option, 16))
    return seconds + micros / 1e6


def test_plain_sockets_wait_in_the_kernel_without_python_timeouts(pair):
    ours, _ = pair
    io = SocketIO(ours, 2.5)
    assert ours.gettimeout() is None  # no poll() before each send and recv
    assert kernel_timeout(ours, socket.SO_RCVTIMEO) == pytest.approx(2.5)
    assert kernel_timeout(ours, socket.SO_SNDTIMEO) == pytest.approx(2.5)
    io.begin_call()
    assert io.is_usable()


def test_a_silent_peer_times_out_at_the_deadline_as_read_timeout(pair):
    ours, _ = pair
    io = SocketIO(ours, 0.2)
    io.begin_call()
    start = time.monotonic()
    with pytest.raises(ReadTimeout, match=r"no complete reply within 0\.2s"):
        io.recv(10)
    assert 0.15 < time.monotonic() - start < 1.0
    io.begin_call()  # the next call gets the whole timeout again
    assert kernel_timeout(ours, socket.SO_RCVTIMEO) == pytest.approx(0.2)


def test_a_reply_trickling_in_byte_by_byte_still_ends_at_the_call_deadline(pair):
    ours, theirs = pair
    io = SocketIO(ours, 0.3)

    def read_trickle() -> None:
        for _ in range(100):  # a byte every 50 ms: each recv succeeds, the whole never does
            theirs.send(b"x")
            io.recv(1)
            time.sleep(0.05)

    io.begin_call()
    start = time.monotonic()
    with pytest.raises(ReadTimeout):
        read_trickle()
    assert time.monotonic() - start < 0.6


def test_a_peer_that_never_reads_makes_sending_time_out(pair):
    ours, _ = pair
    io = SocketIO(ours, 0.2)
    io.begin_call()
    start = time.monotonic()
    with pytest.raises(WriteTimeout, match="could not be sent within"):
        io.send_parts(b"head", bytes(64 << 20))  # far more than the socket buffers hold
    assert time.monotonic() - start < 2.0
    assert not io.sent


def test_tls_sockets_keep_pythons_timeouts(server_ssl_context, ca_file):
    from thrift_bridge.testing import serve_raw

    def hold(sock: socket.socket) -> None:
        sock.recv(1)

    with serve_raw(hold, scheme="tcps", ssl_context=server_ssl_context) as server:
        context = ssl.create_default_context(cafile=ca_file)
        host, port = server.address[:2]
        with context.wrap_socket(
            socket.create_connection((host, port)), server_hostname="localhost"
        ) as tls:
            io = SocketIO(tls, 0.2)
            assert tls.gettimeout() == pytest.approx(0.2)
            io.begin_call()
            with pytest.raises(ReadTimeout):
                io.recv(10)


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
