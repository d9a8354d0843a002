"""Byte-level transports under the Thrift protocols: buffered, framed and zlib over a socket.

Each is a `CReadableTransport`, so Apache's C codec decodes straight from our read buffer.
Apache's own classes are replaced here because `TBufferedTransport.cstringio_refill` grows
large replies by repeated concatenation (quadratic), `TFramedTransport` accepts any frame
size, and `TZlibTransport` counts every byte a connection ever received against one limit and
loses data with the C codec on replies over about 4 KiB.
"""

from __future__ import annotations

import math
import select
import socket
import struct
import sys
import time
import zlib
from io import BytesIO
from typing import Any

from thrift.transport.TTransport import CReadableTransport, TTransportBase, TTransportException

from .._exceptions import ProtocolError, WriteTimeout

__all__ = [
    "READ_SIZE",
    "BufferedTransport",
    "FramedTransport",
    "SocketIO",
    "StackTransport",
    "ZlibTransport",
]

READ_SIZE = 65536
_DEADLINE_SLACK = 0.05  # shorten the socket timeout only when it matters, not on every recv
_FRAME_HEADER = struct.Struct("!i")
_GATHER_SIZE = 65536  # below this, one copy is cheaper than a scatter-gather send
_FIRST_GROWTH = 1 << 20  # a large read buffer starts at 1 MiB, then doubles as bytes arrive


def _timed_out(timeout: float) -> socket.timeout:
    """The error for a reply that did not arrive within the call's timeout."""
    return socket.timeout(f"no complete reply within {timeout:g}s")


def _closed_by_peer() -> TTransportException:
    """The error for a connection the peer closed while a reply was due."""
    return TTransportException(TTransportException.END_OF_FILE, "the peer closed the connection")


_TIMEVAL = struct.Struct("@ll")  # struct timeval: seconds, microseconds


def _waits_in_kernel(sock: socket.socket) -> bool:
    """Whether `sock` can take its timeouts as SO_RCVTIMEO/SO_SNDTIMEO (a plain stdlib socket).

    Python's own socket timeouts poll() before every send and recv: two extra system calls a
    call. TLS sockets and cooperative ones (gevent, eventlet) keep Python's timeouts.
    """
    # By module, not `socket.socket`: monkey-patching makes that name gevent's own class.
    return type(sock).__module__ == "socket" and hasattr(socket, "SO_RCVTIMEO")


