"""Source text for loaded modules: types, ``thrift_spec`` entries, values and struct classes.

Shared by `_build.py` (``ttypes`` and ``constants``) and `_service.py` (service modules).
"""

from __future__ import annotations

from typing import Any

from . import _model as m
from ._consts import ContainerValue, StructValue, UuidValue, check_value, token_of
from ._resolve import Program, TypeInfo, fail, is_immutable, type_info

__all__ = ["ModuleSource", "emit_structs", "render", "spec_args", "ttype"]

# What Apache's generated modules import, and the shared methods of `_runtime.py`.
_HEADER = """\
from thrift.Thrift import TType, TMessageType, TFrozenDict, TException, TApplicationException
from thrift.protocol.TProtocol import TProtocolException
from thrift.TRecursive import fix_spec
import sys
from thrift.transport import TTransport
from thrift_bridge._idl._runtime import (attach_struct as _tb_attach, exception_str as _tb_str,
    frozen as _tb_frozen, import_star as _tb_import_star, struct_eq as _tb_eq,
    struct_ne as _tb_ne, struct_repr as _tb_repr)"""
_BASE_TTYPES = {
    "bool": "BOOL",
    "i8": "BYTE",
    "i16": "I16",
    "i32": "I32",
    "i64": "I64",
    "double": "DOUBLE",
    "string": "STRING",
    "binary": "STRING",
    "uuid": "UUID",
}


class ModuleSource:
    """The source of one module being written."""

    def __init__(self, program: Program, name: str, packages: dict[str, str]) -> None:
        self.program = program
        self.name = name
        self.packages = packages  # program path -> its package's module name
        self.lines: list[str] = [_HEADER]
        self.aliases: dict[str, str] = {}  # program path -> the name its ttypes has here

    def class_name(self, program: Program, name: str) -> str:
        """How this module names class `name` of `program` (bare when it is its own)."""
        if program is self.program:
            return name
        alias = self.aliases.get(program.path)
        if alias is None:
            alias = self.aliases[program.path] = f"_tb_include_{len(self.aliases)}"
            # before the first use: aliases are needed in class bodies already
            self.lines.insert(
                1, f"{alias} = sys.modules[{self.packages[program.path] + '.ttypes'!r}]"
            )
        return f"{alias}.{name}"

    def source(self) -> str:
        """The module's source text."""
        return "\n".join(self.lines) + "\n"


def ttype(info: TypeInfo) -> str:
    """``TType.X`` for a type."""
    if info.kind == "base":
        assert info.base is not None
        return f"TType.{_BASE_TTYPES[info.base]}"
    return {"enum": "TType.I32", "struct": "TType.STRUCT"}.get(
        info.kind, f"TType.{info.kind.upper()}"
    )


def spec_args(info: TypeInfo, out: ModuleSource) -> str:
    """The type arguments of a ``thrift_spec`` entry, as Apache writes them."""
    if info.kind == "base":
        return {"binary": "'BINARY'", "string": "'UTF8'"}.get(str(info.base), "None")
    if info.kind == "enum":
        return "None"
    if info.kind == "struct":
        assert info.program is not None
        assert info.definition is not None
        return f"[{out.class_name(info.program, info.definition.name)}, None]"
    assert info.element is not None
    flag = "True" if info.immutable else "False"
    element = f"{ttype(info.element)}, {spec_args(info.element, out)}"
    if info.kind == "map":
        assert info.key is not None
        return f"({ttype(info.key)}, {spec_args(info.key, out)}, {element}, {flag})"
    return f"({element}, {flag})"


def render(value: Any, out: ModuleSource, uses: set[str]) -> str:
    """Source text for a checked constant value; `uses` collects local struct names built."""
    if isinstance(value, StructValue):
        cls = out.class_name(value.program, value.struct.name)
        if value.program is out.program:
            uses.add(value.struct.name)
        items = "".join(f"{k!r}: {render(v, out, uses)}, " for k, v in value.fields)
        return f"{cls}(**{{{items}}})"
    if isinstance(value, ContainerValue):
        if value.kind == "map":
            items = "".join(
                f"{render(k, out, uses)}: {render(v, out, uses)}, " for k, v in value.items
            )
            return f"TFrozenDict({{{items}}})" if value.immutable else f"{{{items}}}"
        items = "".join(f"{render(v, out, uses)}, " for v in value.items)
        if value.kind == "set":
            return f"{'frozenset' if value.immutable else 'set'}(({items}))"
        return f"({items})" if value.immutable else f"[{items}]"
    if isinstance(value, UuidValue):
        return f"__import__('uuid').UUID({str(value)!r})"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return f"float({str(value)!r})"  # 1e999 in an IDL: repr would say inf, a free name
    return repr(value)


