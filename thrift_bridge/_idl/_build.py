"""A checked program to Python modules shaped like ``thrift --gen py`` output (Apache 0.17).

Why generate source text and ``exec`` it rather than build classes with ``type()``: the
functions a user or thrift-bridge inspects must be the generated ones to the letter, so their
parameters are real parameters (``__init__(self, id=None, name=None)``, a client's
``get(self, id)``), with the same defaults, evaluated the same way (a container default is one
object in the signature and another in ``thrift_spec``, as Apache writes them). Source text is
the plain way to get that. It is safe: every name in it is an IDL identifier the parser checked
(``[A-Za-z_][A-Za-z0-9_]*``, no Python keyword) and every value is written with `repr` or built
from such names. Only what carries a signature or a per-class name is compiled; ``read``,
``write``, ``recv_*`` and ``process_*`` come from `_runtime.py`, which keeps a cold load fast.
"""

from __future__ import annotations

from typing import Any

from . import _model as m
from ._consts import ContainerValue, StructValue, UuidValue, check_value, token_of
from ._resolve import Program, TypeInfo, fail, find_service, is_immutable, type_info

__all__ = ["Plan", "build_program"]

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

#: A built program: its file, its package name, the source of each module in the order they
#: run ((key, module name, source) with key ``ttypes``, ``constants`` or a service's name), the
#: package's attributes ((attribute, key, name in that module)), its includes ((attribute,
#: package name)) and the package's ``__all__``. Plain data, so it can be cached as JSON.
Plan = dict[str, Any]


class _Module:
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


def _ttype(info: TypeInfo) -> str:
    """``TType.X`` for a type."""
    if info.kind == "base":
        assert info.base is not None
        return f"TType.{_BASE_TTYPES[info.base]}"
    return {"enum": "TType.I32", "struct": "TType.STRUCT"}.get(
        info.kind, f"TType.{info.kind.upper()}"
    )


def _spec_args(info: TypeInfo, out: _Module) -> str:
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
    element = f"{_ttype(info.element)}, {_spec_args(info.element, out)}"
    if info.kind == "map":
        assert info.key is not None
        return f"({_ttype(info.key)}, {_spec_args(info.key, out)}, {element}, {flag})"
    return f"({element}, {flag})"


def _render(value: Any, out: _Module, uses: set[str]) -> str:
    """Source text for a checked constant value; `uses` collects local struct names built."""
    if isinstance(value, StructValue):
        cls = out.class_name(value.program, value.struct.name)
        if value.program is out.program:
            uses.add(value.struct.name)
        items = "".join(f"{k!r}: {_render(v, out, uses)}, " for k, v in value.fields)
        return f"{cls}(**{{{items}}})"
    if isinstance(value, ContainerValue):
        if value.kind == "map":
            items = "".join(
                f"{_render(k, out, uses)}: {_render(v, out, uses)}, " for k, v in value.items
            )
            return f"TFrozenDict({{{items}}})" if value.immutable else f"{{{items}}}"
        items = "".join(f"{_render(v, out, uses)}, " for v in value.items)
        if value.kind == "set":
            return f"{'frozenset' if value.immutable else 'set'}(({items}))"
        return f"({items})" if value.immutable else f"[{items}]"
    if isinstance(value, UuidValue):
        return f"__import__('uuid').UUID({str(value)!r})"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return f"float({str(value)!r})"  # 1e999 in an IDL: repr would say inf, a free name
    return repr(value)


def _struct(out: _Module, struct: m.Struct) -> tuple[str, set[str]]:
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
            defaults[field.name] = _render(value, out, built)
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


def _spec(out: _Module, struct: m.Struct) -> list[str]:
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
            default = _render(value, out, set())
        args = _spec_args(info, out)
        fields.append(f"({field.id}, {_ttype(info)}, {field.name!r}, {args}), ")
        if ordered[0].id >= 0:
            entries += ["None, "] * (field.id - len(entries))
            entries.append(f"({field.id}, {_ttype(info)}, {field.name!r}, {args}, {default}, ), ")
    # Apache writes an empty spec for a struct with a negative (implicit) field id; the C
    # codec then skips every field of it, and the Python path still reads and writes them all.
    lines = [f"{struct.name}.thrift_spec = ({''.join(entries)})"]
    negative = bool(ordered) and ordered[0].id < 0
    explicit = f"({''.join(fields)})" if negative else "None"
    if is_immutable(struct):
        made = "".join(
            f"{f.name!r}: {_render(check_value(program, type_info(program, f.type), f.default), out, set())}, "  # noqa: E501
            for f in struct.fields
            if f.default is not None
        )
        lines.append(f"_tb_attach({struct.name}, {explicit}, lambda: {{{made}}})")
    else:
        lines.append(f"_tb_attach({struct.name}, {explicit})")
    return lines