class SocketIO:
    """A connected socket with a per-call reply deadline and a per-call byte budget."""

    __slots__ = (
        "_in_kernel",
        "_op_timeout",
        "_poller",
        "_write_poller",
        "deadline",
        "max_message_size",
        "received",
        "sent",
        "sock",
        "started",
        "timeout",
    )

    def __init__(self, sock: socket.socket, timeout: float, max_message_size: int = 2**31 - 1):
        self.sock = sock
        self.timeout = timeout
        self.deadline = math.inf
        self.sent = self.started = False
        self.received = 0
        self.max_message_size = max_message_size
        self._poller = select.poll()
        self._poller.register(sock, select.POLLIN)
        self._write_poller: Any = None  # made on the first send that finds no room
        self._in_kernel = _waits_in_kernel(sock)
        if self._in_kernel:
            sock.settimeout(None)  # blocking: the kernel enforces the timeouts set below
        self._set_timeout(timeout)

    def _set_timeout(self, seconds: float) -> None:
        """Bound each following send and recv by `seconds`."""
        if self._in_kernel:
            whole = int(seconds)
            micros = max(int((seconds - whole) * 1e6), 0 if whole else 1)  # 0 would mean never
            value = _TIMEVAL.pack(whole, micros)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
        else:
            self.sock.settimeout(seconds)
        self._op_timeout = seconds

    def begin_call(self) -> None:
        """Start the clock and the byte budget for one call."""
        self.deadline = time.monotonic() + self.timeout
        self.sent = self.started = False
        self.received = 0
        if self._op_timeout != self.timeout:
            self._set_timeout(self.timeout)

    def _within_deadline(self) -> bool:
        """Bound the next send or recv by what is left of the call; False once nothing is."""
        remaining = self.deadline - time.monotonic()
        if remaining < self._op_timeout - _DEADLINE_SLACK:
            if remaining <= 0:
                return False
            self._set_timeout(remaining)
        return True

    def _count(self, n: int) -> None:
        """Account for `n` received bytes; raise on EOF or past the message budget."""
        if n == 0:
            raise _closed_by_peer()
        self.received += n
        if self.received > self.max_message_size:
            raise self._too_big()

    def _too_big(self) -> ProtocolError:
        """The error for a reply past the per-call byte budget."""
        return ProtocolError(f"reply exceeds max_message_size={self.max_message_size} bytes")

    def recv(self, n: int) -> bytes:
        """Up to `n` bytes (at most `READ_SIZE`), at least one."""
        # Only near the deadline does the recv get less than the whole op timeout (or none).
        near = self.deadline - time.monotonic() < self._op_timeout - _DEADLINE_SLACK
        if near and not self._within_deadline():
            raise _timed_out(self.timeout)
        try:
            # Never more than READ_SIZE: recv allocates its whole argument before any byte
            # arrives, and a peer's declared length must not decide how much we allocate.
            data = self.sock.recv(min(n, READ_SIZE))
        except BlockingIOError:  # SO_RCVTIMEO expired
            raise _timed_out(self.timeout) from None
        if not data:
            raise _closed_by_peer()
        self.received += len(data)
        if self.received > self.max_message_size:
            raise self._too_big()
        return data

    def recv_buffer(self, n: int, prefix: bytes = b"") -> BytesIO:
        """A read buffer of `prefix` and exactly `n` more bytes, received straight into it.

        The buffer grows as bytes arrive (doubling from `_FIRST_GROWTH`), never to a length
        the peer has only declared: a 40-byte reply announcing a 99 MB string costs 1 MiB.
        """
        buf = BytesIO(prefix)
        got = len(prefix)
        end = got + n
        size = got
        while got < end:
            if got == size:
                size = min(end, max(2 * size, got + _FIRST_GROWTH))
                buf.seek(size - 1)
                buf.write(b"\0")  # grows the buffer; the socket then fills it in place
            if not self._within_deadline():
                raise _timed_out(self.timeout)
            # Views of `buf` never outlive this block, on any path: an export left alive (in a
            # traceback, say) makes the buffer unresizable and crashed Python 3.12 at exit.
            with buf.getbuffer() as whole, whole[got:size] as room:
                try:
                    received = self.sock.recv_into(room)
                except BlockingIOError:  # SO_RCVTIMEO expired
                    raise _timed_out(self.timeout) from None
            self._count(received)
            got += received
        buf.seek(0)
        return buf

    def _send_timed_out(self, sent: int, total: int) -> WriteTimeout:
        """The error for a request the peer did not take in full before the deadline."""
        return WriteTimeout(
            f"the request could not be sent within {self.timeout:g}s "
            f"(the peer took {sent} of {total} bytes)"
        )

    def sendall(self, data: Any) -> None:
        """Send every byte of `data` before the call's deadline; marks the request written."""
        self._send_views([memoryview(data)])
        self.sent = True

    def send_parts(self, head: bytes, body: bytes, *more: bytes) -> None:
        """Send `head`, `body` and `more`; large parts go out without being copied together."""
        if not more and len(body) < _GATHER_SIZE:
            self._send_views([memoryview(head + body)])
        else:
            self._send_views([memoryview(part) for part in (head, body, *more) if part])
        self.sent = True

    def _send_views(self, views: list[memoryview]) -> None:
        """Send every byte of `views` (scatter-gather where the socket can) before the deadline.

        `sendall` and SO_SNDTIMEO bound each send() call, not the request (and on a unix
        socket each chunk of one): a peer taking a few bytes now and then kept a 1 s call
        sending for minutes. Kernel-timeout sockets therefore send without blocking and wait
        for room with poll() bounded by what is left of the deadline; the others get their
        timeout shortened to it before each send.
        """
        total = sum(map(len, views))
        sent = 0
        self.started = True  # from here on, part of the request may be on the wire
        try:
            while views:
                # Python-timeout sockets: each send gets what is left of the deadline.
                if not (self._in_kernel or self._within_deadline()):
                    raise self._send_timed_out(sent, total)
                try:
                    done = self._send_some(views)
                except BlockingIOError:  # no room in the socket buffer now
                    self._wait_writable(sent, total)
                    continue
                except socket.timeout:  # Python's timeout (TLS, gevent)
                    raise self._send_timed_out(sent, total) from None
                sent += done
                while done:
                    if done >= len(views[0]):
                        done -= len(views.pop(0))
                    else:
                        views[0] = views[0][done:]
                        done = 0
        finally:
            for view in views:
                view.release()

    def _send_some(self, views: list[memoryview]) -> int:
        """One send of as much of `views` as the socket takes now (never blocking in-kernel)."""
        flags = socket.MSG_DONTWAIT if self._in_kernel else 0
        if len(views) == 1:
            return int(self.sock.send(views[0], flags))
        try:
            return int(self.sock.sendmsg(views, (), flags))
        except NotImplementedError:  # TLS sockets have no sendmsg: one copy, then send
            joined = memoryview(b"".join(views))
            views[:] = [joined]
            return int(self.sock.send(joined))

    def _wait_writable(self, sent: int, total: int) -> None:
        """Wait, at most until the call's deadline, for room in the socket's send buffer."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._send_timed_out(sent, total)
        if self._write_poller is None:
            self._write_poller = select.poll()
            self._write_poller.register(self.sock, select.POLLOUT)
        if not self._write_poller.poll(math.ceil(remaining * 1000)):
            raise self._send_timed_out(sent, total)

    def is_usable(self) -> bool:
        """Whether the idle socket is still open and holds no unexpected bytes."""
        try:
            if not self._poller.poll(0):
                return True
        except (OSError, ValueError):
            return False
        tls = sys.modules.get("ssl")  # a TLS socket means ssl is loaded; plain TCP never loads it
        if tls is None or not isinstance(self.sock, tls.SSLSocket):
            return False  # readable while idle: EOF, reset, or garbage
        # TLS 1.3 session tickets make an idle socket readable; only app data or EOF is fatal.
        self.sock.setblocking(False)
        try:
            self.sock.recv(1)  # any application byte or EOF while idle means out of step
            return False
        except tls.SSLWantReadError:
            return True
        except OSError:
            return False
        finally:
            self.sock.settimeout(self._op_timeout)

    def close(self) -> None:
        """Close the socket (no TLS close_notify wait)."""
        self.sock.close()

    def fileno(self) -> int:
        """The socket's file descriptor, or -1 once closed."""
        return self.sock.fileno()