def _struct(out: ModuleSource, struct: m.Struct) -> tuple[str, set[str]]:
    """A struct's class source and the local structs its defaults build."""
    program = out.program
    immutable = is_immutable(struct)
    uses: set[str] = set()
    name = struct.name
    lines = [f"class {name}({'TException' if struct.kind == 'exception' else 'object'}):"]
    defaults: dict[str, str] = {}
    for field in struct.fields:
        if field.default is not None:
            value = check_value(program, type_info(program, field.type), field.default)
            built: set[str] = set()
            defaults[field.name] = render(value, out, built)
            for other in sorted(built):
                if _copies_defaults(program, program.types[other]):
                    # Apache's import fails here too: the default is built while the class
                    # statement runs, and `other.__init__` reads `other.thrift_spec`, which
                    # is assigned after every class.
                    raise fail(
                        program,
                        f"the default of {field.name!r} builds a {other}, whose "
                        "own container or struct defaults need its thrift_spec before "
                        "it exists (Apache's generated module fails to import)",
                        field.default,
                        token_of(field.default),
                    )
            uses |= built
    if struct.fields:
        params = "".join(f" {f.name}={defaults.get(f.name, 'None')}," for f in struct.fields)
        lines.append(f"    def __init__(self,{params}):")
        for field in struct.fields:
            info = type_info(program, field.type)
            if field.name in defaults and info.kind not in ("base", "enum"):
                lines.append(f"        if {field.name} is self.thrift_spec[{field.id}][4]:")
                lines.append(f"            {field.name} = {defaults[field.name]}")
            if immutable:
                lines.append(
                    f"        super({name}, self).__setattr__({field.name!r}, {field.name})"
                )
            else:
                lines.append(f"        self.{field.name} = {field.name}")
    if immutable:
        hashed = "".join(f"self.{f.name}, " for f in struct.fields)
        lines += [
            "    __setattr__ = _tb_frozen",
            "    __delattr__ = _tb_frozen",
            "    def __hash__(self):",
            f"        return hash(self.__class__) ^ hash(({hashed}))",
        ]
    lines.append("    def validate(self):")
    for field in struct.fields:
        if field.requiredness == "required":
            lines.append(f"        if self.{field.name} is None:")
            message = f"Required field {field.name} is unset!"
            lines.append(f"            raise TProtocolException(message={message!r})")
    lines.append("        return")
    if struct.kind == "exception":
        lines.append("    __str__ = _tb_str")
    lines += ["    __repr__ = _tb_repr", "    __eq__ = _tb_eq", "    __ne__ = _tb_ne", ""]
    return "\n".join(lines), uses


def _copies_defaults(program: Program, definition: Any) -> bool:
    """Whether a struct's ``__init__`` copies a default (reading ``self.thrift_spec``)."""
    return isinstance(definition, m.Struct) and any(
        f.default is not None and type_info(program, f.type).kind not in ("base", "enum")
        for f in definition.fields
    )


def _spec(out: ModuleSource, struct: m.Struct) -> list[str]:
    """``Name.thrift_spec = (...)`` as Apache writes it, then the struct's read and write."""
    program = out.program
    ordered = sorted(struct.fields, key=lambda f: f.id)
    entries: list[str] = []
    fields: list[str] = []
    for field in ordered:
        info = type_info(program, field.type)
        default = "None"
        if field.default is not None:
            value = check_value(program, info, field.default)
            default = render(value, out, set())
        args = spec_args(info, out)
        fields.append(f"({field.id}, {ttype(info)}, {field.name!r}, {args}), ")
        if ordered[0].id >= 0:
            entries += ["None, "] * (field.id - len(entries))
            entries.append(f"({field.id}, {ttype(info)}, {field.name!r}, {args}, {default}, ), ")
    # Apache writes an empty spec for a struct with a negative (implicit) field id; the C
    # codec then skips every field of it, and the Python path still reads and writes them all.
    lines = [f"{struct.name}.thrift_spec = ({''.join(entries)})"]
    negative = bool(ordered) and ordered[0].id < 0
    explicit = f"({''.join(fields)})" if negative else "None"
    if is_immutable(struct):
        made = "".join(
            f"{f.name!r}: {render(check_value(program, type_info(program, f.type), f.default), out, set())}, "  # noqa: E501
            for f in struct.fields
            if f.default is not None
        )
        lines.append(f"_tb_attach({struct.name}, {explicit}, lambda: {{{made}}})")
    else:
        lines.append(f"_tb_attach({struct.name}, {explicit})")
    return lines


def emit_structs(out: ModuleSource, structs: list[m.Struct]) -> None:
    """Classes, then their specs; a class comes after the local classes its defaults build."""
    sources: dict[str, tuple[str, set[str]]] = {s.name: _struct(out, s) for s in structs}
    done: list[str] = []

    def emit(struct: m.Struct, stack: tuple[str, ...]) -> None:
        if struct.name in done:
            return
        if struct.name in stack:
            raise fail(
                out.program,
                f"default values of {struct.name!r} build each other",
                struct,
                struct.name,
            )
        for used in sorted(sources[struct.name][1]):
            if used in by_name:
                emit(by_name[used], (*stack, struct.name))
        out.lines.append(sources[struct.name][0])
        done.append(struct.name)

    by_name = {s.name: s for s in structs}
    for struct in structs:
        emit(struct, ())
    for struct in structs:
        out.lines += _spec(out, struct)
    if structs:
        out.lines.append(f"fix_spec([{', '.join(s.name for s in structs)}])")
