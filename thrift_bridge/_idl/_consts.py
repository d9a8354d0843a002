"""Constant values (``const`` definitions and field defaults) checked against their types.

`check_value` follows Apache's compiler: a name stands for a constant (its value is taken again
for the new type) or for ``Enum.VALUE``; an enum accepts an integer only if the enum defines it;
a double accepts an integer; a bool is an integer, true when > 0; a struct's value is a map
from field names. Map entries are kept in the order Apache's ``std::map`` puts them (ordered by
the key as written: integers, then doubles, then strings by their bytes, ...; a repeated key
keeps its first place and its last value), because that order reaches the generated dict and
the wire. Unlike Apache (which only warns), an integer that does not fit its type is an error:
the generated code could not send it.

The result is plain Python data plus `StructValue`, `ContainerValue` and `UuidValue`, which
`_build.py` turns into source text.
"""

from __future__ import annotations

import re
from typing import Any, Union

from . import _model as m
from ._resolve import Program, TypeInfo, fail, type_info

__all__ = ["ContainerValue", "StructValue", "UuidValue", "Value", "check_value", "token_of"]

_INT_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64}
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


class UuidValue(str):
    """A uuid constant in its canonical text form."""


class ContainerValue:
    """A list, set or map constant; a map's `items` are (key, value) pairs in Apache's order."""

    __slots__ = ("immutable", "items", "kind")

    def __init__(self, kind: str, items: list[Any], immutable: bool) -> None:
        self.kind = kind
        self.items = items
        self.immutable = immutable


class StructValue:
    """A struct constant: its definition and (field name, value) pairs."""

    __slots__ = ("fields", "program", "struct")

    def __init__(self, program: Program, struct: m.Struct, fields: list[tuple[str, Any]]) -> None:
        self.program = program
        self.struct = struct
        self.fields = fields


Value = Union[bool, int, float, str, bytes, UuidValue, ContainerValue, StructValue]


def check_value(
    program: Program, info: TypeInfo, value: m.ConstValue, _seen: tuple[str, ...] = ()
) -> Value:
    """`value` (written in `program`) as a value of type `info`, or IDLError at the culprit."""
    if isinstance(value, m.IdentifierValue):
        return _named_value(program, info, value, _seen)
    if info.kind == "base":
        return _base_value(program, info, value)
    if info.kind == "enum":
        assert isinstance(info.definition, m.Enum)
        if not isinstance(value, m.IntValue):
            raise _mismatch(program, value, info)
        if all(v.value != value.value for v in info.definition.values):
            raise fail(
                program,
                f"enum {info.definition.name} has no value {value.value}",
                value,
                str(value.value),
            )
        return value.value
    if info.kind in ("list", "set"):
        if not isinstance(value, m.ListValue):
            raise _mismatch(program, value, info)
        assert info.element is not None
        items = [check_value(program, info.element, item, _seen) for item in value.items]
        return ContainerValue(info.kind, items, info.immutable)
    if not isinstance(value, m.MapValue):
        raise _mismatch(program, value, info)
    if info.kind == "map":
        assert info.key is not None
        assert info.element is not None
        entries = [
            (check_value(program, info.key, k, _seen), check_value(program, info.element, v, _seen))
            for k, v in _apache_map_order(value)
        ]
        return ContainerValue("map", entries, info.immutable)
    struct = info.definition
    assert isinstance(struct, m.Struct)
    assert info.program is not None
    by_name = {f.name: f for f in struct.fields}
    fields = []
    for key, item in _apache_map_order(value):
        field = by_name.get(key.value) if isinstance(key, m.StringValue) else None
        if field is None:
            shown = key.value if isinstance(key, m.StringValue) else _text(key)
            raise fail(program, f"{struct.name} has no field {shown!r}", key, token_of(key))
        field_info = type_info(info.program, field.type)
        fields.append((field.name, check_value(program, field_info, item, _seen)))
    return StructValue(info.program, struct, fields)