class StackTransport(TTransportBase, CReadableTransport):  # type: ignore[misc]
    """A transport we own: readable from C, with per-call bookkeeping and a liveness check."""

    io: Any

    def isOpen(self) -> bool:  # noqa: N802 - Apache's name
        return bool(self.io.fileno() >= 0)

    def open(self) -> None:
        """Connections are opened by `open_transport`; reopening is never done in place."""

    def close(self) -> None:
        self.io.close()

    def begin_call(self) -> None:
        """Reset the deadline and budgets before one call."""
        self.io.begin_call()

    @property
    def request_sent(self) -> bool:
        """Whether every byte of the current call's request has been written."""
        return bool(self.io.sent)

    @property
    def request_started(self) -> bool:
        """Whether any byte of the current call's request may have reached the wire."""
        return bool(self.io.started)

    def clear_request(self) -> None:
        """Drop whatever the current call wrote before it failed (nothing reached the wire)."""
        self._wbuf = bytearray()

    def is_usable(self) -> bool:
        """Whether an idle connection can carry another call."""
        return bool(self.io.is_usable())


class _MessageTransport(StackTransport):
    """A buffered or framed transport: whole messages out, the read buffer rewindable."""

    _rbuf: BytesIO

    def readAll(self, sz: int) -> bytes:  # noqa: N802 - Apache's name
        data = self._rbuf.read(sz)
        if len(data) == sz:
            return data
        refilled: BytesIO = self.cstringio_refill(data, sz)
        return refilled.read(sz)

    def is_usable(self) -> bool:
        # Bytes left after a reply are garbage: reading one costs nothing, the connection goes.
        return not self._rbuf.read(1) and self.io.is_usable()

    def unread(self, data: bytes) -> None:
        """Put `data`, just read, back in front of the read buffer."""
        self._rbuf = BytesIO(data + self._rbuf.read())

    def send_message(self, head: bytes, body: bytes, *more: bytes) -> None:
        """Send one whole message made of `head`, `body` and `more`, past any buffered writes."""
        raise NotImplementedError


