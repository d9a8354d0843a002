"""Values read from the tree the C JSON scanner parsed, as Apache's TJSONProtocol reads them.

Each struct class gets a reader compiled once from its `thrift_spec`. Objects come out of the
scanner as tuples of (key, value) pairs, so duplicate keys stay visible as Apache's reader
sees them. What is accepted is exactly what Apache's Python reader accepts (its number
spellings inside quoted keys, quoted doubles, base64 without padding, unknown and mistyped
fields skipped after the same checks, a map's declared size against its pairs), within our
size and depth limits.
"""

from __future__ import annotations

import binascii
import math
import threading
import uuid
from collections.abc import Callable
from typing import Any, Final

from thrift.Thrift import TFrozenDict, TType

from .._exceptions import ProtocolError
from ._json_read_source import MISSING, PLAIN_SCALARS, inline, struct_source
from ._json_write import INTEGERS, TYPE_NAMES, JsonLimits, compiled, spec_of

__all__ = ["NEGATIVE_ZERO", "Readers", "readers"]

#: The parser's stand-in for a bare ``-0``: 0 as an integer, -0.0 as a double (Apache reads
#: the text with int() or float(); the C scanner alone would turn it into the integer 0).
NEGATIVE_ZERO: Final = float("-0.0")

_TYPE_IDS: Final[dict[str, int]] = {name: ttype for ttype, name in TYPE_NAMES.items()}
_readers_lock = threading.Lock()

Reader = Callable[[Any, int], Any]


def _bad(what: str, value: Any) -> ProtocolError:
    """The error for a JSON value that is not the `what` TJSONProtocol has there."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ProtocolError(f"malformed TJSONProtocol reply: expected {what}, got {shown}")


def _as_int(value: Any) -> int:
    """A JSON integer; anything else is refused (the slow path of every integer check)."""
    if type(value) is int:
        return value
    if value is NEGATIVE_ZERO:
        return 0
    raise _bad("an integer", value)


def _int_text(text: Any) -> int:
    """A quoted integer (a map key or field id) read as Apache reads it.

    Apache takes the characters inside the quotes that may belong to a number and hands them
    to int(): signs and leading zeros pass, anything else (spaces, '_', '.') does not.
    """
    if type(text) is str and text and not text.strip("+-0123456789"):
        try:
            return int(text)
        except ValueError:
            pass
    raise _bad("an integer in quotes", text)


def _float_text(text: str) -> float:
    """A quoted double, through float() as Apache's reader does (so 'NaN', ' 1_0 ' pass)."""
    try:
        return float(text)
    except ValueError:
        raise _bad("a number", text) from None


def _read_integer(value: Any, depth: int) -> int:
    return value if type(value) is int else _as_int(value)


def _read_integer_key(value: Any, depth: int) -> int:
    return _int_text(value)


def _read_bool(value: Any, depth: int) -> bool:
    return (value if type(value) is int else _as_int(value)) != 0


def _read_bool_key(value: Any, depth: int) -> bool:
    return _int_text(value) != 0


def _read_double(value: Any, depth: int) -> float:
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        try:
            return float(value)
        except OverflowError:  # Apache's float() of the digits gives an infinity
            return math.inf if value > 0 else -math.inf
    if kind is str:
        return _float_text(value)  # Apache accepts quoted doubles anywhere
    raise _bad("a number", value)


def _read_double_key(value: Any, depth: int) -> float:
    return _float_text(value)


def _read_uuid(value: Any, depth: int) -> uuid.UUID:
    if type(value) is str:
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise _bad("a UUID", value)


def _read_container_key(value: Any, depth: int) -> Any:
    # A struct or container key is a bare object or array, which the C parser never lets
    # through; a string here is what Apache's reader refuses too.
    raise _bad("a struct or container as a map key", value)