def _structs(out: _Module, structs: list[m.Struct]) -> None:
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


def _ttypes(program: Program, name: str, packages: dict[str, str]) -> str:
    """The ``ttypes`` module: enums, structs, unions and exceptions."""
    out = _Module(program, name, packages)
    structs: list[m.Struct] = []
    for definition in program.document.definitions:
        if isinstance(definition, m.Enum):
            out.lines.append(f"class {definition.name}(object):")
            out.lines += [f"    {v.name} = {v.value}" for v in definition.values]
            to_names = ", ".join(f"{v.value}: {v.name!r}" for v in definition.values)
            to_values = ", ".join(f"{v.name!r}: {v.value}" for v in definition.values)
            out.lines.append(f"    _VALUES_TO_NAMES = {{{to_names}}}")
            out.lines.append(f"    _NAMES_TO_VALUES = {{{to_values}}}")
        elif isinstance(definition, m.Struct):
            structs.append(definition)
    _structs(out, structs)
    return out.source()


def _constants(program: Program, name: str, packages: dict[str, str]) -> str:
    """The ``constants`` module (it sees what ``from .ttypes import *`` gives)."""
    out = _Module(program, name, packages)
    out.lines.append(f"_tb_import_star({packages[program.path] + '.ttypes'!r}, globals())")
    for definition in program.document.definitions:
        if isinstance(definition, m.Const):
            value = check_value(program, type_info(program, definition.type), definition.value)
            out.lines.append(f"{definition.name} = {_render(value, out, set())}")
    return out.source()


def _service(
    program: Program, service: m.Service, name: str, packages: dict[str, str], base: str | None
) -> str:
    """One service module: ``Iface``, ``Client``, ``Processor`` and each method's structs.

    `base` is the module name of the service it extends.
    """
    out = _Module(program, name, packages)
    lines = out.lines
    lines += [
        "import logging",
        "from thrift.Thrift import TProcessor",
        "from thrift_bridge._idl._runtime import attach_service as _tb_attach_service, "
        "on_message_begin as _tb_on_message_begin, process as _tb_process",
        f"_tb_import_star({packages[program.path] + '.ttypes'!r}, globals())",
    ]
    parent = ""
    if base is not None:
        lines.append(f"_tb_extends = sys.modules[{base!r}]")
        parent = "_tb_extends."
    lines.append(f"class Iface({parent + 'Iface' if parent else 'object'}):")
    lines.append("    pass")
    for function in service.functions:
        lines.append(f"    def {_signature(function)}:")
        lines.append("        pass")
    lines.append(f"class Client({parent + 'Client, ' if parent else ''}Iface):")
    lines.append("    def __init__(self, iprot, oprot=None):")
    if parent:
        lines.append("        _tb_extends.Client.__init__(self, iprot, oprot)")
    else:
        lines += [
            "        self._iprot = self._oprot = iprot",
            "        if oprot is not None:",
            "            self._oprot = oprot",
            "        self._seqid = 0",
        ]
    structs: list[m.Struct] = []
    methods: list[str] = []
    for function in service.functions:
        _client_methods(lines, function)
        structs += _helper_structs(function)
        throws = "".join(f"({t.name!r}, {_class_of(out, t)}), " for t in function.throws)
        arguments = "".join(f"{a.name!r}, " for a in function.arguments)
        methods.append(
            f"({function.name!r}, {function.oneway}, {function.return_type is None}, "
            f"({arguments}), ({throws})), "
        )
    lines.append(
        f"class Processor({'_tb_extends.Processor, ' if parent else ''}Iface, TProcessor):"
    )
    lines.append("    def __init__(self, handler):")
    if parent:
        lines.append("        _tb_extends.Processor.__init__(self, handler)")
    else:
        lines += ["        self._handler = handler", "        self._processMap = {}"]
    lines += [
        f"        self._processMap[{f.name!r}] = Processor.process_{f.name}"
        for f in service.functions
    ]
    lines.append("        self._on_message_begin = None")
    lines += ["    on_message_begin = _tb_on_message_begin", "    process = _tb_process"]
    _structs(out, structs)
    lines.append(f"_tb_attach_service(Client, Processor, globals(), ({''.join(methods)}))")
    return out.source()


