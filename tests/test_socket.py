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
import time

import pytest

from thrift_bridge import ReadTimeout, WriteTimeout
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
    elapsed = time.monotonic() - start
    assert elapsed >= 0.19  # not before the deadline (the kernel's timer may round down)
    assert elapsed < 0.2 + SLACK
    io.begin_call()  # the next call gets the whole timeout again
    assert kernel_timeout(ours, socket.SO_RCVTIMEO) == pytest.approx(0.2)


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


def test_tls_sockets_keep_pythons_timeouts(server_ssl_context, ca_file):
    from thrift_bridge.testing import serve_raw

    def hold(sock: socket.socket) -> None:
        sock.recv(1)

    with serve_raw(hold, scheme="tcps", ssl_context=server_ssl_context) as server:
        context = ssl.create_default_context(cafile=ca_file)
        host, port = server.address[:2]  # type: ignore[str-unpack]
        with context.wrap_socket(
            socket.create_connection((host, port)), server_hostname="localhost"
        ) as tls:
            io = SocketIO(tls, 0.2)
            assert tls.gettimeout() == pytest.approx(0.2)
            io.begin_call()
            with pytest.raises(ReadTimeout):
                io.recv(10)
