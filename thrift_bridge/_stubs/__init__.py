"""Write ``.pyi`` stubs for the modules an IDL file becomes, from `thrift_bridge._idl`'s tree.

    write_stubs(["idl/demo.thrift"], "generated", package_prefix="thrift_bridge.generated.")

For each program (the file, and with `recursive` every file it includes) this writes
``<package>/ttypes.pyi``, ``constants.pyi`` and ``<Service>.pyi`` under the output directory,
``<package>`` being Apache's (``namespace py``, else the file's stem). Compiled packages keep
their ``__init__.py`` (it imports nothing); packages `thrift_bridge.load` builds also hold
their types and constants, so ``loaded=True`` writes an ``__init__.pyi`` saying so. Stubs name
included packages as `package_prefix` + their package, as the compiler's
``py:package_prefix`` does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .._idl import _model as m
from ._service import service_lines
from ._types import constants_lines, enum_lines, struct_lines
from ._writer import StubModule

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._idl._resolve import Program

__all__ = ["program_stubs", "write_stubs"]


def program_stubs(
    program: Program, packages: dict[str, str], *, loaded: bool = False
) -> dict[str, str]:
    """Each stub file of one checked program (path relative to its package -> text).

    `packages` names the full package of this program and of every program it includes.
    """
    source = os.path.basename(program.path)
    files: dict[str, str] = {}

    ttypes = StubModule(program, "ttypes", packages)
    types = [d for d in program.document.definitions if isinstance(d, (m.Enum, m.Struct))]
    ttypes.defined |= {d.name for d in types}
    for definition in types:
        if isinstance(definition, m.Enum):
            ttypes.lines += enum_lines(ttypes, definition)
        else:
            ttypes.lines += struct_lines(ttypes, definition)
    files["ttypes.pyi"] = ttypes.text(source)

    constants = StubModule(program, "constants", packages)
    constants.defined |= set(program.consts)
    constants.lines += constants_lines(constants)
    files["constants.pyi"] = constants.text(source)

    for service in program.services.values():
        module = StubModule(program, service.name, packages)
        module.lines += service_lines(module, service)
        files[f"{service.name}.pyi"] = module.text(source)

    if loaded:
        files["__init__.pyi"] = _package(program, packages).text(source)
    return files


def _package(program: Program, packages: dict[str, str]) -> StubModule:
    """A loaded package: its modules, and its types and constants as attributes."""
    out = StubModule(program, "__init__", packages)
    modules = ["ttypes", "constants", *program.services]
    out.lines += [f"from . import {name} as {name}" for name in modules]
    for definition in program.document.definitions:
        if isinstance(definition, (m.Enum, m.Struct, m.Const)):
            key = "constants" if isinstance(definition, m.Const) else "ttypes"
            out.lines.append(f"from .{key} import {definition.name} as {definition.name}")
    out.lines.append(f"__all__ = {modules!r}")
    return out


def write_stubs(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    package_prefix: str = "",
    include_dirs: Iterable[str | os.PathLike[str]] = (),
    recursive: bool = True,
    loaded: bool = False,
) -> list[Path]:
    """Parse and check each IDL file, write its stubs (and its includes' with `recursive`).

    Returns the files written. Raises `IDLError` for an IDL the loader cannot read, and
    `ConfigError` when lark (the ``idl`` extra) is missing.
    """
    from .._idl import require_lark
    from .._idl._resolve import check, load_programs

    require_lark("writing stubs")
    dirs = [os.fspath(d) for d in include_dirs]
    written: list[Path] = []
    done: set[str] = set()
    for path in paths:
        root, _read, _probes = load_programs(os.fspath(path), dirs)
        order = _includes_first(root)
        packages = {p.path: package_prefix + p.package for p in order}
        for program in order:
            check(program)
        for program in order if recursive else [root]:
            if program.path in done:
                continue
            done.add(program.path)
            folder = Path(out_dir, *program.package.split("."))
            folder.mkdir(parents=True, exist_ok=True)
            for name, text in program_stubs(program, packages, loaded=loaded).items():
                target = folder / name
                target.write_text(text, encoding="utf-8")
                written.append(target)
    return written


def _includes_first(root: Program) -> list[Program]:
    """`root` and every program it includes, each after the programs it includes."""
    order: list[Program] = []

    def visit(program: Program) -> None:
        if program not in order:
            for included in program.includes.values():
                visit(included)
            order.append(program)

    visit(root)
    return order
