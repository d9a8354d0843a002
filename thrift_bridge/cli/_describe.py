"""`thrift-bridge describe`: what a service takes and returns, as IDL-like text or JSON.

One document for both sources: `describe_compiled` reads generated (or loaded) modules'
``thrift_spec``, ``ttypes`` and ``constants``; `_describe_idl.describe_idl` reads the IDL's
syntax tree, which also keeps what ``thrift_spec`` loses (typedef and enum names of fields,
``optional`` against default requiredness, unions, constant types)::

    {"services": {"Shop": [{"name": "get", "arguments": [{"id": 1, "name": "id",
                   "type": "i64"}], "returns": "Item", "throws": [...], "oneway": false}]},
     "structs": {"Item": {"kind": "struct", "fields": [{"id": 1, "name": "id", "type": "i64",
                 "requiredness": "required"}, {"id": 2, ..., "default": 0}]}},
     "enums": {"Kind": {"NEW": 1}}, "typedefs": {"ItemId": "i64"},
     "constants": {"FREE": {"type": "Money", "value": {"cents": 0}}}}

Defaults and constants are plain JSON data, as `call` takes and prints them. Types of included
files are qualified with the include's name (``common.Money``), as the IDL writes them.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import math
import sys
import uuid
from types import ModuleType
from typing import Any

from thrift.protocol.TProtocol import TProtocolException
from thrift.Thrift import TException, TType

from .._convert import to_dict, to_plain
from .._service import service_methods

__all__ = ["describe_compiled", "empty_document", "json_key", "plain_value", "render_text"]

_TYPE_NAMES = {
    TType.BOOL: "bool",
    TType.BYTE: "i8",
    TType.I16: "i16",
    TType.I32: "i32",
    TType.I64: "i64",
    TType.DOUBLE: "double",
    TType.STRING: "string",
}
if hasattr(TType, "UUID"):  # thrift 0.19 and later
    _TYPE_NAMES[TType.UUID] = "uuid"


def empty_document() -> dict[str, Any]:
    """A document with every section, in the order the text shows them."""
    return {"typedefs": {}, "enums": {}, "constants": {}, "structs": {}, "services": {}}


def plain_value(value: Any) -> Any:
    """A constant's Python value as JSON-ready data (binary as base64, sets sorted)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        items = [plain_value(item) for item in value]
        with contextlib.suppress(TypeError):  # a set of structs has no order
            items.sort()
        return items
    if isinstance(value, dict):
        return {json_key(plain_value(k)): plain_value(v) for k, v in value.items()}
    if hasattr(type(value), "thrift_spec"):
        return to_dict(value)
    return value


