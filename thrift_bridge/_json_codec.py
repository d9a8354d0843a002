"""Apache's TJSONProtocol wire format, coded from generated `thrift_spec` tables.

Apache's `TJSONProtocol` reads and writes one character at a time in Python. Here each struct
class gets a writer and a reader compiled once from its `thrift_spec`: the writer builds the
message text in a few joins, the reader interprets the tree that the standard library's C
scanner parsed (`_json_stream` does the parsing and framing). Objects come out of the scanner
as tuples of (key, value) pairs, so duplicate keys stay visible as Apache's reader sees them.

Writing is byte for byte what Apache's Python writer produces, with two deliberate exceptions:

- NaN and the infinities are written "NaN", "Infinity" and "-Infinity" (quoted), as Apache's
  C++ and Java writers do. Apache's Python writer emits bare ``nan``/``inf``, which no Thrift
  reader accepts, its own included.
- An integer field holding a float or a string raises TypeError, as the binary C codec does;
  Apache's writer would send ``1.5`` or ``True`` for the server to reject.

Reading accepts exactly what Apache's Python reader accepts (its number spellings inside quoted
keys, quoted doubles, base64 without padding, unknown fields and mistyped fields skipped after
the same checks, a map's declared size against its pairs), within our size and depth limits.
"""

from __future__ import annotations

import binascii
import math
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from thrift.protocol.TProtocol import TProtocolException
from thrift.Thrift import TApplicationException, TFrozenDict, TType

from .exceptions import ProtocolError

__all__ = [
    "NEGATIVE_ZERO",
    "TYPE_NAMES",
    "JsonLimits",
    "encode_message",
    "quote",
    "readers",
    "struct_writer",
]

#: The type names TJSONProtocol writes before each value (TJSONProtocol.py CTYPES).
TYPE_NAMES: Final = {
    TType.BOOL: "tf",
    TType.BYTE: "i8",
    TType.I16: "i16",
    TType.I32: "i32",
    TType.I64: "i64",
    TType.DOUBLE: "dbl",
    TType.STRING: "str",
    TType.STRUCT: "rec",
    TType.LIST: "lst",
    TType.SET: "set",
    TType.MAP: "map",
    TType.UUID: "uid",
}
_TYPE_IDS: Final[dict[str, int]] = {name: ttype for ttype, name in TYPE_NAMES.items()}
_INTEGERS: Final = {TType.BYTE: 8, TType.I16: 16, TType.I32: 32, TType.I64: 64}

#: The parser's stand-in for a bare ``-0``: 0 as an integer, -0.0 as a double (Apache reads
#: the text with int() or float(); the C scanner alone would turn it into the integer 0).
NEGATIVE_ZERO: Final = float("-0.0")

#: TApplicationException has no thrift_spec; its read() follows this one.
_APPLICATION_EXCEPTION_SPEC: Final = (
    None,
    (1, TType.STRING, "message", "UTF8", None),
    (2, TType.I32, "type", None, None),
)


@dataclass(frozen=True)
class JsonLimits:
    """What a reply may hold: bytes in all, characters a string, elements a container, depth.

    Depth counts structs and containers, the reply's own struct being 1 (64 is Thrift's
    TConfiguration default). Strings and containers default to the message size, as our
    binary and compact protocols are configured.
    """

    max_message_size: int = 100 * 1024 * 1024
    string_length_limit: int | None = None
    container_length_limit: int | None = None
    max_depth: int = 64

    @property
    def strings(self) -> int:
        """The longest string or binary value read, in characters."""
        return (
            self.max_message_size if self.string_length_limit is None else self.string_length_limit
        )

    @property
    def containers(self) -> int:
        """The most elements (or map pairs) one container may declare."""
        limit = self.container_length_limit
        return self.max_message_size if limit is None else limit


# -- writing ---------------------------------------------------------------------------------

Writer = Callable[[Any], str]

