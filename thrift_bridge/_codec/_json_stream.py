r"""Whole TJSONProtocol messages out of a byte stream: framing and parsing.

JSON over a buffered socket has no length prefix: a message ends where its outer array closes.
`MessageReader` is fed bytes as they arrive (sans-I/O: a blocking socket loop and an asyncio
protocol drive it alike) and scans each byte once (`_json_frame`: strings skipped in C-level
passes, the brackets outside them counted). Only when the count is back to zero is the
message parsed, once, by the standard library's C scanner; `_json_read` reads the struct.

Apache's format is not quite JSON: it writes a struct or container map key as a bare object or
array, and its reader takes number spellings (``+1``, ``01``, ``.5``) and escapes (``\\u+041``)
that JSON does not. What the C scanner refuses is read by Apache's own TJSONProtocol instead,
under our limits (`_json_apache`), so whatever Apache's reader accepts is accepted here, with
the same values. Its reader accepts no whitespace outside strings, and neither does this one.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from thrift.Thrift import TApplicationException, TMessageType

from .._exceptions import ProtocolError
from ._json_apache import ApacheJSONReader, apache_errors
from ._json_frame import closing_quote, message_end, outside_strings, returns_to_zero
from ._json_read import NEGATIVE_ZERO, readers
from ._json_write import JsonLimits

__all__ = ["Frame", "MessageReader", "decode_message"]


class _Constant(Exception):
    """A bare NaN or Infinity, which JSON's scanner takes and Apache's reader does not."""


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


def _parse_int(text: str) -> Any:
    """An integer, with a bare -0 kept apart (Apache reads it as -0.0 where a double is due)."""
    return NEGATIVE_ZERO if text == "-0" else int(text)


# Objects as tuples of pairs: duplicate keys reach the reader as Apache's reader sees them.
_PLAIN: Final = json.JSONDecoder(
    strict=False, object_pairs_hook=tuple, parse_constant=_refuse_constant
)
_WITH_NEGATIVE_ZERO: Final = json.JSONDecoder(
    strict=False, object_pairs_hook=tuple, parse_constant=_refuse_constant, parse_int=_parse_int
)
# A \\u escape of a digit or sign: JSON unescapes it, Apache's integer reader refuses it.
_ESCAPED_NUMERIC: Final = re.compile(r"\\u00(?:2[bBdD]|3[0-9])")
_ESCAPE: Final = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)


def _surrogate_rules(text: str) -> str | None:
    """`text` with Apache's handling of UTF-16 surrogate escapes applied before JSON parses it.

    A high surrogate must be followed by a low one (the pair is one character); a lone low one
    is refused; a high one just before a string's closing quote is dropped without a word
    (TJSONProtocol.readJSONString breaks out of its loop before checking it). None when that
    string is an object key: Apache drops it from a string or double key but refuses it in an
    integer one, so its own reader has to decide.
    """
    pieces: list[str] = []
    last = 0
    high: re.Match[str] | None = None
    for match in _ESCAPE.finditer(text):
        digits = match.group(1)
        unit = int(digits, 16) if digits else -1
        if high is not None:
            if 0xDC00 <= unit <= 0xDFFF and match.start() == high.end():
                high = None
                continue
            raise ProtocolError("malformed TJSONProtocol reply: a high surrogate without a low one")
        if 0xD800 <= unit <= 0xDBFF:
            if text.startswith('":', match.end()):
                return None
            if text.startswith('"', match.end()):
                pieces.append(text[last : match.start()])
                last = match.end()
            else:
                high = match
        elif 0xDC00 <= unit <= 0xDFFF:
            raise ProtocolError("malformed TJSONProtocol reply: a low surrogate without a high one")
    if high is not None:
        raise ProtocolError("malformed TJSONProtocol reply: a high surrogate without a low one")
    return "".join(pieces) + text[last:] if pieces else text


class Frame:
    """One whole message: its envelope read, its struct decoded on demand with `decode`."""

    __slots__ = ("_body", "_limits", "_proto", "data", "message_type", "name", "seqid")

    def __init__(
        self,
        data: bytes,
        envelope: tuple[str, int, int],
        body: Any,
        proto: ApacheJSONReader | None,
        limits: JsonLimits,
    ):
        #: The message's bytes, as received.
        self.data = data
        self.name, self.message_type, self.seqid = envelope
        self._body = body
        self._proto = proto
        self._limits = limits

    def decode(self, result_class: type) -> Any:
        """The message's struct: `result_class`, or TApplicationException for an EXCEPTION."""
        cls = TApplicationException if self.message_type == TMessageType.EXCEPTION else result_class
        if self._proto is not None:
            return self._proto.read_body(cls, len(self.data))
        return readers(self._limits).struct(cls)(self._body, 1)