def _client_methods(lines: list[str], function: m.Function) -> None:
    """A client's ``<method>`` and ``send_<method>``, as generated (``recv_*`` is shared)."""
    arguments = ", ".join(a.name for a in function.arguments)
    lines.append(f"    def {_signature(function)}:")
    lines.append(f"        self.send_{function.name}({arguments})")
    if not function.oneway:
        returns = "" if function.return_type is None else "return "
        lines.append(f"        {returns}self.recv_{function.name}()")
    kind = "ONEWAY" if function.oneway else "CALL"
    lines.append(f"    def send_{_signature(function)}:")
    lines.append(
        f"        self._oprot.writeMessageBegin({function.name!r}, TMessageType.{kind}, "
        "self._seqid)"
    )
    lines.append(f"        args = {function.name}_args()")
    lines += [f"        args.{a.name} = {a.name}" for a in function.arguments]
    lines += [
        "        args.write(self._oprot)",
        "        self._oprot.writeMessageEnd()",
        "        self._oprot.trans.flush()",
    ]


def _helper_structs(function: m.Function) -> list[m.Struct]:
    """``<method>_args`` and (unless oneway) ``<method>_result``, as Apache defines them."""
    line, column = function.line, function.column
    structs = [
        m.Struct(
            line, column, kind="struct", name=f"{function.name}_args", fields=function.arguments
        )
    ]
    if not function.oneway:
        success = (
            ()
            if function.return_type is None
            else (m.Field(line, column, id=0, name="success", type=function.return_type),)
        )
        structs.append(
            m.Struct(
                line,
                column,
                kind="struct",
                name=f"{function.name}_result",
                fields=(*success, *function.throws),
            )
        )
    return structs


def _signature(function: m.Function) -> str:
    """``name(self, a, b)``."""
    return f"{function.name}({', '.join(['self', *(a.name for a in function.arguments)])})"


def _class_of(out: _Module, field: m.Field) -> str:
    """How the service module names the exception class of a ``throws`` entry."""
    info = type_info(out.program, field.type)
    assert info.program is not None
    assert info.definition is not None
    return out.class_name(info.program, info.definition.name)


def build_program(
    program: Program, package: str, packages: dict[str, str], services: dict[str, str]
) -> Plan:
    """The plan of one program's modules, under package name `package`.

    `packages` names the package of every program built before (by path) and `services` the
    module of every service (by ``path:Service``); this program's are added to both.
    """
    packages[program.path] = package
    sources = [
        ("ttypes", f"{package}.ttypes", _ttypes(program, f"{package}.ttypes", packages)),
        (
            "constants",
            f"{package}.constants",
            _constants(program, f"{package}.constants", packages),
        ),
    ]

    def make(service: m.Service, stack: tuple[str, ...]) -> None:
        key = f"{program.path}:{service.name}"
        if key in services:
            return
        if service.name in stack:
            raise fail(program, f"service {service.name!r} extends itself", service, service.name)
        base = None
        if service.extends is not None:
            owner, parent = find_service(program, service.extends)
            if owner is program:
                make(parent, (*stack, service.name))
            base = services[f"{owner.path}:{parent.name}"]
        name = services[key] = f"{package}.{service.name}"
        sources.append((service.name, name, _service(program, service, name, packages, base)))

    for service in program.services.values():
        make(service, ())
    attributes = [
        (d.name, "ttypes" if isinstance(d, (m.Enum, m.Struct)) else "constants", d.name)
        for d in program.document.definitions
        if isinstance(d, (m.Enum, m.Struct, m.Const))
    ]
    return {
        "path": program.path,
        "package": package,
        "sources": sources,
        "attributes": attributes,
        "includes": [(name, packages[p.path]) for name, p in program.includes.items()],
        "all": ["ttypes", "constants", *program.services],
    }
