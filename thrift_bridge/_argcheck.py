"""Which argument a request could not be encoded for, found after the encoder failed. No I/O.

Apache's encoders (the C codec, the Python protocols, our JSON writer) fail on a value that
does not fit the IDL with a bare `TypeError`, `OverflowError`, `AttributeError` or
`struct.error` naming neither the method nor the argument. Checking every argument before
encoding would cost every good call; instead the connections call `argument_error` only once
the encoder has raised, and this module walks the arguments against the method's
`thrift_spec` to name the first value that does not fit::

    CustomerService.get_customer: id: expected i64 (-9223372036854775808..9223372036854775807),
    got '1'
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Mapping, Sequence, Set
from typing import Any

from thrift.Thrift import TType

from ._exceptions import ArgumentError

__all__ = ["INT_RANGES", "argument_error", "shown", "type_name"]

#: Each Thrift integer type: its IDL name and range.
INT_RANGES = {
    TType.BYTE: ("i8", -(2**7), 2**7 - 1),
    TType.I16: ("i16", -(2**15), 2**15 - 1),
    TType.I32: ("i32", -(2**31), 2**31 - 1),
    TType.I64: ("i64", -(2**63), 2**63 - 1),
}
_NAMES = {TType.BOOL: "bool", TType.DOUBLE: "double", TType.LIST: "list", TType.SET: "set"}
_MAX_DEPTH = 64  # a struct that holds itself must not recurse for ever

#: (path, expected, value) of a value that does not fit its type.
_Problem = tuple[str, str, Any]


def shown(value: Any) -> str:
    """`repr(value)`, cut to a length that fits in a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def type_name(ttype: int, type_args: Any) -> str:
    """A `thrift_spec` type as the IDL writes it: `i64`, `list<Inner>`, `map<string, i32>`."""
    if ttype in INT_RANGES:
        return INT_RANGES[ttype][0]
    if ttype == TType.STRING:
        return "binary" if type_args == "BINARY" else "string"
    if ttype == TType.STRUCT:
        return str(type_args[0].__name__)
    if ttype in (TType.LIST, TType.SET):
        return f"{_NAMES[ttype]}<{type_name(type_args[0], type_args[1])}>"
    if ttype == TType.MAP:
        key, value = type_name(type_args[0], type_args[1]), type_name(type_args[2], type_args[3])
        return f"map<{key}, {value}>"
    return _NAMES.get(ttype, f"type {ttype}")


def argument_error(
    client_class: type[Any],
    service_name: str | None,
    method: str,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> ArgumentError | None:
    """The `ArgumentError` for the first argument of a call to `method` that does not fit the
    IDL, or None when none is at fault (the encoder's own error then stands)."""
    function = getattr(client_class, method, None)
    module = sys.modules.get(getattr(function, "__module__", ""))
    args_class = getattr(module, f"{method}_args", None)
    spec = getattr(args_class, "thrift_spec", None)
    if spec is None:
        return None
    fields = [field for field in spec if field is not None]
    if len(args) > len(fields) or any(name not in (f[2] for f in fields) for name in kwargs):
        return None  # not a value that does not fit: the call itself is wrong (a TypeError)
    values = dict(zip((field[2] for field in fields), args))
    if any(name in values for name in kwargs):
        return None
    values.update(kwargs)
    for _, ttype, name, type_args, _ in fields:
        value = values.get(name)
        problem = None if value is None else _problem(ttype, type_args, value, name, 0)
        if problem is not None:
            path, expected, value = problem
            service = service_name or client_class.__module__.rpartition(".")[2]
            return ArgumentError(
                f"{service}.{method}: {path}: expected {expected}, got {shown(value)}",
                method=method,
            )
    return None


def _problem(ttype: int, type_args: Any, value: Any, path: str, depth: int) -> _Problem | None:
    """Where `value` (or a value inside it) does not fit `ttype`, or None."""
    if value is None:  # inside a container: the encoders cannot write it
        return path, type_name(ttype, type_args), value
    if ttype in INT_RANGES:
        name, low, high = INT_RANGES[ttype]
        try:
            number = operator.index(value)
        except TypeError:
            return path, f"{name} ({low}..{high})", value
        return None if low <= number <= high else (path, f"{name} ({low}..{high})", value)
    if ttype == TType.DOUBLE:
        if isinstance(value, (str, bytes, bytearray)):
            return path, "double", value
        try:
            float(value)
        except (TypeError, ValueError):
            return path, "double", value
        except OverflowError:
            return path, "double (an int this large does not fit)", value
        return None
    if ttype == TType.STRING:
        return _string_problem(type_args, value, path)
    if depth >= _MAX_DEPTH:
        return None
    if ttype == TType.STRUCT:
        return _struct_problem(type_args[0], value, path, depth)
    if ttype in (TType.LIST, TType.SET):
        if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, (Sequence, Set)):
            return path, type_name(ttype, type_args), value
        for i, item in enumerate(value):
            problem = _problem(type_args[0], type_args[1], item, f"{path}[{i}]", depth + 1)
            if problem is not None:
                return problem
        return None
    if ttype == TType.MAP:
        if not isinstance(value, dict):
            return path, f"{type_name(ttype, type_args)} (a dict)", value
        key_type, key_args, value_type, value_args = type_args[:4]
        for key, item in value.items():
            problem = _problem(key_type, key_args, key, f"{path} key {shown(key)}", depth + 1)
            if problem is None:
                where = f"{path}[{shown(key)}]"
                problem = _problem(value_type, value_args, item, where, depth + 1)
            if problem is not None:
                return problem
    return None  # bool: every value has a truth value


def _string_problem(type_args: Any, value: Any, path: str) -> _Problem | None:
    """Where a string or binary value does not fit, or None."""
    if type_args == "BINARY":
        ok = isinstance(value, (bytes, bytearray, memoryview))
        return None if ok else (path, "binary (bytes)", value)
    if not isinstance(value, str):
        return path, "string (str)", value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return path, "string (valid Unicode)", value
    return None


def _struct_problem(cls: type[Any], value: Any, path: str, depth: int) -> _Problem | None:
    """Where a struct value, or one of its fields, does not fit, or None."""
    if not isinstance(value, cls):
        expected = cls.__name__
        if isinstance(value, Mapping):  # invoke() converts dicts; generated calls need the class
            expected += f" (built as {cls.__name__}(...); Client.invoke() takes plain dicts)"
        return path, expected, value
    for field in cls.thrift_spec or ():
        if field is None:
            continue
        _, ttype, name, type_args, _ = field
        item = getattr(value, name, None)
        if item is not None:
            problem = _problem(ttype, type_args, item, f"{path}.{name}", depth + 1)
            if problem is not None:
                return problem
    return None
