"""`describe --idl`: the describe document from the IDL's syntax tree (`thrift_bridge._idl`).

The tree keeps what generated code loses: a field's typedef or enum name, ``optional`` against
default requiredness, unions, and the types of constants. Nothing is imported or built.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError
from .._idl import _model as m
from .._idl import require_lark
from ._describe import empty_document, json_key, plain_value

if TYPE_CHECKING:
    from .._idl._resolve import Program

__all__ = ["describe_idl"]


def describe_idl(path: str) -> dict[str, Any]:
    """The document of an IDL file and the files it includes (theirs qualified: ``common.X``)."""
    if not os.path.isfile(path):
        raise ConfigError(f"IDL file {path!r} does not exist")
    require_lark("describe --idl")
    from .._idl._resolve import checked_programs

    programs = checked_programs(os.path.abspath(path))
    root = programs[-1]
    document = empty_document()
    for program in [root, *programs[:-1]]:
        _add_program(document, program, root)
    return document


def _add_program(document: dict[str, Any], program: Program, root: Program) -> None:
    """Every definition of one program into `document`."""
    from .._idl._consts import check_value
    from .._idl._resolve import type_info

    prefix = "" if program is root else f"{program.name}."
    for definition in program.document.definitions:
        name = prefix + definition.name
        if isinstance(definition, m.Typedef):
            document["typedefs"][name] = _spell(program, definition.type, root)
        elif isinstance(definition, m.Enum):
            document["enums"][name] = {v.name: v.value for v in definition.values}
        elif isinstance(definition, m.Const):
            value = check_value(program, type_info(program, definition.type), definition.value)
            document["constants"][name] = {
                "type": _spell(program, definition.type, root),
                "value": _value(value),
            }
        elif isinstance(definition, m.Struct):
            fields = []
            for field in definition.fields:
                described = _field(program, field, root)
                described["requiredness"] = field.requiredness
                if field.default is not None:
                    info = type_info(program, field.type)
                    described["default"] = _value(check_value(program, info, field.default))
                fields.append(described)
            document["structs"][name] = {"kind": definition.kind, "fields": fields}
        elif isinstance(definition, m.Service):
            # Called by its own name (`Service.method`), its bases' methods included.
            document["services"][definition.name] = _methods(program, definition, root)


def _methods(program: Program, service: m.Service, root: Program) -> list[dict[str, Any]]:
    """Each method of `service` and the services it extends, in name order."""
    from .._idl._resolve import find_service

    found: dict[str, tuple[Program, m.Function]] = {}
    while True:
        for function in service.functions:
            found.setdefault(function.name, (program, function))
        if service.extends is None:
            break
        program, service = find_service(program, service.extends)
    return [
        {
            "name": name,
            "arguments": [_field(owner, a, root) for a in function.arguments],
            "returns": (
                _spell(owner, function.return_type, root) if function.return_type else "void"
            ),
            "throws": [_field(owner, t, root) for t in function.throws],
            "oneway": function.oneway,
        }
        for name, (owner, function) in sorted(found.items())
    ]


def _field(program: Program, field: m.Field, root: Program) -> dict[str, Any]:
    """``{"id", "name", "type"}`` of a field, argument or exception."""
    return {"id": field.id, "name": field.name, "type": _spell(program, field.type, root)}


def _spell(program: Program, ftype: m.FieldType, root: Program) -> str:
    """A type as the root file would write it: typedef and enum names kept."""
    if isinstance(ftype, m.BaseType):
        return ftype.name
    if isinstance(ftype, m.ListType):
        return f"list<{_spell(program, ftype.element, root)}>"
    if isinstance(ftype, m.SetType):
        return f"set<{_spell(program, ftype.element, root)}>"
    if isinstance(ftype, m.MapType):
        return f"map<{_spell(program, ftype.key, root)},{_spell(program, ftype.value, root)}>"
    include, dot, local = ftype.name.partition(".")
    owner = program.includes[include] if dot and include in program.includes else program
    name = local if owner is not program else ftype.name
    return name if owner is root else f"{owner.name}.{name}"


def _value(value: Any) -> Any:
    """A checked constant value (`_consts.check_value`'s) as JSON-ready data."""
    from .._idl._consts import ContainerValue, StructValue, check_value
    from .._idl._resolve import type_info

    if isinstance(value, StructValue):
        given = dict(value.fields)
        result = {}
        for field in value.struct.fields:  # the struct as built: unnamed fields get defaults
            if field.name in given:
                result[field.name] = _value(given[field.name])
            elif field.default is not None:
                info = type_info(value.program, field.type)
                result[field.name] = _value(check_value(value.program, info, field.default))
        return result
    if isinstance(value, ContainerValue):
        if value.kind == "map":
            return {json_key(_value(k)): _value(v) for k, v in value.items}
        items = [_value(item) for item in value.items]
        if value.kind == "set":
            items = [item for i, item in enumerate(items) if item not in items[:i]]
            with contextlib.suppress(TypeError):  # a set of structs has no order
                items.sort()
        return items
    return plain_value(value)
