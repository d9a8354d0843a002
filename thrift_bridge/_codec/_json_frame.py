"""Where TJSONProtocol messages end in a byte stream: strings skipped, brackets counted.

`_json_stream.MessageReader` scans each byte it is fed once, with these: what a region holds
outside strings (its brackets and whitespace), taken with C-level finds, translates and
splits rather than a Python step per byte or per string, and whether the bracket depth falls
back to zero inside it.
"""

from __future__ import annotations

import itertools
import operator
import re
from typing import Final

__all__ = [
    "closing_quote",
    "message_end",
    "outside_strings",
    "outside_strings_exactly",
    "returns_to_zero",
    "window_outside_strings",
]

_WHITESPACE: Final = b" \t\n\r"


def closing_quote(data: bytes | bytearray, pos: int) -> int:
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


def outside_strings(region: bytearray) -> tuple[bytes | bytearray, bool]:
    """The brackets and whitespace of `region` outside strings (nothing else), and whether it
    ends inside one.

    `region` starts outside a string. It is taken a window at a time from a string's opening
    quote (`window_outside_strings`): a window costs a few C passes over its bytes, however
    many strings it holds. A long string, and the rest of one a window ends in, is skipped
    with finds (memchr: a 1 MiB string costs microseconds).
    """
    if len(region) <= _FIRST_WINDOW:
        return window_outside_strings(region)
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
            outside, inside = window_outside_strings(region[opening:last])
            pieces.append(outside)
            pos = last if inside else last + 1
        pos = closing_quote(region, pos) + 1
        if pos == 0:
            inside = True
            break
        inside = False
    return b"".join(pieces).translate(None, _NOT_STRUCTURE), inside


def window_outside_strings(window: bytearray) -> tuple[bytes | bytearray, bool]:
    """`outside_strings` of a window that starts outside a string, in a few C passes.

    Without an escaped quote, every quote delimits a string. With all but quotes, brackets and
    whitespace deleted, a string holding none of those is left as '""'; removing each pair of
    adjacent quotes keeps the rest alternating (a string's own pair, or two strings with
    nothing between them made one), so splitting what is left on '"' puts the outside at the
    even places.
    """
    if b"\\" in window and b'\\"' in window:
        outside, inside = outside_strings_exactly(window)
        return outside.translate(None, _NOT_STRUCTURE), inside
    parts = window.translate(None, _NOT_STRUCTURE).replace(b'""', b"").split(b'"')
    return b"".join(parts[::2]), len(parts) % 2 == 0


def outside_strings_exactly(region: bytearray) -> tuple[bytes, bool]:
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
        closing = closing_quote(region, opening + 1)
        if closing < 0:
            return b"".join(pieces), True
        pos = closing + 1
    rest = region[pos:]
    if b"\\" in rest and b'\\"' in rest:  # memchr first: most text has no backslash at all
        more, inside = outside_strings_exactly(rest)
        return b"".join(pieces) + more, inside
    parts = rest.split(b'"')
    return b"".join(pieces) + b"".join(parts[::2]), len(parts) % 2 == 0


# For the running bracket depth: '[' and '{' step 2, ']' and '}' step 0, one step per bracket.
_BRACKET_STEPS: Final = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKETS: Final = bytes(sorted(set(range(256)) - set(b"[]{}")))
_OPEN_CLOSE: Final = bytes.maketrans(b"[{]}", b"(())")
_PAIR_PASSES: Final = 16  # nesting levels peeled off before the depth is followed step by step
_STRUCTURE: Final = re.compile(rb'["\[\]{}]')


def returns_to_zero(outside: bytes | bytearray, depth: int) -> bool:
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


def message_end(data: bytes) -> int:
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
            closing = closing_quote(data, pos)
            if closing < 0:
                return len(data)
            pos = closing + 1
        elif char in b"[{":
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return pos
