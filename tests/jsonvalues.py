"""Random Thrift values built from `thrift_spec`, Apache's TJSONProtocol as the reference codec,
and a NaN-aware normal form to compare decoded values with (shared by the JSON codec tests)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from thrift.protocol.TJSONProtocol import TJSONProtocol
from thrift.Thrift import TApplicationException, TMessageType, TType
from thrift.transport.TTransport import TMemoryBuffer, TTransportException

from .generated.alltypes import AllTypes
from .generated.alltypes import ttypes as alltypes
from .generated.jsonshapes import Shapes
from .generated.jsonshapes import ttypes as shapes

_BOUNDS = {TType.BYTE: 8, TType.I16: 16, TType.I32: 32, TType.I64: 64}

#: Strings rich in what a JSON writer must get right: every escape, raw control characters,
#: '/', DEL, non-ASCII, non-BMP.
TEXT = st.text(max_size=24) | st.text(
    st.sampled_from('"\\\b\f\n\r\t\x00\x01\x1f\x7f/é€😀\U0010fffd a0{}[]:,'), max_size=24
)


def values(ttype: int, arg: Any, depth: int = 0, key: bool = False) -> st.SearchStrategy[Any]:
    """Values of one Thrift type (`arg` is its thrift_spec argument); hashable ones for keys."""
    if ttype == TType.BOOL:
        return st.booleans()
    if ttype in _BOUNDS:
        half = 1 << (_BOUNDS[ttype] - 1)
        return st.integers(-half, half - 1)
    if ttype == TType.DOUBLE:
        return st.floats()  # NaN, both infinities and -0.0 included
    if ttype == TType.STRING:
        return st.binary(max_size=24) if arg == "BINARY" else TEXT
    if ttype == TType.STRUCT:
        return structs(arg[0], depth + 1, frozen_only=key)
    if ttype == TType.LIST:
        elems = st.lists(values(arg[0], arg[1], depth + 1, key), max_size=3)
        return elems.map(tuple) if key else elems
    if ttype == TType.SET:
        return st.sets(values(arg[0], arg[1], depth + 1, key=True), max_size=3)
    if ttype == TType.MAP:
        return st.dictionaries(
            values(arg[0], arg[1], depth + 1, key=True),
            values(arg[2], arg[3], depth + 1),
            max_size=3,
        )
    raise AssertionError(f"no strategy for Thrift type {ttype}")


def structs(cls: type, depth: int = 0, frozen_only: bool = False) -> st.SearchStrategy[Any]:
    """Instances of a generated struct class, each field set or left out (None)."""
    fields = {}
    for field in cls.thrift_spec:  # type: ignore[attr-defined]
        if field is None:
            continue
        _, ftype, name, arg, _ = field
        if depth > 3 and ftype in (TType.STRUCT, TType.LIST, TType.MAP):
            fields[name] = st.none()  # recursive types (Tree) stop here
        elif frozen_only and ftype == TType.LIST:
            fields[name] = st.none()  # a list inside a key would make it unhashable
        else:
            fields[name] = st.none() | values(ftype, arg, depth)
    return st.fixed_dictionaries(fields).map(lambda kwargs: cls(**kwargs))


def _is_message_class(cls: Any) -> bool:
    return isinstance(cls, type) and getattr(cls, "thrift_spec", None) is not None


#: Every struct, union, exception and method args/result class of both test IDLs, except the
#: struct with non-JSON keys (see `STRUCT_KEYS`), which Apache cannot always read back.
CLASSES = sorted(
    (
        cls
        for module in (alltypes, shapes, AllTypes, Shapes)
        for cls in vars(module).values()
        if _is_message_class(cls) and cls.__module__ == module.__name__
        if cls
        not in (shapes.StructKeys, Shapes.echo_struct_keys_args, Shapes.echo_struct_keys_result)
    ),
    key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
)

MESSAGE_TYPES = st.sampled_from([TMessageType.CALL, TMessageType.REPLY, TMessageType.ONEWAY])
SEQIDS = st.integers(-(2**31), 2**31 - 1)


class CppDoubles(TJSONProtocol):  # type: ignore[misc]
    """Apache's Python writer with its one unreadable output fixed as C++ and Java write it:
    NaN and the infinities as "NaN", "Infinity", "-Infinity" instead of bare nan/inf."""

    def writeDouble(self, dbl: float) -> None:  # noqa: N802 - Apache's name
        if math.isfinite(dbl):
            super().writeDouble(dbl)
        else:
            self.writeJSONString("NaN" if dbl != dbl else "Infinity" if dbl > 0 else "-Infinity")


def apache_bytes(
    name: str, message_type: int, seqid: int, obj: Any, protocol: type = TJSONProtocol
) -> bytes:
    """The message as Apache's TJSONProtocol (or `protocol`) writes it, through obj.write()."""
    buffer = TMemoryBuffer()
    proto = protocol(buffer)
    proto.writeMessageBegin(name, message_type, seqid)
    obj.write(proto)
    proto.writeMessageEnd()
    return bytes(buffer.getvalue())


class ExactBuffer(TMemoryBuffer):  # type: ignore[misc]
    """A memory buffer raising at its end (else Apache's reader loops on a number there)."""

    def read(self, sz: int) -> bytes:
        data: bytes = self._buffer.read(sz)
        if len(data) < sz:
            raise TTransportException(TTransportException.END_OF_FILE, "end of the message")
        return data


def apache_decode(data: bytes, cls: type) -> tuple[str, int, int, Any]:
    """(name, type, seqid, struct) as Apache's reader and the generated read() decode `data`,
    which must hold exactly one message (an EXCEPTION message's struct is TApplicationException)."""
    buffer = ExactBuffer(data)
    proto = TJSONProtocol(buffer)
    name, message_type, seqid = proto.readMessageBegin()
    if message_type == TMessageType.EXCEPTION:
        cls = TApplicationException
    if (
        getattr(getattr(cls, "read", None), "__self__", None) is cls
    ):  # frozen classes read through a classmethod
        obj = cls.read(proto)  # type: ignore[attr-defined]
    else:
        obj = cls()
        obj.read(proto)
    proto.readMessageEnd()
    if buffer._buffer.tell() != len(data):
        raise ValueError("bytes after the message")
    return name, message_type, seqid, obj


def as_read(value: Any) -> Any:
    """`value` as a reader returns it: fields left out take their IDL defaults."""
    if isinstance(value, list):
        return [as_read(item) for item in value]
    if isinstance(value, dict):
        return {as_read(k): as_read(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset, tuple)):
        return type(value)(as_read(item) for item in value)
    spec = getattr(value, "thrift_spec", None)
    if spec is None:
        return value
    present = {f[2]: as_read(getattr(value, f[2])) for f in spec if f is not None}
    return type(value)(**{name: item for name, item in present.items() if item is not None})


def normal(value: Any) -> Any:
    """A hashable normal form: NaN equal to NaN, -0.0 apart from 0.0, structs by their fields."""
    if isinstance(value, float):
        return ("double", repr(value))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(normal(item) for item in value))
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(normal(item) for item in value))
    if isinstance(value, dict):
        return ("map", frozenset((normal(k), normal(v)) for k, v in value.items()))
    if isinstance(value, TApplicationException):
        return ("TApplicationException", value.type, value.message)
    spec = getattr(value, "thrift_spec", None)
    if spec is not None:
        fields = tuple((f[2], normal(getattr(value, f[2]))) for f in spec if f is not None)
        return (type(value).__qualname__, fields)
    return value