class BufferedTransport(_MessageTransport):
    """Buffered reads and writes straight on a socket (the wire format of a raw socket)."""

    def __init__(self, io: SocketIO, max_message_size: int):
        self.io = io
        io.max_message_size = max_message_size
        self._rbuf = BytesIO(b"")
        self._wbuf = bytearray()

    def read(self, sz: int) -> bytes:
        data = self._rbuf.read(sz)
        if data:
            return data
        self._rbuf = BytesIO(self.io.recv(max(sz, READ_SIZE)))
        return self._rbuf.read(sz)

    def write(self, buf: bytes) -> None:
        self._wbuf += buf

    def send_message(self, head: bytes, body: bytes, *more: bytes) -> None:
        self.io.send_parts(head, body, *more)

    def flush(self) -> None:
        try:
            self.io.sendall(self._wbuf)
        finally:
            self._wbuf = bytearray()

    @property
    def cstringio_buf(self) -> BytesIO:
        return self._rbuf

    def cstringio_refill(self, partialread: bytes, reqlen: int) -> BytesIO:
        need = reqlen - len(partialread)
        if not partialread and need <= READ_SIZE:
            chunk = self.io.recv(READ_SIZE)
            if len(chunk) >= need:  # the usual small reply: one recv, buffered without a copy
                self._rbuf = BytesIO(chunk)
                return self._rbuf
            partialread, need = chunk, need - len(chunk)
        if need > READ_SIZE:  # a large reply: received once, in place, at its final size
            self._rbuf = self.io.recv_buffer(need, partialread)
            return self._rbuf
        buf = bytearray(partialread)
        while len(buf) < reqlen:
            buf += self.io.recv(READ_SIZE)
        self._rbuf = BytesIO(buf)
        return self._rbuf


class FramedTransport(_MessageTransport):
    """Each message preceded by its 4-byte big-endian length, capped at `max_frame_size`."""

    def __init__(self, io: SocketIO, max_frame_size: int):
        self.io = io
        io.max_message_size = max_frame_size + 4
        self.max_frame_size = max_frame_size
        self._first_read = min(READ_SIZE, max_frame_size + 4)
        self._rbuf = BytesIO(b"")
        self._wbuf = bytearray(4)
        self._spare = b""  # bytes received past the last frame: the start of the next one

    def _read_frame(self, prefix: bytes = b"") -> BytesIO:
        """The next frame (after `prefix`): one recv for a small frame, header and body."""
        self.io.received = 0  # the byte budget is per frame
        data = self._spare or self.io.recv(self._first_read)
        while len(data) < 4:
            data += self.io.recv(4 - len(data))
        (size,) = _FRAME_HEADER.unpack_from(data)
        if not 0 <= size <= self.max_frame_size:
            raise ProtocolError(
                f"frame size {size} is outside 0..max_frame_size={self.max_frame_size}"
            )
        self.io.received = len(data) - 4  # this frame's bytes so far; its size was checked above
        end = 4 + size
        if len(data) >= end:
            self._spare = data[end:]
            self._rbuf = BytesIO(prefix + data[4:end])
        else:
            self._spare = b""
            self._rbuf = self.io.recv_buffer(end - len(data), prefix + data[4:])
        return self._rbuf

    def is_usable(self) -> bool:
        return not self._spare and super().is_usable()

    def read(self, sz: int) -> bytes:
        data = self._rbuf.read(sz)
        if data:
            return data
        return bytes(self._read_frame().read(sz))

    def write(self, buf: bytes) -> None:
        self._wbuf += buf

    def clear_request(self) -> None:
        self._wbuf = bytearray(4)

    def _check_request(self, size: int) -> None:
        """Refuse a request frame the peer would refuse."""
        if size > self.max_frame_size:
            raise ProtocolError(
                f"request frame of {size} bytes exceeds max_frame_size={self.max_frame_size}"
            )

    def flush(self) -> None:
        wbuf = self._wbuf
        self._wbuf = bytearray(4)
        size = len(wbuf) - 4
        self._check_request(size)
        _FRAME_HEADER.pack_into(wbuf, 0, size)
        self.io.sendall(wbuf)

    def send_message(self, head: bytes, body: bytes, *more: bytes) -> None:
        size = len(head) + len(body) + sum(map(len, more))
        self._check_request(size)
        self.io.send_parts(_FRAME_HEADER.pack(size) + head, body, *more)

    @property
    def cstringio_buf(self) -> BytesIO:
        return self._rbuf

    def cstringio_refill(self, partialread: bytes, reqlen: int) -> BytesIO:
        buf = self._read_frame(partialread)
        while len(buf.getbuffer()) < reqlen:
            buf = self._read_frame(bytes(buf.getbuffer()))
        return buf


