"""One ``.pyi`` module being written: its imports, its lines, and how it spells each type.

Names are written bare (``Customer``, ``int``) and qualified only where a bare name would
mean something else: inside a class whose own members have that name (a field called ``str``
or ``Customer``), or at module level where a generated class has it. Qualified spellings go
through ``_tb_``-prefixed import aliases, which no generated name uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._idl._resolve import Program, TypeInfo

__all__ = ["HEADER", "StubModule"]

HEADER = (
    "# Type stubs written by thrift-bridge from {source}: do not edit.\n"
    "# `make idl`, `thrift-bridge compile` or `thrift-bridge stubs` writes them again."
)

_BASE = {
    "bool": "bool",
    "i8": "int",
    "i16": "int",
    "i32": "int",
    "i64": "int",
    "double": "float",
    "string": "str",
    "binary": "bytes",
    "uuid": "UUID",  # thrift's protocols read and write uuid.UUID
}
_BUILTINS = {"bool", "int", "float", "str", "bytes", "list", "set", "dict", "tuple", "frozenset"}
_TYPING = {"Any", "ClassVar", "Final", "Protocol", "type_check_only"}


class StubModule:
    """The text of one stub module and the imports its annotations need."""

    def __init__(self, program: Program, key: str, packages: dict[str, str]) -> None:
        self.program = program
        self.key = key  # "ttypes", "constants", "__init__" or a service's name
        self.packages = packages  # program path -> full package name
        self.defined: set[str] = set()  # names this module defines at its top level
        self.imports: set[str] = set()
        self.typing: set[str] = set()
        self.lines: list[str] = []

    # --- names -----------------------------------------------------------------------------

    def typing_name(self, name: str, scope: frozenset[str] = frozenset()) -> str:
        """A name from `typing`, bare unless shadowed."""
        assert name in _TYPING
        if name in scope or name in self.defined:
            self.imports.add("import typing as _tb_typing")
            return f"_tb_typing.{name}"
        self.typing.add(name)
        return name

    def builtin(self, name: str, scope: frozenset[str]) -> str:
        """A builtin type, bare unless shadowed."""
        if name in scope or name in self.defined:
            self.imports.add("import builtins as _tb_builtins")
            return f"_tb_builtins.{name}"
        return name

    def idl_class(self, program: Program, name: str, scope: frozenset[str]) -> str:
        """A struct, union, exception or enum class of `program` (this one or an include)."""
        if program is self.program:
            if self.key == "ttypes" and name not in scope:
                return name
            if self.key != "ttypes" and name not in scope and name not in self.defined:
                self.imports.add(f"from .ttypes import {name}")
                return name
            self.imports.add("from . import ttypes as _tb_ttypes")
            return f"_tb_ttypes.{name}"
        alias = "_tb_" + self.packages[program.path].replace(".", "_")
        self.imports.add(f"import {self.packages[program.path]}.ttypes as {alias}")
        return f"{alias}.{name}"

    def module_of(self, program: Program, module: str, alias: str) -> None:
        """Import module `module` of `program`'s package as `alias`."""
        if program is self.program:
            self.imports.add(f"from . import {module} as {alias}")
        else:
            self.imports.add(f"import {self.packages[program.path]}.{module} as {alias}")

    # --- types -----------------------------------------------------------------------------

    def annotation(self, info: TypeInfo, scope: frozenset[str] = frozenset()) -> str:
        """The Python type of a resolved Thrift type (enums are ``int``, as at run time)."""
        if info.kind == "base":
            assert info.base is not None
            spelled = _BASE[info.base]
            if spelled == "UUID":
                if "UUID" in scope or "UUID" in self.defined:
                    self.imports.add("import uuid as _tb_uuid")
                    return "_tb_uuid.UUID"
                self.imports.add("from uuid import UUID")
                return spelled
            return self.builtin(spelled, scope)
        if info.kind == "enum":
            # Apache's enums are classes of int constants; a field holds the int itself.
            return self.builtin("int", scope)
        if info.kind == "struct":
            assert info.program is not None
            assert info.definition is not None
            return self.idl_class(info.program, info.definition.name, scope)
        assert info.element is not None
        element = self.annotation(info.element, scope)
        if info.kind == "map":
            assert info.key is not None
            key = self.annotation(info.key, scope)
            # an immutable map is read as thrift's TFrozenDict, a dict subclass
            return f"{self.builtin('dict', scope)}[{key}, {element}]"
        if info.kind == "set":
            name = "frozenset" if info.immutable else "set"
            return f"{self.builtin(name, scope)}[{element}]"
        if info.immutable:
            return f"{self.builtin('tuple', scope)}[{element}, ...]"
        return f"{self.builtin('list', scope)}[{element}]"

    # --- text ------------------------------------------------------------------------------

    def text(self, source: str) -> str:
        """The module's text: header, imports (``from`` imports merged), then its lines."""
        names: dict[str, set[str]] = {"typing": set(self.typing)} if self.typing else {}
        plain: list[str] = []
        for line in self.imports:
            module, _, imported = line.partition(" import ")
            if line.startswith("from ") and " as " not in imported:
                names.setdefault(module[len("from ") :], set()).add(imported)
            else:
                plain.append(line)
        merged = [f"from {module} import {', '.join(sorted(n))}" for module, n in names.items()]
        imports = sorted(merged + plain, key=_import_order)
        body: list[str] = []
        for line in self.lines:  # a blank line before each top-level class, as PEP 8 reads
            if body and line.startswith(("class ", "@")) and not body[-1].startswith("@"):
                body.append("")
            body.append(line)
        parts = [HEADER.format(source=source), "\n".join(imports), "\n".join(body)]
        return "\n\n".join(p for p in parts if p) + "\n"


def _import_order(line: str) -> tuple[int, str]:
    """typing first, then other absolute imports, then this package's own modules."""
    module = line.split()[1]
    return (0 if module == "typing" else 2 if module.startswith(".") else 1, line)