def _base_value(program: Program, info: TypeInfo, value: m.ConstValue) -> Value:
    """A bool, integer, double, string, binary or uuid constant."""
    base = info.base
    if isinstance(value, m.IntValue) and base in _INT_BITS:
        limit = 2 ** (_INT_BITS[base] - 1)
        if not -limit <= value.value < limit:
            raise fail(program, f"{value.value} does not fit in {base}", value, str(value.value))
        return value.value
    if isinstance(value, m.IntValue) and base == "bool":
        return value.value > 0  # Apache renders True for > 0
    if isinstance(value, (m.IntValue, m.DoubleValue)) and base == "double":
        return float(value.value)
    if isinstance(value, m.StringValue) and base == "string":
        return value.value
    if isinstance(value, m.StringValue) and base == "binary":
        return value.value.encode("utf-8")
    if isinstance(value, m.StringValue) and base == "uuid":
        text = value.value
        if len(text) == 38 and text[0] == "{" and text[-1] == "}":
            text = text[1:-1]  # Apache also accepts the Windows GUID form
        if not _UUID.fullmatch(text):
            raise fail(program, f"invalid uuid {value.value!r}", value, value.value)
        return UuidValue(text)
    raise _mismatch(program, value, info)


def _named_value(
    program: Program, info: TypeInfo, value: m.IdentifierValue, seen: tuple[str, ...]
) -> Value:
    """The value a name stands for: a constant's (retyped), or ``Enum.VALUE``'s number."""
    prefix, dot, rest = value.name.partition(".")
    owner, local = (
        (program.includes[prefix], rest)
        if dot and prefix in program.includes
        else (program, value.name)
    )
    const = owner.consts.get(local)
    if const is not None:
        key = f"{owner.path}:{local}"
        if key in seen:
            raise fail(program, f"constant {value.name!r} refers to itself", value, value.name)
        return check_value(owner, info, const.value, (*seen, key))
    enum_name, dot, member = local.rpartition(".")
    enum = owner.types.get(enum_name) if dot else None
    if isinstance(enum, m.Enum):
        found = [v.value for v in enum.values if v.name == member]
        if not found:
            raise fail(program, f"enum {enum.name} has no value {member!r}", value, value.name)
        if info.kind == "enum" and info.definition is not enum:
            wanted = info.definition.name if info.definition is not None else "?"
            raise fail(program, f"{value.name} is not a value of {wanted}", value, value.name)
        if info.kind == "enum" or (info.kind == "base" and info.base in _INT_BITS):
            return _base_value(
                program,
                TypeInfo("base", base="i32"),
                m.IntValue(line=value.line, column=value.column, value=found[0]),
            )
        raise _mismatch(program, value, info)
    why = "is unqualified (write Enum.VALUE)" if not dot else "is not a constant or enum value"
    raise fail(program, f"identifier {value.name!r} {why}", value, value.name)


def _apache_map_order(value: m.MapValue) -> list[tuple[m.ConstValue, m.ConstValue]]:
    """The entries in the order of Apache's ``std::map<t_const_value*, ..., value_compare>``."""
    kept: dict[Any, tuple[m.ConstValue, m.ConstValue]] = {}
    for key, item in value.entries:
        order = _order(key)
        kept[order] = (kept[order][0], item) if order in kept else (key, item)
    return [kept[k] for k in sorted(kept)]


def _order(value: m.ConstValue) -> tuple[Any, ...]:
    """A sort key equal to Apache's ``t_const_value::operator<`` on the value as written."""
    if isinstance(value, m.IntValue):
        return (0, value.value)
    if isinstance(value, m.DoubleValue):
        return (1, value.value)
    if isinstance(value, m.StringValue):
        return (2, value.value.encode("utf-8"))
    if isinstance(value, m.MapValue):
        return (3, tuple((_order(k), _order(v)) for k, v in _apache_map_order(value)))
    if isinstance(value, m.ListValue):
        return (4, tuple(_order(v) for v in value.items))
    return (5, value.name.encode("utf-8"))


def _text(value: m.ConstValue) -> str:
    """A value for messages: its token, a string quoted, a list or map elided."""
    if isinstance(value, m.StringValue):
        return repr(value.value)
    return {"[": "[...]", "{": "{...}"}.get(token_of(value), token_of(value))


def token_of(value: m.ConstValue) -> str:
    """The source text a value starts with, as near as the tree keeps it."""
    if isinstance(value, (m.IntValue, m.DoubleValue, m.StringValue)):
        return str(value.value)
    if isinstance(value, m.IdentifierValue):
        return value.name
    return "[" if isinstance(value, m.ListValue) else "{"


def _mismatch(program: Program, value: m.ConstValue, info: TypeInfo) -> Exception:
    """The error for a value of the wrong kind for its type."""
    if info.kind == "base":
        wanted = str(info.base)
    elif info.kind in ("struct", "enum"):
        assert info.definition is not None
        wanted = f"{info.kind} {info.definition.name}"
    else:
        wanted = info.kind
    return fail(program, f"{_text(value)} is not a valid {wanted} value", value, token_of(value))
