"""The replies on one connection: cut from the bytes received and decoded, without I/O.

Fed whatever arrives (asyncio's `data_received`), `ReplyStream` hands out each complete reply
decoded for the call awaiting it, found by sequence id (in order or not: pipelining). How
replies are cut depends on the endpoint: a frame each (framed; a THeader frame), one HTTP
reply body each, or, on a plain stream (buffered, zlib), wherever the decoder finds the
message ends: it tries, and on running out of bytes (`NeedMore`) waits for at least that many
more. Memory follows the bytes received, never a length a peer declared.
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

__all__ = ["Awaited", "Decoded", "ReplyStream"]

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

    def __init__(self, endpoint: Endpoint):
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
        self._raw = bytearray()  # received, before outer framing and inflating
        # Message bytes (plain, or THeader frames) not yet decoded: the bytes of one feed as
        # they came (the usual case: a whole reply in one read, never copied), a bytearray
        # once a second feed must be appended.
        self._buf: bytes | bytearray = b""
        self._need = 0  # how long `_buf` must be before decoding is worth trying again
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
        if self._framed:  # a frame's payload: put its size back in front
            return _FRAME.pack(len(self._buf)) + bytes(self._buf[: HEAD_SIZE - 4])
        return bytes(self._buf[:HEAD_SIZE])

    def feed(self, data: bytes) -> None:
        """Take the next bytes the server sent."""
        if self._framed:
            self._raw += data
            self._unframe()
        else:
            self._take(data)

    def feed_message(self, body: bytes) -> None:
        """Take one whole message (an HTTP reply's body)."""
        self._take(body)

    def _take(self, data: bytes) -> None:
        """Message bytes in: inflated first on a zlib stream."""
        if self._inflater is not None:
            data = self._inflate(data)
        if self._json_reader is not None:
            self._json_reader.feed(data)
        else:
            if not self._buf:
                self._buf = data
            elif isinstance(self._buf, bytes):
                self._buf = bytearray(self._buf) + data
            else:
                self._buf += data

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
        first: tuple[int, BinaryMethod] | None = None,
    ) -> Decoded | None:
        """The next complete reply, decoded for the call `awaited(seqid)` returns; None until
        more bytes arrive. Raises `ProtocolError` when the stream is out of step or malformed.

        `first`: the sequence id and C-coded method of the call answered next if the server
        answers in order (as Thrift servers do): its reply is recognised by one comparison of
        its header and decoded by the C decoder; anything else takes the general way.
        """
        if self._json_reader is not None:
            return self._next_json(awaited)
        buf = self._buf
        if not buf or len(buf) < self._need:
            return None
        if first is not None and not self._header:
            seqid, method = first
            head = method.reply_head(seqid)
            if buf.startswith(head):
                return self._decode_fast(seqid, method, len(head))
        if self._header:
            if len(buf) < 4:
                return None
            (size,) = _FRAME.unpack_from(buf)
            if not 0 <= size <= self.max_frame:
                raise ProtocolError(
                    f"frame size {size} is outside 0..max_frame_size={self.max_frame}"
                )
            if len(buf) < 4 + size:
                self._need = 4 + size
                return None
            return self._decode(bytes(buf[: 4 + size]), awaited, whole=True)
        return self._decode(bytes(buf), awaited, whole=False)

    def _decode(
        self, data: bytes, awaited: Callable[[int], Awaited | None], *, whole: bool
    ) -> Decoded | None:
        """Decode one message from `data` (all of it, when `whole`), then drop its bytes."""
        reader = MemoryReader(data)
        try:
            decoded = _decode_message(self._protocol(reader), awaited, self._header)
        except NeedMore as more:
            if whole:
                raise ProtocolError("the reply ended before the message did") from None
            self._need = len(self._buf) + more.needed
            if self._need > self.limit:
                raise ProtocolError(f"reply exceeds max_message_size={self.limit} bytes") from None
            return None
        self._consume(reader.consumed)
        return decoded

    def _consume(self, used: int) -> None:
        """Drop the first `used` bytes: a reply was decoded from them."""
        buf = self._buf
        if used >= len(buf):
            self._buf = b""
        elif isinstance(buf, bytearray):
            del buf[:used]
        else:
            self._buf = buf[used:]
        self._need = 0

    def whole_reply(self, data: bytes, seqid: int, method: BinaryMethod) -> tuple[bool, Any] | None:
        """`data` decoded as exactly the in-order reply to `seqid`: (ok, value); None when it
        is not exactly that (part of one, more than one, an exception message: `feed` it).

        The usual case of a small call, taken without buffering: one comparison of the
        header, the C decoder, nothing copied.
        """
        if self._buf or self._framed or self._header or self._json_reader is not None:
            return None
        if self._inflater is not None:
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
            result = (False, answer)
        finally:
            proto.trans = _EMPTY
        return result if buf.tell() == len(data) else None

    def _decode_fast(self, seqid: int, method: BinaryMethod, start: int) -> Decoded | None:
        """The reply to `seqid`, its header already matched, decoded by the C decoder."""
        reader = MemoryReader(self._buf)
        reader.cstringio_buf.seek(start)
        proto = self._fast_proto
        proto.trans = reader
        try:
            decoded = Decoded(seqid, True, method.read_result(proto), None)
        except NeedMore as more:
            self._need = len(self._buf) + more.needed
            if self._need > self.limit:
                raise ProtocolError(f"reply exceeds max_message_size={self.limit} bytes") from None
            return None
        except Exception as answer:
            if not isinstance(answer, method.answers):
                raise
            decoded = Decoded(seqid, False, answer, None)
        finally:
            proto.trans = _EMPTY
        self._consume(reader.consumed)
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
                return Decoded(frame.seqid, False, answer, None)
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
        return Decoded(seqid, False, answer, headers)


def _headers(proto: Any) -> dict[str, str]:
    """The THeader headers of the reply just read, as text."""
    trans = header_transport(proto)
    return {
        k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
        for k, v in trans.get_headers().items()
    }
