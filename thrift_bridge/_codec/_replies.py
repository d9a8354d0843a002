"""The replies on one connection: cut from the bytes received and decoded, without I/O.

Fed whatever arrives (each read of asyncio's transport), `ReplyStream` hands out each complete
reply decoded for the call awaiting it, found by sequence id (in order or not: pipelining). How
replies are cut depends on the endpoint: a frame each (framed; a THeader frame), one HTTP
reply body each, or, on a plain stream (buffered, zlib), wherever the decoder finds the
message ends: it tries, and on running out of bytes (`NeedMore`) waits for at least that many
more. Memory follows the bytes received, never a length a peer declared.

A reply that comes in many reads is not decoded again from its start after each: once a try
ran out of bytes, the next waits until the bytes on hand have doubled, unless a read came
short of `read_size` (the tail of what the server sent: tried at once). A full read that
happens to end a reply leaves `deferred` set: the connection calls `retry` once no more
bytes follow. So a reply of n bytes costs O(log n) tries, not one per read.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from thrift.Thrift import TApplicationException, TMessageType

from .._exceptions import ProtocolError
from .._hints import HEAD_SIZE
from ._memory import MemoryReader, NeedMore
from ._protocols import header_transport, protocol_factory

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._endpoint import Endpoint
    from ._binary import BinaryMethod
    from ._json_methods import JsonMethod

__all__ = ["READ_SIZE", "Awaited", "Decoded", "ReplyStream"]

#: The most bytes one read of asyncio's transports hands over (selector and SSL alike).
READ_SIZE = 256 * 1024

_FRAME = struct.Struct("!i")
_EMPTY = MemoryReader(b"")


class Awaited(Protocol):
    """What decoding needs to know of a call awaiting its reply."""

    name: str  #: the method's name, as the reply names it
    result_class: Any  #: the generated `<method>_result` struct
    unpack: Callable[[Any], Any]  #: result struct -> return value (or raises the declared error)
    json: JsonMethod | None  #: the method's JSON codec, on JSON endpoints


class Decoded(NamedTuple):
    """One reply, decoded for the call with sequence id `seqid`."""

    seqid: int
    ok: bool  #: False: `value` is the server's answer as an exception (declared, application)
    value: Any
    headers: dict[str, str] | None  #: the reply's THeader headers (None without THeader)


class ReplyStream:
    """The replies arriving on one connection to `endpoint` (see the module doc)."""

    def __init__(self, endpoint: Endpoint, read_size: int = READ_SIZE):
        self.limit = endpoint.max_message_size
        self.max_frame = endpoint.max_frame_size
        header = "header" in (endpoint.transport, endpoint.protocol)
        self._header = header
        self._json = endpoint.protocol == "json" and not header
        #: Outer frames: the transport's 4-byte-length frames (not THeader's own framing).
        self._framed = endpoint.transport == "framed"
        zlib_stream = endpoint.zlib or endpoint.transport == "zlib"
        self._inflater = zlib.decompressobj() if zlib_stream else None
        self._protocol = protocol_factory(endpoint)
        #: Reused for every in-order C-coded reply: the C decoder reads only its transport.
        self._fast_proto = self._protocol(_EMPTY)
        #: Whether a reply alone in one read may be decoded straight from it (`whole_reply`):
        #: a plain binary/compact stream, not framed, THeader, JSON or zlib.
        self.takes_whole = not (self._framed or header or self._json or zlib_stream)
        #: A read this long may have stopped short of what the server sent (see the module doc).
        self.read_size = read_size
        #: How many decodes were tried on `_buf` (each that ran out of bytes cost one pass).
        self.decode_attempts = 0
        #: A try was put off after a full read: `retry` it once no more bytes follow.
        self.deferred = False
        self._raw = bytearray()  # received, before outer framing and inflating
        # Message bytes (plain, or THeader frames), undecoded from `_pos` on: the bytes of one
        # feed as they came (the usual case: a whole reply in one read, never copied), a
        # bytearray while later feeds are appended (always from position 0), bytes again for
        # each decode (BytesIO shares a bytes object, copies anything else).
        self._buf: bytes | bytearray = b""
        self._pos = 0
        self._need = 0  # how many undecoded bytes decoding needs before it can succeed
        self._retry_at = 0  # after a full read, how many before a decode is tried again
        self._short = True  # whether the last read was short of `read_size`
        self._json_reader: Any = None
        self._bad_stream = b""  # the first bytes of a stream that did not inflate
        if self._json:
            from ._json_methods import json_limits
            from ._json_stream import MessageReader

            self._json_reader = MessageReader(json_limits(endpoint))

    @property
    def buffered(self) -> int:
        """How many received bytes no reply has used yet (a connection at rest has none)."""
        return (
            len(self._raw)
            + len(self._buf)
            - self._pos
            + (len(self._json_reader.buffered) if self._json_reader is not None else 0)
        )

    def head(self) -> bytes:
        """The first bytes no reply has used yet, as the server sent them (for the hints on a
        reply that failed; b"" where that shape is lost)."""
        if self._bad_stream:
            return self._bad_stream
        if self._json_reader is not None:
            return bytes(self._json_reader.buffered[:HEAD_SIZE])
        if self._framed and self._raw:
            return bytes(self._raw[:HEAD_SIZE])
        if self._inflater is not None or not self._buf:
            return b""
        buf, pos = self._buf, self._pos
        if self._framed:  # a frame's payload: put its size back in front
            return _FRAME.pack(len(buf) - pos) + bytes(buf[pos : pos + HEAD_SIZE - 4])
        return bytes(buf[pos : pos + HEAD_SIZE])

    def feed(self, data: bytes) -> None:
        """Take the next bytes the server sent."""
        self._short = len(data) < self.read_size
        if self._framed:
            self._raw += data
            self._unframe()
        else:
            self._take(data)

    def feed_message(self, body: bytes) -> None:
        """Take one whole message (an HTTP reply's body)."""
        self._short = True
        self._take(body)

    def _take(self, data: bytes) -> None:
        """Message bytes in: inflated first on a zlib stream."""
        if self._inflater is not None:
            data = self._inflate(data)
        if self._json_reader is not None:
            self._json_reader.feed(data)
            return
        buf = self._buf
        if not buf:
            self._buf = data
        elif isinstance(buf, bytes):  # appended to from now on: the undecoded bytes, once
            self._buf = bytearray(memoryview(buf)[self._pos :])
            self._buf += data
            self._pos = 0
        else:
            buf += data

    def _unframe(self) -> None:
        """Move each complete transport frame's payload to the message bytes."""
        raw = self._raw
        start = 0
        while len(raw) - start >= 4:
            (size,) = _FRAME.unpack_from(raw, start)
            if not 0 <= size <= self.max_frame:
                raise ProtocolError(
                    f"frame size {size} is outside 0..max_frame_size={self.max_frame}"
                )
            if len(raw) - start - 4 < size:
                break
            self._take(bytes(raw[start + 4 : start + 4 + size]))
            start += 4 + size
        if start:
            del raw[:start]

    def _inflate(self, data: bytes) -> bytes:
        """Decompress the next bytes of the zlib stream, at most `limit` bytes of them."""
        assert self._inflater is not None
        try:
            out = self._inflater.decompress(data, self.limit + 1)
        except zlib.error as exc:
            self._bad_stream = data[:HEAD_SIZE]
            raise ProtocolError(f"the reply is not a valid zlib stream: {exc}") from exc
        if self._inflater.unconsumed_tail or len(out) > self.limit:
            raise ProtocolError(f"decompressed reply exceeds max_message_size={self.limit} bytes")
        if self._inflater.eof:
            raise ProtocolError("the zlib stream ended; the peer is not speaking zlib transport")
        return out

    def next_reply(
        self,
        awaited: Callable[[int], Awaited | None],
        seqid: int = -1,
        method: BinaryMethod | None = None,
    ) -> Decoded | None:
        """The next complete reply, decoded for the call `awaited(seqid)` returns; None until
        more bytes arrive. Raises `ProtocolError` when the stream is out of step or malformed.

        `seqid`, `method`: the call answered next if the server answers in order (as Thrift
        servers do) and its C-coded method: its reply is recognised by one comparison of its
        header and decoded by the C decoder; anything else takes the general way.
        """
        if self._json_reader is not None:
            return self._next_json(awaited)
        buf, pos = self._buf, self._pos
        size = len(buf) - pos
        if not buf or size < self._need:
            return None
        if size < self._retry_at and not self._short:
            self.deferred = True  # more bytes are likely on their way: wait for them
            return None
        self.deferred = False
        if isinstance(buf, bytearray):
            buf = self._buf = bytes(buf)  # BytesIO reads a bytes object without a copy
        if self._header:
            if size < 4:
                return None
            (frame,) = _FRAME.unpack_from(buf, pos)
            if not 0 <= frame <= self.max_frame:
                raise ProtocolError(
                    f"frame size {frame} is outside 0..max_frame_size={self.max_frame}"
                )
            if size < 4 + frame:
                self._need = 4 + frame
                return None
            return self._decode(MemoryReader(buf[pos : pos + 4 + frame]), 0, awaited, whole=True)
        reader = MemoryReader(buf)
        if method is not None:
            head = method.reply_head(seqid)
            if buf.startswith(head, pos):
                return self._decode_fast(reader, seqid, method, pos + len(head))
        reader.cstringio_buf.seek(pos)
        return self._decode(reader, pos, awaited, whole=False)

    def retry(self) -> None:
        """Let the next `next_reply` try a decode put off after a full read (`deferred`)."""
        self._short = True

    def _decode(
        self,
        reader: MemoryReader,
        start: int,
        awaited: Callable[[int], Awaited | None],
        *,
        whole: bool,
    ) -> Decoded | None:
        """Decode one message from `reader` at `start` (all of it, when `whole`); drop its bytes."""
        self.decode_attempts += 1
        try:
            decoded = _decode_message(self._protocol(reader), awaited, self._header)
        except NeedMore as more:
            if whole:
                raise ProtocolError("the reply ended before the message did") from None
            needed = more.needed
        else:
            self._consume(reader.consumed - start)
            return decoded
        self._ran_out(needed)
        return None

    def _ran_out(self, needed: int) -> None:
        """A decode needed `needed` bytes more than are here: when to try again."""
        size = len(self._buf) - self._pos
        self._need = size + needed
        if self._need > self.limit:
            raise ProtocolError(f"reply exceeds max_message_size={self.limit} bytes")
        self._retry_at = 2 * size

    def _consume(self, used: int) -> None:
        """Drop the first `used` undecoded bytes: a reply was decoded from them."""
        self._pos += used
        if self._pos >= len(self._buf):
            self._buf = b""
            self._pos = 0
        self._need = self._retry_at = 0

    def whole_reply(self, data: bytes, seqid: int, method: BinaryMethod) -> tuple[bool, Any] | None:
        """`data` decoded as exactly the in-order reply to `seqid`: (ok, value); None when it
        is not exactly that (part of one, more than one, an exception message: `feed` it).

        The usual case of a small call, taken without buffering: one comparison of the
        header, the C decoder, nothing copied. Only on a stream that `takes_whole` (the
        caller checks that once per connection).
        """
        if self._buf:
            return None
        head = method.reply_head(seqid)
        if not data.startswith(head):
            return None
        reader = MemoryReader(data)
        buf = reader.cstringio_buf
        buf.seek(len(head))
        proto = self._fast_proto
        proto.trans = reader
        try:
            result = (True, method.read_result(proto))
        except NeedMore:
            return None
        except Exception as answer:
            if not isinstance(answer, method.answers):
                return None  # malformed: the general way raises it, the connection goes
            result = (False, answer.with_traceback(None))  # raised again when awaited
        finally:
            proto.trans = _EMPTY
        return result if buf.tell() == len(data) else None

    def _decode_fast(
        self, reader: MemoryReader, seqid: int, method: BinaryMethod, start: int
    ) -> Decoded | None:
        """The reply to `seqid`, its header already matched, decoded by the C decoder."""
        self.decode_attempts += 1
        pos = self._pos
        reader.cstringio_buf.seek(start)
        proto = self._fast_proto
        proto.trans = reader
        needed = 0
        try:
            decoded = Decoded(seqid, True, method.read_result(proto), None)
        except NeedMore as more:
            needed = more.needed
        except Exception as answer:
            if not isinstance(answer, method.answers):
                raise
            decoded = Decoded(seqid, False, answer.with_traceback(None), None)
        finally:
            proto.trans = _EMPTY
        if needed:
            self._ran_out(needed)
            return None
        self._consume(reader.consumed - pos)
        return decoded

    def _next_json(self, awaited: Callable[[int], Awaited | None]) -> Decoded | None:
        """The next JSON reply: cut by `MessageReader`, decoded by the method's JSON codec."""
        frame = self._json_reader.next_message()
        if frame is None:
            return None
        call = _awaiting(awaited, frame.name, frame.seqid)
        if frame.message_type == TMessageType.REPLY and call.json is not None:
            try:
                return Decoded(frame.seqid, True, call.json.read_result(frame), None)
            except (TApplicationException, *_declared(call)) as answer:
                return Decoded(frame.seqid, False, answer.with_traceback(None), None)
        return _decode_message(self._protocol(MemoryReader(frame.data)), awaited, False)


def _declared(call: Awaited) -> tuple[type[BaseException], ...]:
    """The exception classes a method declares (its result struct's other fields)."""
    spec = getattr(call.result_class, "thrift_spec", None) or ()
    return tuple(field[3][0] for field in spec if field is not None and field[0] != 0)


def _awaiting(awaited: Callable[[int], Awaited | None], name: str, seqid: int) -> Awaited:
    """The call a reply answers, or `ProtocolError`: no call awaits it (out of step)."""
    call = awaited(seqid)
    if call is None or call.name != name.rpartition(":")[2]:
        expected = (
            "no call awaits that sequence id" if call is None else f"#{seqid} is {call.name!r}"
        )
        raise ProtocolError(f"reply out of step: got {name!r} #{seqid}, {expected}")
    return call


def _decode_message(proto: Any, awaited: Callable[[int], Awaited | None], header: bool) -> Decoded:
    """Read one whole message from `proto`: its head, then the result it carries."""
    name, message_type, seqid = proto.readMessageBegin()
    call = _awaiting(awaited, name, seqid)
    headers = _headers(proto) if header else None
    if message_type == TMessageType.EXCEPTION:
        error = TApplicationException()
        error.read(proto)
        proto.readMessageEnd()
        return Decoded(seqid, False, error, headers)
    if message_type != TMessageType.REPLY:
        raise ProtocolError(f"expected a reply to {call.name!r}, got message type {message_type}")
    result = call.result_class()
    result.read(proto)
    proto.readMessageEnd()
    try:
        return Decoded(seqid, True, call.unpack(result), headers)
    except Exception as answer:  # a declared exception, or MISSING_RESULT: the server's answer
        return Decoded(seqid, False, answer.with_traceback(None), headers)


def _headers(proto: Any) -> dict[str, str]:
    """The THeader headers of the reply just read, as text."""
    trans = header_transport(proto)
    return {
        k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
        for k, v in trans.get_headers().items()
    }
