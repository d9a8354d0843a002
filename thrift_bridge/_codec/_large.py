"""Requests holding large strings or binaries, encoded in parts around them (no I/O).

Apache's C encoder (fastbinary) appends every string to its output buffer one byte at a time
(`std::copy` into a `std::back_inserter`, thrift/lib/py/src/ext/protocol.tcc `writeBuffer`):
about 2 ms per MiB here, some 80 times a memcpy. A request whose arguments hold a string or
binary of `LARGE_FIELD` bytes or more, at the top level or in a struct argument (and structs
in it, up to `_DEPTH` levels), is therefore encoded as a list of parts: the C encoder codes
each run of other fields, and each large value is sent as it is, after a field header and
length written here. The parts join to exactly the bytes Apache's encoder writes, in binary
and in compact (whose field headers depend on the field written before them; see `_header`).
Values in lists, sets and maps are left to the C encoder.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from thrift.Thrift import TType

__all__ = ["LARGE_FIELD", "LargeEncoder", "large_encoder", "varint"]

#: From this length on, a string or binary value is sent as it is, not copied by the C encoder.
LARGE_FIELD = 65536
_DEPTH = 3  # struct levels searched below the arguments (recursive structs end here)
_STOP = b"\x00"
_BINARY_FIELD = struct.Struct("!bh")
_BINARY_LENGTH = struct.Struct("!i")
_COMPACT_TYPES = {TType.STRING: 8, TType.STRUCT: 12}

#: The encoded argument struct, in parts, or None when no argument holds a large value.
LargeEncoder = Callable[[tuple[Any, ...]], "list[bytes] | None"]


def varint(n: int) -> bytes:
    """`n` (0 <= n < 2**32) as an unsigned LEB128 varint, as the compact protocol writes it."""
    # Each compact call codes its sequence id: up to 2**21 (three bytes) without a loop.
    if n < 0x80:
        return bytes((n,))
    if n < 0x4000:
        return bytes((n & 0x7F | 0x80, n >> 7))
    if n < 0x200000:
        return bytes((n & 0x7F | 0x80, n >> 7 & 0x7F | 0x80, n >> 14))
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _header(compact: bool, ttype: int, field_id: int, previous: int) -> bytes:
    """A field header; compact writes the id as a delta from the `previous` field's when small."""
    if not compact:
        return _BINARY_FIELD.pack(ttype, field_id)
    return _compact_header(_COMPACT_TYPES[ttype], field_id, previous)


def _compact_header(ctype: int, field_id: int, previous: int) -> bytes:
    """A compact field header: the id as a delta in the type's byte when 1..15, else zigzag."""
    delta = field_id - previous
    if 0 < delta <= 15:
        return bytes((delta << 4 | ctype,))
    return bytes((ctype,)) + varint((field_id << 1) ^ (field_id >> 15))


def _rebase(compact: bool, encoded: bytes, previous: int) -> bytes:
    """`encoded` (fields coded as the first of a struct) with its first field header rewritten
    as following field `previous`: compact's field ids are deltas within a struct."""
    if not compact or previous == 0:
        return encoded
    first = encoded[0]
    if first >> 4:  # short form: the delta from 0 is the id itself
        field_id, size = first >> 4, 1
    else:  # long form: type, then the zigzag varint id
        value, shift, size = 0, 0, 1
        while True:
            byte = encoded[size]
            value |= (byte & 0x7F) << shift
            size += 1
            shift += 7
            if not byte & 0x80:
                break
        field_id = (value >> 1) ^ -(value & 1)
    # Booleans keep their value in the type nibble: it is carried over as it is.
    return _compact_header(first & 0x0F, field_id, previous) + encoded[size:]


