r"""Whole TJSONProtocol messages out of a byte stream: framing and parsing.

JSON over a buffered socket has no length prefix: a message ends where its outer array closes.
`MessageReader` is fed bytes as they arrive (sans-I/O: a blocking socket loop and an asyncio
protocol drive it alike) and scans each byte once, skipping strings with C-level splits and
finds and counting the brackets outside them. Only when the count is back to zero is the
message parsed, once, by the standard library's C scanner; `_json_codec` reads the struct.

Apache's format is not quite JSON: it writes a struct or container map key as a bare object or
array, and its reader takes number spellings (``+1``, ``01``, ``.5``) and escapes (``\\u+041``)
that JSON does not. What the C scanner refuses is read by Apache's own TJSONProtocol instead,
under our limits (`_json_apache`), so whatever Apache's reader accepts is accepted here, with
the same values. Its reader accepts no whitespace outside strings, and neither does this one.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from typing import Any, Final

from thrift.Thrift import TApplicationException, TMessageType

from .._exceptions import ProtocolError
from ._json_apache import ApacheJSONReader, apache_errors
from ._json_read import NEGATIVE_ZERO, readers
from ._json_write import JsonLimits

__all__ = ["Frame", "MessageReader", "decode_message"]

_WHITESPACE: Final = b" \t\n\r"


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


def _closing_quote(data: bytes | bytearray, pos: int) -> int:
    """The index of the first unescaped '"' at or after `pos` inside a string, or -1."""
    while True:
        found = data.find(b'"', pos)
        if found < 0:
            return -1
        start = found - 1
        while data[start] == 0x5C:  # the string's opening quote stops this walk back
            start -= 1
        if (found - 1 - start) % 2 == 0:  # an even run of backslashes escapes only themselves
            return found
        pos = found + 1


_FEW_STRINGS: Final = 16  # strings skipped one by one before the rest of a region is split
# Bytes of short strings looked at in one go: a region's first window is small, as a long
# string may follow a few short ones (an echo's reply); each next one twice as large.
_FIRST_WINDOW: Final = 512
_WINDOW: Final = 8192
_LONG: Final = 256  # a string without a quote in this many bytes is skipped on its own
# Every byte but the quote, the brackets and whitespace: what the bracket count and the
# whitespace check need of a region, the rest deleted in one C pass.
_NOT_STRUCTURE: Final = bytes(sorted(set(range(256)) - set(b'"[]{}' + _WHITESPACE)))


def _outside_strings(region: bytearray) -> tuple[bytes | bytearray, bool]:
    """The brackets and whitespace of `region` outside strings, and whether it ends inside one.

    `region` starts outside a string. It is taken a window at a time from a string's opening
    quote (`_window_outside_strings`): a window costs a few C passes over its bytes, however
    many strings it holds. A long string, and the rest of one a window ends in, is skipped
    with finds (memchr: a 1 MiB string costs microseconds).
    """
    if len(region) <= _FIRST_WINDOW:
        return _window_outside_strings(region)
    pieces: list[bytes | bytearray] = []
    pos, window, inside = 0, _FIRST_WINDOW, False
    while True:
        opening = region.find(b'"', pos)
        if opening < 0:
            pieces.append(region[pos:])
            break
        pieces.append(region[pos:opening])
        pos = opening + 1  # a long string: skipped with finds alone
        if region.find(b'"', pos, opening + _LONG) >= 0:
            # Short strings: the window ends before its last quote, which then either closes
            # the string the window ends in or opens one (maybe long) to skip with finds.
            last = region.rfind(b'"', pos, opening + window)
            window = min(window * 2, _WINDOW)
            outside, inside = _window_outside_strings(region[opening:last])
            pieces.append(outside)
            pos = last if inside else last + 1
        pos = _closing_quote(region, pos) + 1
        if pos == 0:
            inside = True
            break
        inside = False
    return b"".join(pieces).translate(None, _NOT_STRUCTURE), inside


def _window_outside_strings(window: bytearray) -> tuple[bytes | bytearray, bool]:
    """`_outside_strings` of a window that starts outside a string, in a few C passes.

    Without an escaped quote, every quote delimits a string. With all but quotes, brackets and
    whitespace deleted, a string holding none of those is left as '""'; removing each pair of
    adjacent quotes keeps the rest alternating (a string's own pair, or two strings with
    nothing between them made one), so splitting what is left on '"' puts the outside at the
    even places.
    """
    if b"\\" in window and b'\\"' in window:
        return _outside_strings_exactly(window)
    reduced = window.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' not in reduced:
        return reduced, False
    parts = reduced.split(b'"')
    return b"".join(parts[::2]), len(parts) % 2 == 0


def _outside_strings_exactly(region: bytearray) -> tuple[bytes, bool]:
    """The bytes of `region` outside strings, and whether it ends inside one.

    `region` starts outside a string. Its first strings are skipped with finds (memchr: a
    1 MiB string costs microseconds); when there are more, the rest is split on '"' in one C
    call, which is exact while no quote in it is escaped.
    """
    pieces = []
    pos = 0
    for _ in range(_FEW_STRINGS):
        opening = region.find(b'"', pos)
        if opening < 0:
            pieces.append(region[pos:])
            return b"".join(pieces), False
        pieces.append(region[pos:opening])
        closing = _closing_quote(region, opening + 1)
        if closing < 0:
            return b"".join(pieces), True
        pos = closing + 1
    rest = region[pos:]
    if b"\\" in rest and b'\\"' in rest:  # memchr first: most text has no backslash at all
        more, inside = _outside_strings_exactly(rest)
        return b"".join(pieces) + more, inside
    parts = rest.split(b'"')
    return b"".join(pieces) + b"".join(parts[::2]), len(parts) % 2 == 0


# For the running bracket depth: '[' and '{' step 2, ']' and '}' step 0, one step per bracket.
_BRACKET_STEPS: Final = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKETS: Final = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPEN_CLOSE: Final = bytes.maketrans(b"[{]}", b"(())")
_PAIR_PASSES: Final = 16  # nesting levels peeled off before the depth is followed step by step
_STRUCTURE: Final = re.compile(rb'["\[\]{}]')


def _returns_to_zero(outside: bytes | bytearray, depth: int) -> bool:
    """Whether the bracket depth, `depth` before `outside`, falls to zero somewhere inside it."""
    # Peeling off adjacent open-close pairs leaves the closers that find no opener first,
    # then the openers: the depth falls by as many as those closers at its lowest.
    brackets = outside.translate(_OPEN_CLOSE, _NOT_BRACKETS)
    if not brackets:
        return False
    if depth == 0 and brackets[0] == 0x28:  # from the first opener on, the depth is 1
        brackets, depth = brackets[1:], 1
    for _ in range(_PAIR_PASSES):
        peeled = brackets.replace(b"()", b"")
        if len(peeled) == len(brackets):
            unopened = peeled.find(b"(")
            return (len(peeled) if unopened < 0 else unopened) >= depth
        brackets = peeled
    steps = outside.translate(_BRACKET_STEPS, _NOT_BRACKETS)
    # After k brackets the depth is depth + (sum of steps) - k; the loop runs in C.
    lowest: int = min(map(operator.sub, itertools.accumulate(steps), itertools.count(1)))
    return lowest <= -depth


def _message_end(data: bytes) -> int:
    """Where the message at the start of `data` closes (for the fallback reader, which must be
    given exactly one message): one step per bracket and string, but the fallback is rare."""
    depth = 0
    pos = 0
    while True:
        match = _STRUCTURE.search(data, pos)
        if match is None:
            return len(data)
        pos = match.end()
        char = match.group()
        if char == b'"':
            closing = _closing_quote(data, pos)
            if closing < 0:
                return len(data)
            pos = closing + 1
        elif char in b"[{":
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return pos


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
            closing = _closing_quote(buf, pos)
            if closing < 0:
                return False
            pos = closing + 1
        outside, self._in_string = _outside_strings(buf[pos:])
        if len(outside.translate(None, _WHITESPACE)) != len(outside):
            raise ProtocolError(
                "malformed TJSONProtocol reply: whitespace between tokens "
                "(TJSONProtocol writes none and its reader accepts none)"
            )
        before = self._depth
        closed = outside.count(b"]") + outside.count(b"}")
        self._depth += outside.count(b"[") + outside.count(b"{") - closed
        if self._depth < 0:
            raise ProtocolError("malformed TJSONProtocol reply: more brackets closed than opened")
        if self._depth == 0 and not self._in_string:
            return True  # the usual end: the bytes so far end where the message does
        # A message that ends inside these bytes, with the next one already begun.
        return closed >= before and _returns_to_zero(outside, before)


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
    data = data[: _message_end(data)]
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