# Apache escapes these seven and writes every other character as it is, control characters
# included (TJSONProtocol.py ESCAPE_CHAR_VALS). The backslash goes first.
_ESCAPES: Final = (
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("\b", "\\b"),
    ("\f", "\\f"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
)
_NEEDS_ESCAPE: Final = re.compile('["\\\\\b\f\n\r\t]')
_SHORT: Final = 256  # below this a regex search is the cheaper check; above, seven memchr scans


def quote(text: str) -> str:
    """`text` as TJSONProtocol writes a string."""
    if type(text) is not str:
        raise TypeError(f"a Thrift string must be str, not {type(text).__name__}")
    if (
        _NEEDS_ESCAPE.search(text) is not None
        if len(text) < _SHORT
        else any(char in text for char, _ in _ESCAPES)
    ):
        for char, escaped in _ESCAPES:
            text = text.replace(char, escaped)
    return '"' + text + '"'


def _integer(value: Any) -> int:
    """An int subclass (an IntEnum, a bool) as a plain int; anything else is refused."""
    if isinstance(value, int):
        return int(value)
    raise TypeError(f"a Thrift integer must be int, not {type(value).__name__}")


def _integer_writer(bits: int, key: bool) -> Writer:
    """A writer of a `bits`-wide integer, range-checked as Apache's checkIntegerLimits."""
    low, high = -(1 << bits - 1), (1 << bits - 1) - 1
    message = f"i{bits} requires {low} <= number <= {high}"

    def write(value: Any) -> str:
        if type(value) is not int:
            value = _integer(value)
        if low <= value <= high:
            return f'"{value}"' if key else str(value)
        raise TProtocolException(TProtocolException.INVALID_DATA, message)

    return write


# What `"%.17g" % x` gives for the non-finite doubles, and what C++ and Java write for them.
_NON_FINITE: Final = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}


def _write_double(value: Any) -> str:
    if type(value) is not float:
        if not isinstance(value, (int, float)):
            raise TypeError(f"a Thrift double must be float, not {type(value).__name__}")
        value = float(value)
    # 17 significant digits, as Apache's writer formats ('{0:.17g}'); C++ writes the same.
    text = format(value, ".17g")
    return _NON_FINITE[text] if text[-1] in "nf" else text


def _write_double_key(value: Any) -> str:
    text = _write_double(value)
    return text if text[0] == '"' else '"' + text + '"'


def _write_binary(value: Any) -> str:
    return '"' + binascii.b2a_base64(value, newline=False).decode("ascii") + '"'


def _write_uuid(value: Any) -> str:
    return quote(str(value))


def _write_bool(value: Any) -> str:
    return "1" if value is True else "0"  # Apache's test: `1 if boolean is True else 0`


def _write_bool_key(value: Any) -> str:
    return '"1"' if value is True else '"0"'


def _writer(ttype: int, arg: Any, key: bool = False) -> Writer:
    """The writer of one value of Thrift type `ttype` (spec argument `arg`), as a map key too.

    A key is written as a value is, except that numbers are quoted: Apache writes a struct or
    a container key as a bare object or array, which is not JSON, and so do we.
    """
    if ttype in _INTEGERS:
        return _integer_writer(_INTEGERS[ttype], key)
    if ttype == TType.STRING:
        return _write_binary if arg == "BINARY" else quote
    if ttype == TType.DOUBLE:
        return _write_double_key if key else _write_double
    if ttype == TType.BOOL:
        return _write_bool_key if key else _write_bool
    if ttype == TType.STRUCT:
        return _struct_writer_of(arg[0])
    if ttype in (TType.LIST, TType.SET):
        return _list_writer(arg[0], arg[1])
    if ttype == TType.MAP:
        return _map_writer(arg[0], arg[1], arg[2], arg[3])
    if ttype == TType.UUID:
        return _write_uuid
    raise TypeError(f"Thrift type {ttype} cannot be written as JSON")


def _list_writer(elem_type: int, elem_arg: Any) -> Writer:
    head = f'["{TYPE_NAMES[elem_type]}",'
    write_elem = _writer(elem_type, elem_arg)

    def write(value: Any) -> str:
        if not len(value):
            return head + "0]"
        return head + str(len(value)) + "," + ",".join(map(write_elem, value)) + "]"

    return write


def _map_writer(key_type: int, key_arg: Any, value_type: int, value_arg: Any) -> Writer:
    head = f'["{TYPE_NAMES[key_type]}","{TYPE_NAMES[value_type]}",'
    write_key = _writer(key_type, key_arg, key=True)
    write_value = _writer(value_type, value_arg)

    def write(value: Any) -> str:
        pairs = [write_key(k) + ":" + write_value(v) for k, v in value.items()]
        return head + str(len(value)) + ",{" + ",".join(pairs) + "}]"

    return write


def _spec_of(cls: type) -> tuple[Any, ...]:
    """The field table of a struct class (TApplicationException's own for it)."""
    if cls is TApplicationException:
        return _APPLICATION_EXCEPTION_SPEC
    spec = getattr(cls, "thrift_spec", None)
    if spec is None:
        raise TypeError(f"{cls.__qualname__} has no thrift_spec: not a generated Thrift struct")
    return tuple(spec)


