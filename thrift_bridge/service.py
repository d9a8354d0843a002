"""What a generated service offers: its methods and the exceptions each one declares."""

from __future__ import annotations

import sys
from typing import Any

from thrift.Thrift import TType

__all__ = ["no_such_method", "service_methods"]


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


def no_such_method(name: str, client_class: type[Any], methods: dict[str, Any]) -> str:
    """The message for an attribute that is not a method of the service."""
    return (
        f"{name!r} is not a method of {client_class.__module__} "
        f"(methods: {', '.join(sorted(methods))})"
    )
