"""Read an IDL file and everything it includes, and check every name and type in them.

`load_programs` parses the root file and its includes (relative to the including file first,
then along the include directories), refusing a missing include or an include cycle. `check`
then resolves every type reference (typedef chains followed), ``extends`` and ``throws``, and
checks the rest of what Apache's compiler checks before it generates code. Constant values are
`_consts.py`'s. Everything here raises `IDLError` pointing at the offending token.
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Literal, Union

from thrift.Thrift import TType

from . import _model as m
from ._errors import IDLError
from ._paths import first_file, include_candidates

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "Program",
    "TypeInfo",
    "check",
    "checked_programs",
    "fail",
    "find_service",
    "is_immutable",
    "load_programs",
    "type_info",
]

TypeDefinition = Union[m.Typedef, m.Enum, m.Struct]


class Program:
    """One IDL file, parsed, with the programs it includes (by include name: the file's stem)."""

    __slots__ = (
        "consts",
        "digest",
        "document",
        "includes",
        "name",
        "package",
        "path",
        "services",
        "types",
    )

    def __init__(self, path: str, document: m.Document, digest: str) -> None:
        self.path = path
        self.document = document
        self.digest = digest
        self.name = os.path.splitext(os.path.basename(path))[0]
        #: The Python package Apache's compiler would write: ``namespace py`` (or ``*``), else
        #: the file's stem.
        self.package = document.namespace("py") or document.namespace("*") or self.name
        self.includes: dict[str, Program] = {}
        self.types: dict[str, TypeDefinition] = {}
        self.consts: dict[str, m.Const] = {}
        self.services: dict[str, m.Service] = {}


class TypeInfo:
    """A type with typedefs followed: what the generated code needs to know about it."""

    __slots__ = ("base", "definition", "element", "immutable", "key", "kind", "program")

    def __init__(
        self,
        kind: Literal["base", "list", "set", "map", "struct", "enum"],
        *,
        base: m.BaseTypeName | None = None,
        element: TypeInfo | None = None,
        key: TypeInfo | None = None,
        immutable: bool = False,
        program: Program | None = None,
        definition: m.Struct | m.Enum | None = None,
    ) -> None:
        self.kind = kind
        self.base = base
        self.element = element  # list and set elements; map values
        self.key = key
        self.immutable = immutable  # a container annotated (python.immutable)
        self.program = program  # where a struct or enum is defined
        self.definition = definition


def fail(program: Program | str, message: str, node: m.Node, token: str) -> IDLError:
    """The IDLError for `node` of `program` (or of the file at that path)."""
    path = program if isinstance(program, str) else program.path
    return IDLError(message, file=path, line=node.line, column=node.column, token=token)


# --- reading files ------------------------------------------------------------------------


def load_programs(
    path: str, include_dirs: Sequence[str]
) -> tuple[Program, dict[str, str], list[tuple[list[str], str]]]:
    """The root program with its includes; every file read (absolute path -> sha256); and how
    each include was found (the candidate paths in search order, and the one chosen)."""
    from ._parser import parse

    read: dict[str, str] = {}
    done: dict[str, Program] = {}
    probes: list[tuple[list[str], str]] = []

    def visit(file: str, stack: tuple[str, ...]) -> Program:
        if file in done:
            return done[file]
        with open(file, "rb") as f:
            data = f.read()
        read[file] = hashlib.sha256(data).hexdigest()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IDLError(
                f"not UTF-8: {exc.reason}", file=file, line=0, column=0, token=""
            ) from None
        program = Program(file, parse(text, file), read[file])
        for include in program.document.includes:
            candidates = include_candidates(program.path, include.path, include_dirs)
            target = first_file(candidates)
            if target is None:
                searched = ", ".join(os.path.dirname(c) or "." for c in candidates)
                raise fail(
                    program,
                    f"cannot find include file {include.path!r} (searched: {searched})",
                    include,
                    include.path,
                )
            probes.append((candidates, target))
            if target in stack or target == file:
                cycle = " -> ".join(os.path.basename(p) for p in (*stack, file, target))
                raise fail(program, f"include cycle: {cycle}", include, include.path)
            included = visit(target, (*stack, file))
            if included.name in program.includes:
                raise fail(
                    program,
                    f"two included files are both called {included.name!r}",
                    include,
                    include.path,
                )
            program.includes[included.name] = included
        done[file] = program
        return program

    return visit(os.path.abspath(path), ()), read, probes


def checked_programs(path: str, include_dirs: Sequence[str] = ()) -> list[Program]:
    """`path`'s program and every program it includes, each after its includes, all checked."""
    root, _read, _probes = load_programs(path, include_dirs)
    order: list[Program] = []

    def visit(program: Program) -> None:
        if program not in order:
            for included in program.includes.values():
                visit(included)
            order.append(program)

    visit(root)
    for program in order:
        check(program)
    return order


# --- names and types ----------------------------------------------------------------------


def _split(program: Program, name: str) -> tuple[Program, str]:
    """(program, local name) for a name that may start with an include's name and a dot."""
    prefix, dot, rest = name.partition(".")
    if dot and prefix in program.includes:
        return program.includes[prefix], rest
    return program, name


def type_info(program: Program, ftype: m.FieldType, _seen: tuple[str, ...] = ()) -> TypeInfo:
    """`ftype` with typedefs followed; IDLError for an unknown name or a typedef cycle."""
    if isinstance(ftype, m.BaseType):
        if ftype.name == "uuid" and not hasattr(TType, "UUID"):
            raise fail(
                program,
                "uuid needs a thrift library with TType.UUID (thrift 0.25 has it)",
                ftype,
                "uuid",
            )
        return TypeInfo("base", base=ftype.name)
    if isinstance(ftype, m.ListType):
        return TypeInfo(
            "list",
            element=type_info(program, ftype.element),
            immutable=_immutable(ftype.annotations, default=False),
        )
    if isinstance(ftype, m.SetType):
        return TypeInfo(
            "set",
            element=type_info(program, ftype.element),
            immutable=_immutable(ftype.annotations, default=False),
        )
    if isinstance(ftype, m.MapType):
        return TypeInfo(
            "map",
            key=type_info(program, ftype.key),
            element=type_info(program, ftype.value),
            immutable=_immutable(ftype.annotations, default=False),
        )
    owner, local = _split(program, ftype.name)
    definition = owner.types.get(local)
    if definition is None:
        if ftype.name in ("slist", "senum"):
            raise fail(
                program,
                f'"{ftype.name}" is no longer supported, use "string" instead',
                ftype,
                ftype.name,
            )
        known = sorted(program.types) + [
            f"{i}.{n}" for i, p in program.includes.items() for n in p.types
        ]
        hint = _did_you_mean(ftype.name, known)
        raise fail(program, f"unknown type {ftype.name!r}{hint}", ftype, ftype.name)
    if isinstance(definition, m.Typedef):
        key = f"{owner.path}:{local}"
        if key in _seen:
            raise fail(program, f"typedef cycle through {ftype.name!r}", ftype, ftype.name)
        return type_info(owner, definition.type, (*_seen, key))
    kind: Literal["struct", "enum"] = "enum" if isinstance(definition, m.Enum) else "struct"
    return TypeInfo(kind, program=owner, definition=definition)


def _immutable(annotations: tuple[m.Annotation, ...], *, default: bool) -> bool:
    """Apache's ``python.immutable`` rule: present and not ``"false"`` means immutable."""
    values = [a.value for a in annotations if a.key == "python.immutable"]
    return default if not values else values[-1] != "false"


def is_immutable(struct: m.Struct) -> bool:
    """Whether Apache generates `struct` immutable (exceptions are, unless annotated false)."""
    return _immutable(struct.annotations, default=struct.kind == "exception")


def _did_you_mean(name: str, known: list[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest known name, or ""."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def find_service(program: Program, ref: m.NamedType) -> tuple[Program, m.Service]:
    """The service `ref` names (maybe ``other.Name``), or IDLError."""
    owner, local = _split(program, ref.name)
    service = owner.services.get(local)
    if service is None:
        raise fail(program, f"service {ref.name!r} has not been defined", ref, ref.name)
    return owner, service


# --- checks -------------------------------------------------------------------------------


def check(program: Program) -> None:
    """Index `program`'s definitions and check them (its includes must be checked first)."""
    seen: dict[str, m.Node] = {}
    for definition in program.document.definitions:
        if definition.name in seen:
            raise fail(
                program, f"{definition.name!r} is already defined", definition, definition.name
            )
        seen[definition.name] = definition
        if isinstance(definition, m.Const):
            program.consts[definition.name] = definition
        elif isinstance(definition, m.Service):
            program.services[definition.name] = definition
        else:
            program.types[definition.name] = definition
    from ._consts import check_value

    for definition in program.document.definitions:
        if isinstance(definition, m.Typedef):
            type_info(
                program,
                m.NamedType(line=definition.line, column=definition.column, name=definition.name),
            )
        elif isinstance(definition, m.Struct):
            for field in definition.fields:
                info = type_info(program, field.type)
                if field.default is not None:
                    check_value(program, info, field.default)
        elif isinstance(definition, m.Const):
            check_value(program, type_info(program, definition.type), definition.value)
        elif isinstance(definition, m.Service):
            _check_service(program, definition)


def _check_service(program: Program, service: m.Service) -> None:
    """Extends names a service; types resolve; throws are exceptions; oneway is void."""
    if service.extends is not None:
        find_service(program, service.extends)
    for function in service.functions:
        if function.return_type is not None:
            type_info(program, function.return_type)
        for argument in function.arguments:
            type_info(program, argument.type)
        for thrown in function.throws:
            info = type_info(program, thrown.type)
            if not (isinstance(info.definition, m.Struct) and info.definition.kind == "exception"):
                token = getattr(thrown.type, "name", thrown.name)
                raise fail(
                    program,
                    f"throws clause of {function.name!r} may only name exceptions",
                    thrown.type,
                    str(token),
                )
        if function.oneway and function.return_type is not None:
            raise fail(
                program,
                f"oneway method {function.name!r} must return void",
                function,
                function.name,
            )
        if function.oneway and function.throws:
            raise fail(
                program,
                f"oneway method {function.name!r} can't throw exceptions",
                function,
                function.name,
            )