class ZlibTransport(StackTransport):
    """A zlib stream (sync-flushed per message) over a buffered or framed transport.

    The size limit applies to each reply's decompressed bytes, not to the connection's life.
    """

    def __init__(self, inner: BufferedTransport | FramedTransport, max_message_size: int):
        self.io = inner.io
        self._inner = inner
        self.max_message_size = max_message_size
        self._compressor = zlib.compressobj()
        self._decompressor = zlib.decompressobj()
        self._pending = b""
        self._produced = 0
        self._rbuf = BytesIO(b"")
        self._wbuf = bytearray()

    def begin_call(self) -> None:
        self.io.begin_call()
        self._produced = 0

    def _inflate(self, need: int) -> bytes:
        """At least `need` more decompressed bytes (fewer never: blocks for input)."""
        pieces: list[bytes] = []
        got = 0
        while got < need:
            data = self._pending or self._inner.read(READ_SIZE)
            room = self.max_message_size - self._produced
            try:
                # Inflate no more than this read needs: a bomb never fills memory up to the cap.
                out = self._decompressor.decompress(data, min(room + 1, max(need - got, READ_SIZE)))
            except zlib.error as exc:
                raise ProtocolError(f"the reply is not a valid zlib stream: {exc}") from exc
            self._pending = self._decompressor.unconsumed_tail
            self._produced += len(out)
            if self._produced > self.max_message_size:
                raise ProtocolError(
                    f"decompressed reply exceeds max_message_size={self.max_message_size} bytes"
                )
            if self._decompressor.eof:
                raise ProtocolError(
                    "the zlib stream ended; the peer is not speaking zlib transport"
                )
            if out:
                pieces.append(out)
                got += len(out)
        return b"".join(pieces)

    def read(self, sz: int) -> bytes:
        data = self._rbuf.read(sz)
        if data:
            return data
        self._rbuf = BytesIO(self._inflate(1))
        return self._rbuf.read(sz)

    def write(self, buf: bytes) -> None:
        self._wbuf += buf

    def flush(self) -> None:
        data = self._compressor.compress(self._wbuf) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        self._wbuf = bytearray()
        self._inner.write(data)
        self._inner.flush()

    @property
    def cstringio_buf(self) -> BytesIO:
        return self._rbuf

    def cstringio_refill(self, partialread: bytes, reqlen: int) -> BytesIO:
        self._rbuf = BytesIO(partialread + self._inflate(reqlen - len(partialread)))
        return self._rbuf

    def is_usable(self) -> bool:
        # Bytes left after a reply are garbage: reading one costs nothing, the connection goes.
        return not self._pending and not self._rbuf.read(1) and self._inner.is_usable()
