"""What a generated service offers: its methods, their parts, and the exceptions they declare."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from thrift.Thrift import TApplicationException, TType

from ._exceptions import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "GeneratedMethod",
    "calls_of",
    "client_class_of",
    "generated_method",
    "no_such_method",
    "parameters",
    "result_unpacker",
    "service_methods",
]

Call = TypeVar("Call")


def service_methods(client_class: type[Any]) -> dict[str, tuple[type[BaseException], ...]]:
    """Each method of a generated client with the exceptions its IDL declares."""
    methods: dict[str, tuple[type[BaseException], ...]] = {}
    for iface in client_class.__mro__:
        if iface.__name__ != "Iface":
            continue
        module = sys.modules[iface.__module__]
        for name, value in vars(iface).items():
            if name.startswith("_") or not callable(value) or name in methods:
                continue
            result = getattr(module, f"{name}_result", None)
            spec = getattr(result, "thrift_spec", None) or ()
            declared = tuple(
                field[3][0]
                for field in spec
                if field is not None and field[0] != 0 and field[1] == TType.STRUCT
            )
            methods[name] = declared
    return methods


def no_such_method(name: str, module: str, methods: Iterable[str]) -> str:
    """The message for a name that is not a method of the service (generated in `module`)."""
    return f"{name!r} is not a method of {module} (methods: {', '.join(sorted(methods))})"


def calls_of(client_class: type[Any], make: Callable[[str], Call | None]) -> dict[str, Call]:
    """`make(name)` for each method of a generated client, where it makes a call."""
    calls: dict[str, Call] = {}
    for name in service_methods(client_class):
        call = make(name)
        if call is not None:
            calls[name] = call
    return calls


def parameters(function: Any) -> tuple[str, ...]:
    """The positional parameter names of a generated function, `self` left out."""
    code = getattr(function, "__code__", None)  # a struct without fields has object's __init__
    return tuple(code.co_varnames[1 : code.co_argcount]) if code is not None else ()


class GeneratedMethod(NamedTuple):
    """A generated client method's parts, as the fast calls (binary, compact, JSON) use them."""

    function: Any  #: Client.<name>
    args_class: Any
    result_class: Any
    recv: Any  #: Client.recv_<name>; None for a oneway method
    parameters: tuple[str, ...]


def generated_method(client_class: type[Any], name: str) -> GeneratedMethod | None:
    """The parts of method `name`, or None where its shape is not the usual generated one."""
    function = getattr(client_class, name)
    module = sys.modules[function.__module__]
    args_class = getattr(module, f"{name}_args", None)
    result_class = getattr(module, f"{name}_result", None)
    recv = getattr(client_class, f"recv_{name}", None)
    names = parameters(function)
    if (
        getattr(args_class, "thrift_spec", None) is None
        or (recv is not None and getattr(result_class, "thrift_spec", None) is None)
        or parameters(getattr(args_class, "__init__", None)) != names
    ):
        return None
    return GeneratedMethod(function, args_class, result_class, recv, names)


def result_unpacker(result_class: Any, name: str) -> Callable[[Any], Any]:
    """What the generated recv_<name> makes of a decoded result struct: its success value, a
    declared exception raised, MISSING_RESULT raised, or None for a void method."""
    fields = [field for field in getattr(result_class, "thrift_spec", None) or () if field]
    returns = any(field[0] == 0 for field in fields)
    raises = tuple(field[2] for field in fields if field[0] != 0)
    missing = f"{name} failed: unknown result"

    def unpack(result: Any) -> Any:
        if returns:
            value = result.success
            if value is not None:
                return value
        for field in raises:
            error = getattr(result, field)
            if error is not None:
                try:
                    raise error
                finally:  # the error's traceback keeps this frame: no cycle through it
                    del error, result
        if returns:
            raise TApplicationException(TApplicationException.MISSING_RESULT, missing)
        return None

    return unpack


def client_class_of(service: Any) -> type[Any]:
    """The generated `Client` class of a service module, or the class itself."""
    candidate = getattr(service, "Client", None) if isinstance(service, ModuleType) else service
    if not (
        isinstance(candidate, type) and any(c.__name__ == "Iface" for c in candidate.__mro__[1:])
    ):
        raise ConfigError(
            f"invalid service {service!r} (expected a module generated by the Thrift compiler, "
            "or its Client class)"
        )
    return candidate
