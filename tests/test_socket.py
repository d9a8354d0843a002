"""`_wire._socket.SocketIO` on real sockets: kernel timeouts, one deadline per call.

SocketIO is tested directly: how it waits (in the kernel, with no poll before each send and
recv, a README promise) cannot be seen through a client, and each deadline case is one
socket operation here rather than a whole call.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time

import pytest

from thrift_bridge import ReadTimeout, WriteTimeout
from thrift_bridge._wire._socket import _TICK_SLACK as TICK_SLACK
from thrift_bridge._wire._socket import SocketIO

#: How late past its deadline a timeout may fire (scheduling on a loaded 2-core machine).
SLACK = 1.0


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
    # Set early, as the kernel reads it: in whole ticks (up to 10 ms); a recv polls the rest.
    assert kernel_timeout(ours, socket.SO_RCVTIMEO) == pytest.approx(2.5 - TICK_SLACK, abs=0.011)
    io.begin_call()
    assert io.is_usable()


def test_a_silent_peer_times_out_at_the_deadline_as_read_timeout(pair):
    ours, _ = pair
    io = SocketIO(ours, 0.2)
    io.begin_call()
    start = time.monotonic()
    with pytest.raises(ReadTimeout, match=r"no complete reply within 0\.2s"):
        io.recv(10)
    elapsed = time.monotonic() - start
    assert elapsed >= 0.19  # not before the deadline (the kernel's timer may round down)
    assert elapsed < 0.2 + SLACK
    io.begin_call()  # the next call gets the whole timeout again
    assert kernel_timeout(ours, socket.SO_RCVTIMEO) == pytest.approx(0.2 - TICK_SLACK, abs=0.011)


@pytest.mark.parametrize("timeout", [0.01, 0.05], ids=["shorter-than-a-tick", "longer"])
def test_a_silent_peer_times_out_not_before_the_deadline(pair, timeout):
    """Without the kernel's timer (too short for its tick) or with it, set early."""
    ours, _ = pair
    io = SocketIO(ours, timeout)
    io.begin_call()
    start = time.monotonic()
    with pytest.raises(ReadTimeout):
        io.recv(10)
    assert time.monotonic() - start >= timeout


def test_bytes_already_there_are_read_without_the_kernel_timer(pair):
    ours, theirs = pair
    io = SocketIO(ours, 0.01)
    io.begin_call()
    theirs.send(b"abc")
    assert io.recv(10) == b"abc"


#: A call timeout too short for the kernel's timer (under `_TICK_SLACK`): every wait polls.
SHORT = 0.029


@pytest.mark.parametrize("large", [False, True], ids=["recv", "recv-buffer"])
def test_bytes_that_come_while_a_short_timeout_polls_are_read(pair, large):
    """The read after the poll, for a small reply and for a large one read into its buffer."""
    ours, theirs = pair
    io = SocketIO(ours, SHORT)
    io.begin_call()
    theirs.send(b"ab")
    sender = threading.Timer(0.001, theirs.send, (b"cd",))  # within the call's 29 ms
    sender.start()
    try:
        if large:
            assert io.recv_buffer(2, io.recv(2)).getvalue() == b"abcd"
        else:
            assert io.recv(2) == b"ab"
            assert io.recv(10) == b"cd"
    finally:
        sender.join()


def test_bytes_that_come_while_the_recv_waits_are_read(pair):
    ours, theirs = pair
    io = SocketIO(ours, 5.0)
    io.begin_call()
    sender = threading.Timer(0.001, theirs.send, (b"abc",))
    sender.start()
    try:
        assert io.recv(10) == b"abc"
    finally:
        sender.join()


def test_a_reply_trickling_in_byte_by_byte_still_ends_at_the_call_deadline(pair):
    ours, theirs = pair
    io = SocketIO(ours, 0.3)
    received = []

    def read_trickle() -> None:
        for _ in range(100):  # a byte every 50 ms: each recv succeeds, the whole never does
            theirs.send(b"x")
            received.append(io.recv(1))
            time.sleep(0.05)  # the trickle is what is under test

    io.begin_call()
    with pytest.raises(ReadTimeout):
        read_trickle()
    # The deadline is the call's, not each recv's: a 0.3 s call holds about 6 of these reads
    # (fewer on a loaded machine), nowhere near the 100 a per-recv timeout would allow.
    assert 1 <= len(received) < 20


def test_a_peer_that_never_reads_makes_sending_time_out(pair):
    ours, _ = pair
    io = SocketIO(ours, 0.2)
    io.begin_call()
    start = time.monotonic()
    with pytest.raises(WriteTimeout, match="could not be sent within"):
        io.send_parts(b"head", bytes(64 << 20))  # far more than the socket buffers hold
    assert time.monotonic() - start < 0.2 + SLACK
    assert not io.sent


@pytest.fixture
def tls_pair(server_ssl_context, ca_file):
    """A TLS client socket to a raw TLS server running `tls_pair.handle(sock)` on accept."""
    from thrift_bridge.testing import serve_raw

    handlers: list = []

    def handle(sock: socket.socket) -> None:
        handlers[0](sock)

    with serve_raw(handle, scheme="tcps", ssl_context=server_ssl_context) as server:
        context = ssl.create_default_context(cafile=ca_file)
        host, port = server.address[:2]  # type: ignore[str-unpack]

        def connect(handler):
            handlers.append(handler)
            raw = socket.create_connection((host, port))
            return context.wrap_socket(raw, server_hostname="localhost")

        yield connect


def test_tls_sockets_never_block_and_wait_for_the_deadline(tls_pair):
    with tls_pair(lambda sock: sock.recv(1)) as tls:
        io = SocketIO(tls, 0.2)
        assert tls.gettimeout() == 0.0  # no poll() before each send, no failed read per reply
        io.begin_call()
        start = time.monotonic()
        with pytest.raises(ReadTimeout, match=r"no complete reply within 0\.2s"):
            io.recv(10)
        assert 0.15 < time.monotonic() - start < 1.0
        io.begin_call()
        io.send_parts(b"x", b"")
        assert io.sent


def test_a_tls_reply_trickling_in_byte_by_byte_still_ends_at_the_call_deadline(tls_pair):
    def trickle(sock: socket.socket) -> None:
        sock.sendall(b"first")
        for _ in range(100):  # then a record of one byte every 50 ms, for up to 5 s
            time.sleep(0.05)
            try:
                sock.sendall(b"x")
            except OSError:
                return

    with tls_pair(trickle) as tls:
        io = SocketIO(tls, 0.3)
        io.begin_call()
        start = time.monotonic()
        assert io.recv(5) == b"first"
        with pytest.raises(ReadTimeout):
            read_trickle(io)
        assert time.monotonic() - start < 0.6


def read_trickle(io: SocketIO) -> None:
    """Read one byte at a time, 100 times (each recv succeeds; the whole reply never comes)."""
    for _ in range(100):
        io.recv(1)


def test_a_tls_reply_larger_than_a_record_is_received_whole(tls_pair):
    payload = bytes(range(256)) * 4096  # 1 MiB: 64 TLS records

    def send_all(sock: socket.socket) -> None:
        sock.sendall(payload)
        sock.recv(1)

    with tls_pair(send_all) as tls:
        io = SocketIO(tls, 5.0)
        io.begin_call()
        first = io.recv(10)
        rest = io.recv_buffer(len(payload) - len(first), first)
        assert rest.getvalue() == payload
        assert io.is_usable()
