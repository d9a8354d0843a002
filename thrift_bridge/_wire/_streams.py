"""Byte-level transports under the Thrift protocols: buffered, framed and zlib over an `io`.

The `io` is a `SocketIO` (the sync client) or a memory buffer (the async client's requests).

Each is a `CReadableTransport`, so Apache's C codec decodes straight from our read buffer.
Apache's own classes are replaced here because `TBufferedTransport.cstringio_refill` grows
large replies by repeated concatenation (quadratic), `TFramedTransport` accepts any frame
size, and `TZlibTransport` counts every byte a connection ever received against one limit and
loses data with the C codec on replies over about 4 KiB.
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO
from typing import Any

from thrift.transport.TTransport import CReadableTransport, TTransportBase

from .._exceptions import ProtocolError
from ._socket import READ_SIZE

_DEFLATE_SLICE = 1 << 20  # bytes compressed between two looks at the call's deadline

__all__ = [
    "BufferedTransport",
    "FramedTransport",
    "StackTransport",
    "ZlibTransport",
]

_FRAME_HEADER = struct.Struct("!i")


class StackTransport(TTransportBase, CReadableTransport):  # type: ignore[misc]
    """A transport we own: readable from C, with per-call bookkeeping and a liveness check."""

    io: Any
    _rbuf: BytesIO

    def isOpen(self) -> bool:  # noqa: N802 - Apache's name
        return bool(self.io.fileno() >= 0)

    def open(self) -> None:
        """Connections are opened by `open_transport`; reopening is never done in place."""

    def close(self) -> None:
        self.io.close()

    def begin_call(self, timeout: float | None = None) -> None:
        """Reset the deadline (`timeout` from now; None: the endpoint's) and budgets."""
        self.io.begin_call(timeout)

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

    def reply_head(self) -> bytes:
        """The first bytes of the current call's reply as they came off the socket, for the
        hints on a reply that failed (b"" before any came)."""
        return bytes(self.io.reply_head())

    def unread(self, data: bytes) -> None:
        """Put `data`, just read, back in front of the read buffer."""
        self._rbuf = BytesIO(data + self._rbuf.read())

    def send_message(self, head: bytes, body: bytes, *more: bytes) -> None:
        """Send one whole message made of `head`, `body` and `more`, past any buffered writes."""
        raise NotImplementedError


class _MessageTransport(StackTransport):
    """A buffered or framed transport: whole messages out, the read buffer rewindable."""

    def readAll(self, sz: int) -> bytes:  # noqa: N802 - Apache's name
        data = self._rbuf.read(sz)
        if len(data) == sz:
            return data
        refilled: BytesIO = self.cstringio_refill(data, sz)
        return refilled.read(sz)

    def is_usable(self) -> bool:
        # Bytes left after a reply are garbage: reading one costs nothing, the connection goes.
        return not self._rbuf.read(1) and self.io.is_usable()


class BufferedTransport(_MessageTransport):
    """Buffered reads and writes straight on a socket (the wire format of a raw socket)."""

    def __init__(self, io: Any, max_message_size: int):
        self.io = io
        io.max_message_size = max_message_size
        self._rbuf = BytesIO(b"")
        self._wbuf = bytearray()
        # Every call passes through these two: bound to the socket's, without a frame between.
        self.begin_call = io.begin_call  # type: ignore[method-assign]
        self.send_message = io.send_parts  # type: ignore[method-assign]

    def read(self, sz: int) -> bytes:
        data = self._rbuf.read(sz)
        if data:
            return data
        self._rbuf = BytesIO(self.io.recv(READ_SIZE))  # what came, up to READ_SIZE
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

    def __init__(self, io: Any, max_frame_size: int):
        self.io = io
        io.max_message_size = max_frame_size + 4
        self.max_frame_size = max_frame_size
        self._first_read = min(READ_SIZE, max_frame_size + 4)
        self._rbuf = BytesIO(b"")
        self._wbuf = bytearray(4)
        self._spare = b""  # bytes received past the last frame: the start of the next one
        self.begin_call = io.begin_call  # type: ignore[method-assign]  # without a frame between

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
        # _MessageTransport's check, inline (every checkout passes here), after the spare bytes.
        return not self._spare and not self._rbuf.read(1) and self.io.is_usable()

    def read(self, sz: int) -> bytes:
        data = self._rbuf.read(sz)
        if data:
            return data
        frame: bytes = self._read_frame().read(sz)
        return frame

    def write(self, buf: bytes) -> None:
        self._wbuf += buf

    def clear_request(self) -> None:
        self._wbuf = bytearray(4)

    def _too_large(self, size: int) -> ProtocolError:
        """The error for a request frame the peer would refuse."""
        return ProtocolError(
            f"request frame of {size} bytes exceeds max_frame_size={self.max_frame_size}"
        )

    def flush(self) -> None:
        wbuf = self._wbuf
        self._wbuf = bytearray(4)
        size = len(wbuf) - 4
        if size > self.max_frame_size:
            raise self._too_large(size)
        _FRAME_HEADER.pack_into(wbuf, 0, size)
        self.io.sendall(wbuf)

    def send_message(self, head: bytes, body: bytes, *more: bytes) -> None:
        size = len(head) + len(body)
        if more:  # large parts sent on their own
            size += sum(map(len, more))
        if size > self.max_frame_size:
            raise self._too_large(size)
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

    def __init__(
        self, inner: BufferedTransport | FramedTransport, max_message_size: int, level: int
    ):
        self.io = inner.io
        self._inner = inner
        self.max_message_size = max_message_size
        self._compressor = zlib.compressobj(level)
        self._decompressor = zlib.decompressobj()
        self._pending = b""
        self._produced = 0
        self._rbuf = BytesIO(b"")
        self._wbuf = bytearray()
        #: Raises once the call's deadline has passed (None over memory: the async client).
        self._check_deadline = getattr(self.io, "check_send_deadline", None)

    def begin_call(self, timeout: float | None = None) -> None:
        self.io.begin_call(timeout)
        self._produced = 0

    def _inflate(self, need: int, prefix: bytes = b"") -> bytes:
        """`prefix` and at least `need` more decompressed bytes (never fewer: blocks for input),
        joined once."""
        pieces = [prefix] if prefix else []
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
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def read(self, sz: int) -> bytes:
        data = self._rbuf.read(sz)
        if data:
            return data
        self._rbuf = BytesIO(self._inflate(1))
        return self._rbuf.read(sz)

    def write(self, buf: bytes) -> None:
        self._wbuf += buf

    def flush(self) -> None:
        data = self._deflate((self._wbuf,))
        self._wbuf = bytearray()
        self._inner.write(data)
        self._inner.flush()

    def send_message(self, head: bytes, body: bytes, *more: bytes) -> None:
        # Each part compressed where it lies: a large argument is never copied into one buffer.
        self._inner.send_message(b"", self._deflate((head, body, *more)))

    def _deflate(self, parts: tuple[bytes | bytearray, ...]) -> bytes:
        """`parts` compressed and sync-flushed: one message of the stream.

        Compressing is part of the call: a large request is compressed a slice at a time, and
        past the call's deadline it is not sent (`WriteTimeout`; the stream is then broken
        and the connection goes, as after any timeout).
        """
        compress = self._compressor.compress
        out: list[bytes] = []
        for part in parts:
            if len(part) <= _DEFLATE_SLICE:
                out.append(compress(part))
                continue
            with memoryview(part) as view:
                for start in range(0, len(view), _DEFLATE_SLICE):
                    if self._check_deadline is not None:
                        self._check_deadline(sum(map(len, parts)))
                    out.append(compress(view[start : start + _DEFLATE_SLICE]))
        out.append(self._compressor.flush(zlib.Z_SYNC_FLUSH))
        return b"".join(out)

    @property
    def cstringio_buf(self) -> BytesIO:
        return self._rbuf

    def cstringio_refill(self, partialread: bytes, reqlen: int) -> BytesIO:
        self._rbuf = BytesIO(self._inflate(reqlen - len(partialread), partialread))
        return self._rbuf

    def is_usable(self) -> bool:
        # Bytes left after a reply are garbage: reading one costs nothing, the connection goes.
        return not self._pending and not self._rbuf.read(1) and self._inner.is_usable()
