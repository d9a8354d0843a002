"""Transports over memory, for coding messages without a socket (the async client's I/O is
asyncio's): a sink our transports write requests into, and a C-readable source of reply bytes
that says how many more bytes it needs rather than blocking for them."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from thrift.transport.TTransport import CReadableTransport, TTransportBase

__all__ = ["MemoryReader", "MemorySink", "NeedMore"]


class NeedMore(Exception):
    """A decoder ran out of bytes; at least `needed` more must arrive before it can go on."""

    def __init__(self, needed: int):
        super().__init__(f"{needed} more bytes needed")
        self.needed = needed


class MemoryReader(TTransportBase, CReadableTransport):  # type: ignore[misc]
    """Reply bytes for a protocol (and Apache's C decoder) to read; no refill, only `NeedMore`.

    `consumed` tells how many bytes the decoding took: where the next message starts.
    """

    def __init__(self, data: bytes | bytearray | memoryview):
        self._buf = BytesIO(data)

    @property
    def consumed(self) -> int:
        """How many bytes were read so far."""
        return self._buf.tell()

    def isOpen(self) -> bool:  # noqa: N802 - Apache's name
        return True

    def read(self, sz: int) -> bytes:
        data = self._buf.read(sz)
        if sz and not data:
            raise NeedMore(sz)
        return data

    def readAll(self, sz: int) -> bytes:  # noqa: N802 - Apache's name
        data = self._buf.read(sz)
        if len(data) < sz:
            raise NeedMore(sz - len(data))
        return data

    @property
    def cstringio_buf(self) -> BytesIO:
        return self._buf

    def cstringio_refill(self, partialread: bytes, reqlen: int) -> BytesIO:
        raise NeedMore(reqlen - len(partialread))


class MemorySink:
    """What our buffered, framed and zlib transports send through, kept as bytes to be written.

    It stands where a `SocketIO` stands under them (`sendall`, `send_parts`, the per-call
    flags); `take()` hands over the request bytes the protocol wrote and flushed.
    """

    __slots__ = ("_out", "max_message_size", "received", "sent", "started")

    def __init__(self) -> None:
        self._out: list[bytes] = []
        self.sent = self.started = False
        self.received = 0
        self.max_message_size = 2**31 - 1

    def begin_call(self) -> None:
        """Start one request."""
        self.sent = self.started = False

    def sendall(self, data: Any) -> None:
        """Keep `data` (a flushed request, or part of one) for writing."""
        self.started = True
        self._out.append(bytes(data))
        self.sent = True

    def send_parts(self, head: bytes, body: bytes, *more: bytes) -> None:
        """Keep a request given in parts (large ones stay uncopied)."""
        self.started = True
        self._out += (head, body, *more)
        self.sent = True

    def take(self) -> list[bytes]:
        """The bytes kept since the last `take`, in order."""
        out, self._out = self._out, []
        return out

    def is_usable(self) -> bool:
        """A memory sink never goes stale."""
        return True

    def close(self) -> None:
        """Drop anything not taken."""
        self._out = []

    def fileno(self) -> int:
        """No descriptor: -1."""
        return -1