def encode_message(name: str, message_type: int, seqid: int, args: Any) -> bytes:
    """A whole message, `[1,"name",type,seqid,{args}]`, with `args` written by its class's spec."""
    body = struct_writer(type(args))(args)
    return f"[1,{quote(name)},{message_type},{seqid},{body}]".encode()


_writers: dict[type, Writer] = {}
_building: dict[type, Writer] = {}
_compile_lock = threading.RLock()


def struct_writer(cls: type) -> Writer:
    """The writer of instances of a generated struct class, compiled once per class."""
    writer = _writers.get(cls)
    return writer if writer is not None else _struct_writer_of(cls)


def _struct_writer_of(cls: type) -> Writer:
    with _compile_lock:
        writer = _writers.get(cls) or _building.get(cls)
        if writer is not None:
            return writer  # compiled, or being compiled further up this thread's stack
        fields: list[tuple[str, str, Writer]] = []

        def write(obj: Any) -> str:
            parts = []
            for name, head, write_value in fields:
                value = getattr(obj, name)
                if value is not None:
                    parts.append(head + write_value(value) + "}")
            return "{" + ",".join(parts) + "}"

        _building[cls] = write  # a recursive struct refers to itself while being compiled
        try:
            # thrift_spec is indexed by field id, and the generated write() emits fields in id
            # order whatever order the IDL declares them in (t_py_generator: sorted members).
            for fid, ftype, name, arg, _ in filter(None, _spec_of(cls)):
                fields.append((name, f'"{fid}":{{"{TYPE_NAMES[ftype]}":', _writer(ftype, arg)))
        finally:
            del _building[cls]
        _writers[cls] = write
        return write


# -- reading ---------------------------------------------------------------------------------

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
            raise ProtocolError(f"the reply nests deeper than max_depth={self._max_depth}")

    def _type_id(self, name: Any) -> int:
        ttype = _TYPE_IDS.get(name) if type(name) is str else None
        if ttype is None:
            raise _bad("a TJSONProtocol type name", name)
        return ttype

    def _reader(self, ttype: int, arg: Any, key: bool = False) -> Reader:
        """The reader of one value of type `ttype` (spec argument `arg`), or of a map key."""
        if ttype in _INTEGERS:
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
        read_elem = self._reader(elem_type, elem_arg)
        elements = self._elements
        if ttype == TType.LIST and not frozen:

            def read_list(value: Any, depth: int) -> Any:
                inner = depth + 1
                return [read_elem(elem, inner) for elem in elements(value, depth)]

            return read_list
        kind: Callable[[Any], Any] = tuple
        if ttype == TType.SET:
            kind = frozenset if frozen else set

        def read(value: Any, depth: int) -> Any:
            inner = depth + 1
            return kind([read_elem(elem, inner) for elem in elements(value, depth)])

        return read

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
        """Compile the reader of `cls` (under the lock)."""
        by_key: dict[str, tuple[str, str, Reader]] = {}
        by_id: dict[int, tuple[str, str, Reader]] = {}
        # Frozen classes (exceptions, py:frozen) read through a classmethod and take kwargs.
        frozen = getattr(getattr(cls, "read", None), "__self__", None) is cls
        check_depth, skip = self._check_depth, self.skip

        def read(value: Any, depth: int) -> Any:
            if type(value) is not tuple:
                raise _bad("a struct object", value)
            check_depth(depth)
            inner = depth + 1
            fields: dict[str, Any] = {}
            for key, typed in value:
                field = by_key.get(key)
                if field is None:  # another spelling Apache's int() reads ("01"), or unknown
                    field = by_id.get(_int_text(key))
                if type(typed) is not tuple or len(typed) != 1:
                    raise _bad('a field {"type": value}', typed)
                type_name, item = typed[0]
                if field is not None and type_name == field[1]:
                    fields[field[0]] = field[2](item, inner)
                else:  # unknown, or not the declared type: skipped after Apache's checks
                    skip(type_name, item, inner)
            if frozen:
                return cls(**fields)
            obj = cls()
            for name, item in fields.items():
                setattr(obj, name, item)
            return obj

        self._building[cls] = read
        try:
            for field in _spec_of(cls):
                if field is not None:
                    fid, ftype, name, arg, _ = field
                    entry = (name, TYPE_NAMES[ftype], self._reader(ftype, arg))
                    by_key[str(fid)] = by_id[fid] = entry
        finally:
            del self._building[cls]
        self._structs[cls] = read
        return read

    def skip(self, type_name: Any, value: Any, depth: int, key: bool = False) -> None:
        """Check a value the struct does not keep, as Apache's skip() reads it."""
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
        with _compile_lock:
            found = _readers.setdefault(limits, Readers(limits))
    return found