def json_key(key: Any) -> str:
    """A map key as JSON object keys are: text."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return key if isinstance(key, str) else str(key)


# --- generated or loaded modules ----------------------------------------------------------


def _module_of(cls: type[Any]) -> ModuleType:
    """The module a generated class was defined in."""
    return sys.modules[cls.__module__]


class _Compiled:
    """Names types as IDL does and remembers every ``ttypes`` module a type came from."""

    def __init__(self, own: list[ModuleType]) -> None:
        self.own = own
        #: The described packages' ttypes, then those of included files as types lead there.
        self.modules = list(own)

    def type_name(self, ttype: int, args: Any) -> str:
        """IDL spelling of a thrift_spec type (enums are i32: Apache keeps no enum types)."""
        if ttype == TType.STRING and args == "BINARY":
            return "binary"
        if ttype in _TYPE_NAMES:
            return _TYPE_NAMES[ttype]
        if ttype == TType.STRUCT:
            return self.class_name(args[0])
        if ttype in (TType.LIST, TType.SET):
            kind = "list" if ttype == TType.LIST else "set"
            return f"{kind}<{self.type_name(args[0], args[1])}>"
        if ttype == TType.MAP:
            return f"map<{self.type_name(args[0], args[1])},{self.type_name(args[2], args[3])}>"
        return f"type{ttype}"

    def class_name(self, cls: type[Any]) -> str:
        """``Name``, or ``package.Name`` for a class of another package (an included file)."""
        module = _module_of(cls)
        if not any(module is m for m in self.modules):
            self.modules.append(module)
        if any(module is m for m in self.own):
            return cls.__name__
        return f"{module.__name__.rpartition('.')[0].rpartition('.')[2]}.{cls.__name__}"

    def fields(self, spec: Any) -> list[dict[str, Any]]:
        """``{"id", "name", "type"}`` of each argument or exception of a method."""
        return [
            {"id": f[0], "name": f[2], "type": self.type_name(f[1], f[3])}
            for f in spec or ()
            if f is not None
        ]

    def methods(self, module: ModuleType) -> list[dict[str, Any]]:
        """Each method of a service module (its bases' too) in name order."""
        client_class = module.Client
        found = []
        for name in sorted(service_methods(client_class)):
            # <name>_args and _result live in the module of the service that declares the method.
            home = next(
                _module_of(c)
                for c in client_class.__mro__
                if hasattr(_module_of(c), f"{name}_args")
            )
            result = getattr(home, f"{name}_result", None)  # none for oneway methods
            outcome = self.fields(result.thrift_spec) if result is not None else []
            returns = next((f["type"] for f in outcome if f["id"] == 0), "void")
            found.append(
                {
                    "name": name,
                    "arguments": self.fields(getattr(home, f"{name}_args").thrift_spec),
                    "returns": returns,
                    "throws": [f for f in outcome if f["id"] != 0],
                    "oneway": result is None,
                }
            )
        return found

    def struct(self, cls: type[Any]) -> dict[str, Any]:
        """A struct or exception (Apache marks no unions: they read as structs)."""
        spec = [f for f in cls.thrift_spec or () if f is not None]
        required = _required_fields(cls, [f[2] for f in spec])
        fields = []
        for field_id, ttype, name, args, default in spec:
            field = {
                "id": field_id,
                "name": name,
                "type": self.type_name(ttype, args),
                # Optional and default requiredness generate the same code: only required shows.
                "requiredness": "required" if name in required else None,
            }
            if default is not None:
                field["default"] = to_plain(default, ttype, args)
            fields.append(field)
        return {"kind": "exception" if issubclass(cls, TException) else "struct", "fields": fields}


def _required_fields(cls: type[Any], names: list[str]) -> set[str]:
    """The fields the generated ``validate()`` insists on, found by unsetting each in turn."""
    required = set()
    for name in names:
        # Every field given (None is not the default of a required field that has one).
        values = {other: None if other == name else 0 for other in names}
        try:
            cls(**values).validate()
        except TProtocolException:
            required.add(name)
    return required


def _ttypes(package: ModuleType) -> ModuleType | None:
    """The ``ttypes`` module beside a service module, or in a package."""
    if hasattr(package, "Client") and hasattr(package, "Iface"):
        name = package.__name__.rpartition(".")[0] + ".ttypes"
    else:
        name = package.__name__ + ".ttypes"
    try:
        return importlib.import_module(name.lstrip("."))
    except ImportError:
        return None


def describe_compiled(
    packages: list[ModuleType], services: dict[str, ModuleType]
) -> dict[str, Any]:
    """The document of generated (or loaded) packages and their services."""
    own = [m for m in map(_ttypes, packages) if m is not None]
    names = _Compiled(own)
    document = empty_document()
    document["services"] = {name: names.methods(services[name]) for name in sorted(services)}
    index = 0
    while index < len(names.modules):  # structs may lead to more modules: visit those too
        module = names.modules[index]
        index += 1
        for value in list(vars(module).values()):
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            table = getattr(value, "_VALUES_TO_NAMES", None)
            if isinstance(table, dict):
                document["enums"][names.class_name(value)] = {
                    name: number for number, name in sorted(table.items())
                }
            elif hasattr(value, "thrift_spec"):
                document["structs"][names.class_name(value)] = names.struct(value)
    for ttypes in names.modules:
        package = ttypes.__name__.rpartition(".")[0]
        try:
            constants = importlib.import_module(f"{package}.constants")
        except ImportError:
            continue
        prefix = "" if any(ttypes is m for m in own) else f"{package.rpartition('.')[2]}."
        for name, value in vars(constants).items():
            # constants.py imports thrift's names and star-imports ttypes: the rest are constants
            if name.startswith("_") or name in vars(ttypes) or callable(value):
                continue
            if not isinstance(value, ModuleType):
                document["constants"][prefix + name] = {"type": None, "value": plain_value(value)}
    return document


# --- text -----------------------------------------------------------------------------------


def _shown(value: Any, type_name: str | None, enums: dict[str, dict[str, int]]) -> str:
    """A default or constant as IDL writes it; a number of a known enum type by its name."""
    if type_name in enums and isinstance(value, int):
        by_number = {number: name for name, number in enums[type_name].items()}
        if value in by_number:
            return f"{type_name}.{by_number[value]}"
    return json.dumps(value, ensure_ascii=False)


def _signature_field(field: dict[str, Any]) -> str:
    """An argument or exception as IDL writes it: ``1: i64 id``."""
    return f"{field['id']}: {field['type']} {field['name']}"


def render_text(document: dict[str, Any]) -> str:
    """The document as IDL-like text: typedefs, enums, constants, structs, services."""
    enums = document["enums"]
    blocks = []
    if document["typedefs"]:
        blocks.append("\n".join(f"typedef {t} {n}" for n, t in document["typedefs"].items()))
    for name, values in enums.items():
        body = "".join(f"  {value} = {number}\n" for value, number in values.items())
        blocks.append(f"enum {name} {{\n{body}}}")
    if document["constants"]:
        lines = []
        for name, const in document["constants"].items():
            type_part = f"{const['type']} " if const["type"] else ""
            lines.append(
                f"const {type_part}{name} = {_shown(const['value'], const['type'], enums)}"
            )
        blocks.append("\n".join(lines))
    for name, struct in document["structs"].items():
        body = ""
        for field in struct["fields"]:
            requiredness = field["requiredness"]
            prefix = f"{requiredness} " if requiredness in ("required", "optional") else ""
            default = (
                f" = {_shown(field['default'], field['type'], enums)}" if "default" in field else ""
            )
            body += f"  {field['id']}: {prefix}{field['type']} {field['name']}{default}\n"
        blocks.append(f"{struct['kind']} {name} {{\n{body}}}")
    for service, methods in document["services"].items():
        body = ""
        for m in methods:
            params = ", ".join(map(_signature_field, m["arguments"]))
            prefix = "oneway " if m["oneway"] else ""
            throws = ", ".join(map(_signature_field, m["throws"]))
            body += f"  {prefix}{m['returns']} {m['name']}({params})"
            body += f" throws ({throws})\n" if throws else "\n"
        blocks.append(f"service {service} {{\n{body}}}")
    return "\n\n".join(blocks)
