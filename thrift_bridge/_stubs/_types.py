"""Stubs of ``ttypes`` (enums, structs, unions, exceptions) and ``constants``.

Field types: ``required`` is the type itself, ``optional`` the type or None, a field of the
default requiredness the type when it has a default value and the type or None when it has
none (a reader leaves a field the peer did not send at its default). Exceptions, and structs
annotated ``python.immutable``, are frozen at run time: their fields are read-only properties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._idl import _model as m
from .._idl._resolve import is_immutable, type_info

if TYPE_CHECKING:
    from ._writer import StubModule

__all__ = ["constants_lines", "enum_lines", "field_type", "struct_lines"]

#: What every generated struct class has besides its fields.
_STRUCT_MEMBERS = ("thrift_spec", "read", "write", "validate")


def field_type(out: StubModule, field: m.Field, scope: frozenset[str]) -> str:
    """A field's attribute type (see the module docstring)."""
    spelled = out.annotation(type_info(out.program, field.type), scope)
    if field.requiredness == "required":
        return spelled
    if field.requiredness == "default" and field.default is not None:
        return spelled
    return f"{spelled} | None"


def enum_lines(out: StubModule, enum: m.Enum) -> list[str]:
    """An enum: a class of int constants and Apache's two lookup tables."""
    scope = frozenset(v.name for v in enum.values)
    final = out.typing_name("Final", scope)
    class_var = out.typing_name("ClassVar", scope)
    number, text = out.builtin("int", scope), out.builtin("str", scope)
    lines = [f"class {enum.name}:"]
    lines += [f"    {v.name}: {final} = {v.value}" for v in enum.values]
    lines.append(
        f"    _VALUES_TO_NAMES: {class_var}[{out.builtin('dict', scope)}[{number}, {text}]]"
    )
    lines.append(
        f"    _NAMES_TO_VALUES: {class_var}[{out.builtin('dict', scope)}[{text}, {number}]]"
    )
    return lines


def struct_lines(out: StubModule, struct: m.Struct) -> list[str]:
    """A struct, union or exception class: typed fields, ``__init__`` and Apache's methods."""
    scope = frozenset(f.name for f in struct.fields) | frozenset(_STRUCT_MEMBERS)
    immutable = is_immutable(struct)
    base = ""
    if struct.kind == "exception":
        out.imports.add("from thrift_bridge.typing import TException")
        base = "(TException)"
    lines = [f"class {struct.name}{base}:"]
    types = {f.name: field_type(out, f, scope) for f in struct.fields}
    for field in struct.fields:
        if immutable:  # set once in __init__; assigning raises TypeError
            lines += ["    @property", f"    def {field.name}(self) -> {types[field.name]}: ..."]
        else:
            lines.append(f"    {field.name}: {types[field.name]}")
    any_ = out.typing_name("Any", scope)
    lines.append(
        f"    thrift_spec: {out.typing_name('ClassVar', scope)}"
        f"[{out.builtin('tuple', scope)}[{any_}, ...]]"
    )
    if struct.fields:
        # Every parameter has a default at run time (None, or the IDL's default value).
        params = "".join(f", {f.name}: {types[f.name]} = ..." for f in struct.fields)
        lines.append(f"    def __init__(self{params}) -> None: ...")
    truth = out.builtin("bool", scope)
    if immutable:  # Apache reads a frozen struct into a new instance
        lines += ["    @classmethod", f"    def read(cls, iprot: {any_}) -> {struct.name}: ..."]
    else:
        lines.append(f"    def read(self, iprot: {any_}) -> None: ...")
    lines += [
        f"    def write(self, oprot: {any_}) -> None: ...",
        "    def validate(self) -> None: ...",
        f"    def __eq__(self, other: object) -> {truth}: ...",
        f"    def __ne__(self, other: object) -> {truth}: ...",
    ]
    if immutable:
        lines.append(f"    def __hash__(self) -> {out.builtin('int', scope)}: ...")
    else:
        # __eq__ without __hash__: Python makes instances unhashable
        lines.append(
            f"    __hash__: {out.typing_name('ClassVar', scope)}[None]  # type: ignore[assignment]"
        )
    return lines


def constants_lines(out: StubModule) -> list[str]:
    """Each constant with its type."""
    return [
        f"{d.name}: {out.annotation(type_info(out.program, d.type))}"
        for d in out.program.document.definitions
        if isinstance(d, m.Const)
    ]