class MessageReader:
    """Whole messages out of bytes fed as they arrive (sans-I/O).

    >>> reader = MessageReader()
    >>> reader.feed(b'[1,"add",2,7,{"0":{"i64":')
    >>> reader.next_message() is None
    True
    >>> reader.feed(b"5}}]")
    >>> frame = reader.next_message()
    >>> frame.name, frame.message_type, frame.seqid
    ('add', 2, 7)

    Bytes past a message stay in `buffered` for the next one.
    """

    __slots__ = ("_buf", "_depth", "_in_string", "_scanned", "limits")

    def __init__(self, limits: JsonLimits | None = None):
        self.limits = limits or JsonLimits()
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf scanned so far
        self._depth = 0  # brackets open at _scanned, outside strings
        self._in_string = False  # whether _scanned is inside a string

    @property
    def buffered(self) -> bytes:
        """Bytes fed and not yet returned in a message."""
        return bytes(self._buf)

    def feed(self, data: bytes) -> None:
        """Add bytes received from the peer."""
        self._buf += data

    def next_message(self) -> Frame | None:
        """The next whole message, or None until more bytes arrive (ProtocolError on garbage)."""
        if not self._scan():
            if len(self._buf) > self.limits.max_message_size:
                raise self._too_big()
            return None
        raw = self._buf
        if len(raw) > self.limits.max_message_size:
            raise self._too_big()
        frame, used = _parse(raw, self.limits)
        # What follows the message (usually nothing) is scanned afresh as the next one.
        self._buf = raw[used:]
        self._scanned, self._depth, self._in_string = 0, 0, False
        return frame

    def _too_big(self) -> ProtocolError:
        limit = self.limits.max_message_size
        return ProtocolError(f"TJSONProtocol reply exceeds max_message_size={limit} bytes")

    def _scan(self) -> bool:
        """Scan the bytes not yet scanned; whether they end a message (depth back to zero)."""
        buf = self._buf
        pos, size = self._scanned, len(buf)
        if pos == size:
            return False
        if pos == 0 and buf[0] != 0x5B:
            raise ProtocolError(
                f"not a TJSONProtocol message: it starts with {bytes(buf[:20])!r}, not '['"
            )
        self._scanned = size
        if self._in_string:
            closing = closing_quote(buf, pos)
            if closing < 0:
                return False
            pos = closing + 1
        outside, self._in_string = outside_strings(buf[pos:])
        opened = outside.count(b"[") + outside.count(b"{")
        closed = outside.count(b"]") + outside.count(b"}")
        if opened + closed != len(outside):  # the rest of it is whitespace
            raise ProtocolError(
                "malformed TJSONProtocol reply: whitespace between tokens "
                "(TJSONProtocol writes none and its reader accepts none)"
            )
        before = self._depth
        self._depth += opened - closed
        if self._depth < 0:
            raise ProtocolError("malformed TJSONProtocol reply: more brackets closed than opened")
        if self._depth == 0 and not self._in_string:
            return True  # the usual end: the bytes so far end where the message does
        # A message that ends inside these bytes, with the next one already begun.
        return closed >= before and returns_to_zero(outside, before)


def _parse(raw: bytearray, limits: JsonLimits) -> tuple[Frame, int]:
    """The message at the start of `raw` and how many bytes it took."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return _fallback(raw, limits)  # Apache's reader finds whether it is inside the message
    decoder = _PLAIN
    # One-byte searches first (memchr); two-character ones only when they can match.
    if b"-" in raw and ("-0," in text or "-0]" in text or "-0}" in text):
        decoder = _WITH_NEGATIVE_ZERO
    try:
        tree, end = decoder.raw_decode(text)
    except RecursionError:
        raise ProtocolError(f"the reply nests deeper than max_depth={limits.max_depth}") from None
    except (ValueError, _Constant):  # not JSON (or an integer past int()'s digit limit)
        return _fallback(raw, limits)
    used = len(raw) if end == len(text) else len(text[:end].encode())
    if b"\\" in raw and "\\u" in text:
        message = text[:end]
        if _ESCAPED_NUMERIC.search(message):
            return _fallback(raw[:used], limits)
        if "\\ud" in message or "\\uD" in message:
            checked = _surrogate_rules(message)
            if checked is None:
                return _fallback(raw[:used], limits)
            tree = decoder.decode(checked)
    data = bytes(raw) if used == len(raw) else bytes(raw[:used])
    return Frame(data, _envelope(tree), tree[4], None, limits), used


def _envelope(tree: Any) -> tuple[str, int, int]:
    """(name, type, seqid) of a parsed `[1, "name", type, seqid, {...}]`."""
    if type(tree) is not list or len(tree) != 5:
        raise ProtocolError(
            f"malformed TJSONProtocol reply: expected [1, name, type, seqid, {{...}}], "
            f"got {str(tree)[:60]}"
        )
    version, name, message_type, seqid, _ = tree
    if _integer(version) != 1:
        raise ProtocolError(f"TJSONProtocol message version {version!r}, expected 1")
    if type(name) is not str:
        raise ProtocolError(f"malformed TJSONProtocol reply: message name {name!r}")
    return name, _integer(message_type), _integer(seqid)


def _integer(value: Any) -> int:
    if type(value) is int:
        return value
    if value is NEGATIVE_ZERO:
        return 0
    raise ProtocolError(f"malformed TJSONProtocol reply: expected an integer, got {value!r}")


def _fallback(raw: bytearray, limits: JsonLimits) -> tuple[Frame, int]:
    """The message at the start of `raw`, read by Apache's TJSONProtocol."""
    data = bytes(raw)
    data = data[: message_end(data)]
    proto = ApacheJSONReader(data, limits)
    with apache_errors():
        envelope = proto.readMessageBegin()
    return Frame(data, envelope, None, proto, limits), len(data)


def decode_message(
    data: bytes, result_class: type, limits: JsonLimits | None = None
) -> tuple[str, int, int, Any]:
    """(name, type, seqid, struct) of exactly one whole message (see `Frame.decode`)."""
    reader = MessageReader(limits)
    reader.feed(data)
    frame = reader.next_message()
    if frame is None:
        raise ProtocolError(f"incomplete TJSONProtocol message ({len(data)} bytes)")
    if reader.buffered:
        raise ProtocolError("malformed TJSONProtocol reply: bytes after the message's end")
    return frame.name, frame.message_type, frame.seqid, frame.decode(result_class)