class Readers:
    """Readers compiled from thrift_spec tables, all under one set of limits."""

    def __init__(self, limits: JsonLimits):
        self.limits = limits
        self._strings = limits.strings
        self._containers = limits.containers
        self._max_depth = limits.max_depth
        self._structs: dict[type, Reader] = {}
        self._building: dict[type, Reader] = {}
        self._lock = threading.RLock()

    def struct(self, cls: type) -> Reader:
        """The reader of a struct class: JSON object pairs -> an instance (compiled once)."""
        reader = self._structs.get(cls)
        if reader is not None:
            return reader
        with self._lock:
            reader = self._structs.get(cls) or self._building.get(cls)
            if reader is not None:
                return reader
            return self._compile_struct(cls)

    # -- values ----------------------------------------------------------------------------

    def _read_string(self, value: Any, depth: int) -> str:
        if type(value) is not str:
            raise _bad("a string", value)
        if len(value) > self._strings:
            raise self._too_long(len(value))
        return value

    def _read_binary(self, value: Any, depth: int) -> bytes:
        text = self._read_string(value, depth)
        # Apache pads to a multiple of four and decodes without validation (base64.b64decode):
        # the unpadded base64 C++ writes passes, characters outside the alphabet are dropped.
        try:
            return binascii.a2b_base64(text + "=" * (-len(text) % 4))
        except ValueError:
            raise _bad("base64", value) from None

    def _too_long(self, length: int) -> ProtocolError:
        return ProtocolError(
            f"a string of {length} characters exceeds string_length_limit={self._strings}"
        )

    def _elements(self, value: Any, depth: int) -> list[Any]:
        """A list or set's elements, checked against its declared type name, size and limits."""
        if type(value) is not list or len(value) < 2:
            raise _bad('a list ["type", size, ...]', value)
        self._check_depth(depth)
        self._type_id(value[0])
        self._check_size(value[1], len(value) - 2, value)
        return value[2:]

    def _pairs(self, value: Any, depth: int) -> tuple[tuple[str, Any], ...]:
        """A map's key-value pairs, checked against its declared type names, size and limits."""
        if type(value) is not list or len(value) != 4 or type(value[3]) is not tuple:
            raise _bad('a map ["key type", "value type", size, {...}]', value)
        self._check_depth(depth)
        self._type_id(value[0])
        self._type_id(value[1])
        pairs: tuple[tuple[str, Any], ...] = value[3]
        self._check_size(value[2], len(pairs), value)
        return pairs

    def _check_size(self, size: Any, count: int, value: Any) -> None:
        size = size if type(size) is int else _as_int(size)
        if size > self._containers:
            raise ProtocolError(
                f"a container of {size} elements exceeds container_length_limit={self._containers}"
            )
        # Apache reads exactly `size` elements and then expects the end (none when negative).
        if max(size, 0) != count:
            raise _bad(f"{size} elements", value)

    def _check_depth(self, depth: int) -> None:
        if depth > self._max_depth:
            raise self._too_deep()

    def _type_id(self, name: Any) -> int:
        ttype = _TYPE_IDS.get(name) if type(name) is str else None
        if ttype is None:
            raise _bad("a TJSONProtocol type name", name)
        return ttype

    def _reader(self, ttype: int, arg: Any, key: bool = False) -> Reader:
        """The reader of one value of type `ttype` (spec argument `arg`), or of a map key."""
        if ttype in INTEGERS:
            return _read_integer_key if key else _read_integer
        if ttype == TType.STRING:
            return self._read_binary if arg == "BINARY" else self._read_string
        if ttype == TType.DOUBLE:
            return _read_double_key if key else _read_double
        if ttype == TType.BOOL:
            return _read_bool_key if key else _read_bool
        if ttype == TType.UUID:
            return _read_uuid
        if key:
            return _read_container_key
        if ttype == TType.STRUCT:
            return self._nested_struct(arg[0])
        if ttype in (TType.LIST, TType.SET):
            return self._list_reader(ttype, *arg)
        if ttype == TType.MAP:
            return self._map_reader(*arg)
        raise TypeError(f"Thrift type {ttype} cannot be read from JSON")

    def _nested_struct(self, cls: type) -> Reader:
        reader = self._structs.get(cls) or self._building.get(cls)
        return reader if reader is not None else self._compile_struct(cls)

    def _list_reader(self, ttype: int, elem_type: int, elem_arg: Any, frozen: bool) -> Reader:
        """A list or set reader compiled from source: `_elements`' checks and the elements
        read in one comprehension, scalars in line."""
        namespace = self._namespace()
        namespace["_r0"] = self._reader(elem_type, elem_arg)
        kind = "" if ttype == TType.LIST and not frozen else "_kind"
        namespace["_kind"] = tuple if ttype == TType.LIST else frozenset if frozen else set
        lines = [
            "def read(value, depth):",
            "    if type(value) is not list or len(value) < 2:",
            "        raise _bad('a list [\"type\", size, ...]', value)",
            "    if depth > _MAX_DEPTH:",
            "        raise _too_deep()",
            "    name = value[0]",
            "    if type(name) is not str or name not in _TYPE_IDS:",
            "        raise _bad('a TJSONProtocol type name', name)",
            "    size = value[1]",
            "    count = len(value) - 2",
            "    if type(size) is not int or not 0 <= size <= _CONTAINERS or size != count:",
            "        _check_size(size, count, value)  # raises unless a size <= 0 fits",
            "    inner = depth + 1",
            "    items = value[2:]",
        ]
        read_all = f"{kind}([{inline(elem_type, elem_arg, 0)} for item in items])"
        plain = PLAIN_SCALARS.get(elem_type if elem_arg != "BINARY" else -1)
        if plain is not None:  # elements the JSON scanner already made what they read as
            lines += [
                "    for item in items:",
                f"        if not ({plain}):",
                f"            return {read_all}",
                f"    return {kind}(items)",
            ]
        else:
            lines.append(f"    return {read_all}")
        source = "\n".join(lines) + "\n"
        read: Reader = compiled(source, "read", "a list", namespace)
        return read

    def _namespace(self) -> dict[str, Any]:
        """What compiled readers refer to by name."""
        return {
            "_bad": _bad,
            "_as_int": _as_int,
            "_read_double": _read_double,
            "_MISSING": MISSING,
            "_TYPE_IDS": _TYPE_IDS,
            "_too_deep": self._too_deep,
            "_MAX_DEPTH": self._max_depth,
            "_STRINGS": self._strings,
            "_read_string": self._read_string,
            "_check_size": self._check_size,
            "_CONTAINERS": self._containers,
        }

    def _map_reader(
        self, key_type: int, key_arg: Any, value_type: int, value_arg: Any, frozen: bool
    ) -> Reader:
        read_key = self._reader(key_type, key_arg, key=True)
        read_value = self._reader(value_type, value_arg)
        pairs_of = self._pairs

        def read(value: Any, depth: int) -> Any:
            inner = depth + 1
            result = {read_key(k, inner): read_value(v, inner) for k, v in pairs_of(value, depth)}
            return TFrozenDict(result) if frozen else result

        return read

    def _compile_struct(self, cls: type) -> Reader:
        """Compile the reader of `cls` (under the lock): Python source made from its spec.

        Each field's canonical key ("1", as every writer spells it) and type name is tested
        in line, and scalars are read in line; any other key (another spelling of an id,
        unknown) or type name (mistyped: skipped) goes to `_other_field`, which does what
        the generic loop did. Apache's reader sets each field as it comes, so the last of
        duplicate keys wins; fields never seen keep their defaults from `cls()`.
        """
        fields: list[tuple[str, str, Reader]] = []
        by_key: dict[str, int] = {}
        by_id: dict[int, int] = {}
        # Frozen classes (exceptions, py:frozen) read through a classmethod and take kwargs.
        frozen = getattr(getattr(cls, "read", None), "__self__", None) is cls
        namespace = self._namespace()
        namespace["_cls"] = cls
        spec = [field for field in spec_of(cls) if field is not None]
        read: Reader = compiled(struct_source(spec, frozen), "read", cls.__qualname__, namespace)
        self._building[cls] = read
        try:
            for index, (fid, ftype, name, arg, _) in enumerate(spec):
                reader = self._reader(ftype, arg)
                fields.append((name, TYPE_NAMES[ftype], reader))
                namespace[f"_r{index}"] = reader
                by_key[str(fid)] = by_id[fid] = index
        finally:
            del self._building[cls]
        skip = self.skip

        def other_field(key: Any, typed: Any, depth: int) -> tuple[int, Any] | None:
            index = by_key.get(key)
            if index is None:  # another spelling Apache's int() reads ("01"), or unknown
                index = by_id.get(_int_text(key))
            if type(typed) is not tuple or len(typed) != 1:
                raise _bad('a field {"type": value}', typed)
            type_name, item = typed[0]
            if index is not None and type_name == fields[index][1]:
                return index, fields[index][2](item, depth)
            skip(type_name, item, depth)  # unknown, or not the declared type
            return None

        namespace["_other_field"] = other_field
        self._structs[cls] = read
        return read

    def _too_deep(self) -> ProtocolError:
        return ProtocolError(f"the reply nests deeper than max_depth={self._max_depth}")

    def skip(self, type_name: Any, value: Any, depth: int, key: bool = False) -> None:
        """Check a value the struct does not keep, as Apache's reader skips over it."""
        ttype = self._type_id(type_name)
        if ttype == TType.STRUCT and not key:
            if type(value) is not tuple:
                raise _bad("a struct object", value)
            self._check_depth(depth)
            for field_id, typed in value:
                _int_text(field_id)
                if type(typed) is not tuple or len(typed) != 1:
                    raise _bad('a field {"type": value}', typed)
                self.skip(typed[0][0], typed[0][1], depth + 1)
        elif ttype in (TType.LIST, TType.SET) and not key:
            elem_type = value[0] if type(value) is list and value else None
            for elem in self._elements(value, depth):
                self.skip(elem_type, elem, depth + 1)
        elif ttype == TType.MAP and not key:
            pairs = self._pairs(value, depth)
            for k, v in pairs:
                self.skip(value[0], k, depth + 1, key=True)
                self.skip(value[1], v, depth + 1)
        else:
            # Apache's skip() reads a string as a string, never as base64.
            self._reader(ttype, None, key)(value, depth)


_readers: dict[JsonLimits, Readers] = {}


def readers(limits: JsonLimits) -> Readers:
    """The readers for `limits` (one set per distinct limits, shared by every caller)."""
    found = _readers.get(limits)
    if found is None:
        with _readers_lock:
            found = _readers.setdefault(limits, Readers(limits))
    return found