class _Shape:
    """One struct class's fields in wire order, and which of them may hold a large value."""

    __slots__ = ("cls", "fields", "probes", "spec")

    def __init__(self, cls: Any, depth: int):
        self.cls = cls
        self.spec = [cls, cls.thrift_spec]
        #: (field id, type, name, type arguments) in field id order, as the C encoder writes.
        self.fields = [field[:4] for field in cls.thrift_spec if field is not None]
        #: (name, what a large value is: str, bytes or the nested struct's shape)
        self.probes: list[tuple[str, Any]] = []
        for _, ttype, name, typeargs in self.fields:
            if ttype == TType.STRING:
                self.probes.append((name, str if typeargs == "UTF8" else bytes))
            elif ttype == TType.STRUCT and depth < _DEPTH:
                inner = _shape(typeargs[0], depth + 1)
                if inner is not None:
                    self.probes.append((name, inner))

    def holds_large(self, obj: Any) -> bool:
        """Whether `obj`, an instance, holds a large value where the probes look."""
        return any(_is_large(kind, getattr(obj, name, None)) for name, kind in self.probes)


def _is_large(kind: Any, value: Any) -> bool:
    """Whether `value` is a large string or binary of `kind`, or a struct holding one."""
    if isinstance(kind, _Shape):
        return type(value) is kind.cls and kind.holds_large(value)
    return type(value) is kind and len(value) >= LARGE_FIELD


def _shape(cls: Any, depth: int) -> _Shape | None:
    """The shape of struct class `cls`, or None when no large value can be found in it."""
    if getattr(cls, "thrift_spec", None) is None:
        return None
    shape = _Shape(cls, depth)
    return shape if shape.probes else None


def _encode_struct(
    shape: _Shape, values: dict[str, Any], encode: Any, compact: bool, parts: list[bytes]
) -> None:
    """Append the parts of a struct with these field `values` (its stop byte last)."""
    kinds = dict(shape.probes)
    run: dict[str, Any] = {}
    before_run = last = 0  # compact: the id of the field written before the run, and last
    for field_id, ttype, name, _ in shape.fields:
        value = values.get(name)
        if value is None:
            continue
        kind = kinds.get(name)
        if kind is None or not _is_large(kind, value):
            if not run:
                before_run = last
            run[name] = value
            last = field_id
            continue
        if run:
            _encode_run(shape, run, encode, compact, before_run, parts)
            run = {}
        parts.append(_header(compact, ttype, field_id, last))
        if isinstance(kind, _Shape):
            inner = {name: getattr(value, name) for _, _, name, _ in kind.fields}
            _encode_struct(kind, inner, encode, compact, parts)
        else:
            data = value.encode("utf-8") if kind is str else value
            size = varint(len(data)) if compact else _BINARY_LENGTH.pack(len(data))
            parts += (size, data)
        last = field_id
    if run:
        _encode_run(shape, run, encode, compact, before_run, parts)
    parts.append(_STOP)


def _encode_run(
    shape: _Shape, run: dict[str, Any], encode: Any, compact: bool, before: int, out: list[bytes]
) -> None:
    """Append the C encoder's bytes of the fields in `run` (and no others), stop byte cut."""
    # Every other field explicitly None: a constructor would give IDL defaults to the rest.
    instance = shape.cls(**{name: run.get(name) for _, _, name, _ in shape.fields})
    out.append(_rebase(compact, encode(instance, shape.spec)[:-1], before))


def large_encoder(
    args_class: Any, parameters: tuple[str, ...], compact: bool, encode: Any
) -> LargeEncoder | None:
    """How to encode the arguments of a method in parts around their large values (None: no
    argument can hold one). `encode` is the C encoder of the protocol (binary or compact)."""
    shape = _shape(args_class, 0)
    if shape is None:
        return None
    kinds = dict(shape.probes)
    checks = tuple(
        (position, kinds[name]) for position, name in enumerate(parameters) if name in kinds
    )
    strings = tuple((position, kind) for position, kind in checks if kind in (str, bytes))
    structs = tuple((position, kind) for position, kind in checks if kind not in (str, bytes))

    def encode_large(args: tuple[Any, ...]) -> list[bytes] | None:
        # Every call passes here: the common checks inline, structs searched only if present.
        for position, kind in strings:
            value = args[position]
            if type(value) is kind and len(value) >= LARGE_FIELD:
                break
        else:
            for position, kind in structs:
                if _is_large(kind, args[position]):
                    break
            else:
                return None
        parts: list[bytes] = []
        _encode_struct(shape, dict(zip(parameters, args)), encode, compact, parts)
        return parts

    return encode_large
