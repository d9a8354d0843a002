"""Plain Python/JSON values to and from generated Thrift types, driven by `thrift_spec`.

`from_plain` checks every value against the IDL and raises `ArgumentError` naming the field
path (``customer.address.zip: expected i32, got 'x'``); `to_plain` produces JSON-ready data:
binary as base64 text, sets as sorted lists, map keys as text where JSON needs it, inf and nan
as the text "inf", "-inf", "nan" (read back by `from_plain`), and enums as numbers (the Python
generator keeps no enum types in `thrift_spec`; names are accepted in). Unions cannot be told
from structs either, so "exactly one field" is left to the server.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import sys
from collections.abc import Mapping
from typing import Any

from thrift.protocol.TProtocol import TProtocolException
from thrift.Thrift import TType

from ._argcheck import INT_RANGES, shown
from ._exceptions import ArgumentError

__all__ = ["convert_args", "convert_result", "from_dict", "from_plain", "to_dict", "to_plain"]


def _fail(path: str, expected: str, value: Any) -> ArgumentError:
    """The error for `value` at `path`, which should have been `expected`."""
    return ArgumentError(f"{path or 'value'}: expected {expected}, got {shown(value)}")


def _is_enum(cls: Any) -> bool:
    """Whether `cls` is a generated enum class."""
    return isinstance(cls, type) and isinstance(getattr(cls, "_VALUES_TO_NAMES", None), dict)


def _fields(cls: type[Any]) -> list[tuple[int, int, str, Any, Any]]:
    """The field entries of a generated struct, union or exception."""
    return [field for field in (cls.thrift_spec or ()) if field is not None]


def _module_enums(module_name: str) -> dict[str, list[tuple[str, int]]]:
    """Enum value names of a generated module: name -> [(enum class name, number)]."""
    found = _enum_cache.get(module_name)
    if found is None:
        found = {}
        module = sys.modules.get(module_name)
        package = module_name.rpartition(".")[0]
        for attr in vars(module).values() if module is not None else ():
            # Generated enums of this IDL package (thrift's own TType has the same attributes).
            if _is_enum(attr) and attr.__module__.rpartition(".")[0] == package:
                for number, name in attr._VALUES_TO_NAMES.items():
                    found.setdefault(name, []).append((attr.__name__, number))
        _enum_cache[module_name] = found
    return found


_enum_cache: dict[str, dict[str, list[tuple[str, int]]]] = {}


def from_plain(ttype: int, type_args: Any, value: Any, path: str = "", module: str = "") -> Any:
    """`value` (plain Python/JSON data) as the Thrift type `ttype` / `type_args`.

    The Python generator keeps no enum types in `thrift_spec`, so an enum is an i32 here: its
    number is accepted, and so is a value name defined by one enum of the generated `module`.
    """
    if ttype == TType.BOOL:
        if not isinstance(value, bool):
            raise _fail(path, "bool", value)
        return value
    if ttype in INT_RANGES:
        name, low, high = INT_RANGES[ttype]
        if isinstance(value, str) and ttype == TType.I32 and module:
            return _enum_by_name(module, value, path)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _fail(path, f"{name} ({low}..{high})", value)
        return value
    if ttype == TType.DOUBLE:
        return _double_from_plain(value, path)
    if ttype == TType.STRING:
        if type_args == "BINARY":
            return _binary_from_plain(value, path)
        if not isinstance(value, str):
            raise _fail(path, "string", value)
        try:
            value.encode("utf-8")  # a lone surrogate (JSON allows "\ud800") fails mid-send
        except UnicodeEncodeError:
            raise _fail(path, "string (valid Unicode)", value) from None
        return value
    if ttype == TType.STRUCT:
        return from_dict(type_args[0], value, path)
    if ttype in (TType.LIST, TType.SET):
        item_type, item_args = type_args[0], type_args[1]
        kind = "list" if ttype == TType.LIST else "set"
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple, set)):
            raise _fail(path, f"a {kind} (JSON array)", value)
        items = [
            from_plain(item_type, item_args, v, f"{path}[{i}]", module) for i, v in enumerate(value)
        ]
        if ttype == TType.LIST:
            return items
        try:
            return set(items)
        except TypeError:  # generated structs define __eq__ only, so Python cannot hash them
            raise _fail(
                path, "a set of hashable items (Python cannot hash this type)", value
            ) from None
    if ttype == TType.MAP:
        return _map_from_plain(type_args, value, path, module)
    raise _fail(path, f"a supported Thrift type (not type id {ttype})", value)


_SPECIAL_DOUBLES = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _double_from_plain(value: Any, path: str) -> float:
    """A float from an int or float, or from the text `to_plain` writes for inf and nan."""
    if isinstance(value, str) and value in _SPECIAL_DOUBLES:
        return _SPECIAL_DOUBLES[value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(path, "double", value)
    try:
        return float(value)
    except OverflowError:
        raise _fail(path, "double (an int this large does not fit)", value) from None


def _map_from_plain(type_args: Any, value: Any, path: str, module: str) -> dict[Any, Any]:
    """A map from a mapping; JSON object keys are read back as the key type first."""
    key_type, key_args, value_type, value_args = type_args[:4]
    if not isinstance(value, Mapping):
        raise _fail(path, "a map (JSON object)", value)
    result = {}
    for k, v in value.items():
        where = f"{path}[{k!r}]"
        key = from_plain(key_type, key_args, _map_key(key_type, key_args, k), where, module)
        item = from_plain(value_type, value_args, v, where, module)
        try:
            result[key] = item
        except TypeError:  # a struct key: generated structs define __eq__ only
            raise _fail(where, "a hashable map key (Python cannot hash this type)", k) from None
    return result


def _enum_by_name(module: str, value: str, path: str) -> int:
    """The number of an enum value name defined by exactly one enum of `module`."""
    enums = _module_enums(module)
    matches = enums.get(value, [])
    if len(matches) == 1:
        return matches[0][1]
    if matches:
        owners = ", ".join(owner for owner, _ in matches)
        raise ArgumentError(f"{path or 'value'}: enum name {value!r} is ambiguous ({owners})")
    names = ", ".join(sorted(enums)) or "none in this IDL"
    raise _fail(path, f"i32 or an enum value name ({names})", value)


def _binary_from_plain(value: Any, path: str) -> bytes:
    """Bytes from bytes, or from base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise _fail(path, "binary (bytes or base64 text)", value)


