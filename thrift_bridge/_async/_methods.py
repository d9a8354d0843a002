"""How each method of a generated client is coded on one endpoint, for the async connections.

Built once per (client, service name, wire) and shared by every pool and loop: which fast codec
writes the request (binary/compact or JSON, else the generated code), the result class, how a
result struct becomes a value, and whether the method is oneway. No I/O.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from .._codec._binary import binary_methods
from .._service import generated_method, result_unpacker, service_methods

if TYPE_CHECKING:
    from .._endpoint import Endpoint

__all__ = ["MethodInfo", "method_table"]


class MethodInfo(NamedTuple):
    """What an async connection needs to code one method."""

    result_class: Any  #: `<method>_result`, None for oneway
    unpack: Any  #: result struct -> value (or the declared exception raised)
    fast: Any  #: the method's BinaryMethod or JsonMethod, or None (generated code)
    oneway: bool


_tables: dict[tuple[Any, ...], dict[str, MethodInfo]] = {}
_tables_lock = threading.Lock()


def method_table(
    client_class: type[Any], service_name: str | None, endpoint: Endpoint
) -> dict[str, MethodInfo]:
    """How each method of a generated client is coded on `endpoint` (built once per wire)."""
    key = (client_class, service_name, endpoint.protocol, endpoint.transport, endpoint.zlib)
    table = _tables.get(key)
    if table is not None:
        return table
    if endpoint.protocol == "json":
        from .._codec._json_methods import json_methods

        fast: dict[str, Any] = dict(json_methods(client_class, service_name, endpoint))
    else:
        fast = dict(binary_methods(client_class, service_name, endpoint))
    table = {}
    for name in service_methods(client_class):
        parts = generated_method(client_class, name)
        module = sys.modules[getattr(client_class, name).__module__]
        result_class = getattr(module, f"{name}_result", None)
        oneway = not hasattr(client_class, f"recv_{name}")
        unpack = result_unpacker(result_class, name) if result_class is not None else None
        table[name] = MethodInfo(result_class, unpack, fast.get(name) if parts else None, oneway)
    with _tables_lock:
        return _tables.setdefault(key, table)
