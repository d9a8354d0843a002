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
from ._consts import check_value
from ._resolve import Program, fail, find_service, type_info
from ._service import service_source
from ._source import ModuleSource, emit_structs, render

__all__ = ["Plan", "build_program"]

#: A built program: its file, its package name, the source of each module in the order they
#: run ((key, module name, source) with key ``ttypes``, ``constants`` or a service's name), the
#: package's attributes ((attribute, key, name in that module)), its includes ((attribute,
#: package name)) and the package's ``__all__``. Plain data, so it can be cached as JSON.
Plan = dict[str, Any]


def _ttypes(program: Program, name: str, packages: dict[str, str]) -> str:
    """The ``ttypes`` module: enums, structs, unions and exceptions."""
    out = ModuleSource(program, name, packages)
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
    emit_structs(out, structs)
    return out.source()


def _constants(program: Program, name: str, packages: dict[str, str]) -> str:
    """The ``constants`` module (it sees what ``from .ttypes import *`` gives)."""
    out = ModuleSource(program, name, packages)
    out.lines.append(f"_tb_import_star({packages[program.path] + '.ttypes'!r}, globals())")
    for definition in program.document.definitions:
        if isinstance(definition, m.Const):
            value = check_value(program, type_info(program, definition.type), definition.value)
            out.lines.append(f"{definition.name} = {render(value, out, set())}")
    return out.source()


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
        sources.append((service.name, name, service_source(program, service, name, packages, base)))

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