def _map_key(key_type: int, key_args: Any, key: Any) -> Any:
    """A JSON object key ("1", "true", "RED") read back as the map's key type."""
    if not isinstance(key, str):
        return key
    if key_type in INT_RANGES:
        try:
            return int(key)
        except ValueError:
            return key  # perhaps an enum value name
    if key_type == TType.DOUBLE:
        try:
            return float(key)
        except ValueError:
            return key
    if key_type == TType.BOOL and key in ("true", "false"):
        return key == "true"
    return key


def from_dict(cls: type[Any], data: Any, path: str = "") -> Any:
    """A generated struct, union or exception built from a mapping of field names to values."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise _fail(path, f"{cls.__name__} (JSON object)", data)
    fields = {field[2]: field for field in _fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ArgumentError(
            f"{path or cls.__name__}: unknown field(s) {', '.join(map(repr, unknown))} "
            f"(fields of {cls.__name__}: {', '.join(fields)})"
        )
    values: dict[str, Any] = {}
    for name, (_, ttype, _, type_args, _) in fields.items():
        if name in data and data[name] is not None:
            where = f"{path}.{name}" if path else name
            values[name] = from_plain(ttype, type_args, data[name], where, cls.__module__)
    obj = cls(**values)
    try:
        obj.validate()  # the generated check of required fields
    except TProtocolException as exc:
        raise ArgumentError(f"{path or cls.__name__}: {exc.message}") from None
    return obj


def to_plain(value: Any, ttype: int, type_args: Any) -> Any:
    """A Thrift value as JSON-ready plain data."""
    if value is None:
        return None
    if ttype == TType.STRING and type_args == "BINARY":
        return base64.b64encode(value).decode("ascii")
    if ttype == TType.DOUBLE and not math.isfinite(value):
        return str(value)
    if ttype == TType.STRUCT:
        return to_dict(value)
    if ttype in (TType.LIST, TType.SET):
        items = [to_plain(v, type_args[0], type_args[1]) for v in value]
        if ttype == TType.SET:
            with contextlib.suppress(TypeError):  # sets of structs have no order
                items.sort()
        return items
    if ttype == TType.MAP:
        key_type, key_args, value_type, value_args = type_args[:4]
        return {
            _json_key(to_plain(k, key_type, key_args)): to_plain(v, value_type, value_args)
            for k, v in value.items()
        }
    return value


def _json_key(key: Any) -> str:
    """A map key as JSON object keys are: text (`_map_key` reads it back)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return key if isinstance(key, str) else str(key)


def to_dict(obj: Any) -> dict[str, Any]:
    """Any generated struct, union or exception as a JSON-ready dict (unset fields left out)."""
    result: dict[str, Any] = {}
    for _, ttype, name, type_args, _ in _fields(type(obj)):
        value = getattr(obj, name, None)
        if value is not None:
            result[name] = to_plain(value, ttype, type_args)
    return result


def _method_struct(client_class: type[Any], method: str, suffix: str) -> type[Any]:
    """The generated `<method>_args` or `<method>_result` class of a service method."""
    for cls in client_class.__mro__:
        module = sys.modules.get(cls.__module__)
        struct = getattr(module, f"{method}{suffix}", None)
        if struct is not None:
            return struct  # type: ignore[no-any-return]
    from ._service import no_such_method, service_methods

    raise ArgumentError(
        no_such_method(method, client_class.__module__, service_methods(client_class))
    )


def convert_args(client_class: type[Any], method: str, args: Any) -> dict[str, Any]:
    """Keyword arguments for `method` from a mapping of plain values, checked against the IDL."""
    struct = _method_struct(client_class, method, "_args")
    fields = {field[2]: field for field in _fields(struct)}
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise ArgumentError(
            f"{method}: expected a JSON object of arguments ({', '.join(fields) or 'none'}), "
            f"got {args!r}"
        )
    unknown = sorted(set(args) - set(fields))
    if unknown:
        raise ArgumentError(
            f"{method}: unknown argument(s) {', '.join(map(repr, unknown))} "
            f"(arguments: {', '.join(fields) or 'none'})"
        )
    missing = [name for name in fields if name not in args]
    if missing:
        raise ArgumentError(f"{method}: missing argument(s) {', '.join(map(repr, missing))}")
    return {
        name: from_plain(ttype, type_args, args[name], name, struct.__module__)
        for name, (_, ttype, _, type_args, _) in fields.items()
    }


def convert_result(client_class: type[Any], method: str, value: Any) -> Any:
    """A method's return value as JSON-ready plain data."""
    if value is None:
        return None
    struct = _method_struct(client_class, method, "_result")
    for field in _fields(struct):
        if field[0] == 0:
            return to_plain(value, field[1], field[3])
    return None
