"""The stub of one service module: Apache's classes, and thrift-bridge's typed client views.

Apache's part (``Iface``, ``Client``, ``Processor``, ``<method>_args``, ``<method>_result``)
describes what the module holds. The views (``TypedClient``, ``TypedPinnedClient``,
``TypedAsyncClient``, ``TypedAsyncPinnedClient``) are ``@type_check_only`` protocols: what
``thrift_bridge.Client(Service, url)``, its ``connection()``, and their asyncio twins offer,
that is the client-level API of `thrift_bridge.typing` plus the service's methods (a method
named like a client-level one, ``close`` say, is reached with ``call("close")`` at run time,
so the view leaves it out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._idl._resolve import find_service, type_info
from .._idl._service import helper_structs
from ..typing import AsyncClientAPI, AsyncPinnedClientAPI, ClientAPI, PinnedClientAPI
from ._types import struct_lines

if TYPE_CHECKING:
    from .._idl import _model as m
    from ._writer import StubModule

__all__ = ["VIEWS", "service_lines"]

#: Each view: its name, the API protocol it extends, whether its methods are async, and the
#: view its ``connection()`` returns (None for pinned views).
VIEWS: tuple[tuple[str, type, bool, str | None], ...] = (
    ("TypedClient", ClientAPI, False, "TypedPinnedClient"),
    ("TypedPinnedClient", PinnedClientAPI, False, None),
    ("TypedAsyncClient", AsyncClientAPI, True, "TypedAsyncPinnedClient"),
    ("TypedAsyncPinnedClient", AsyncPinnedClientAPI, True, None),
)


def _returns(out: StubModule, function: m.Function, scope: frozenset[str]) -> str:
    """A method's result type: None for void and oneway."""
    if function.return_type is None:
        return "None"
    return out.annotation(type_info(out.program, function.return_type), scope)


def _params(out: StubModule, function: m.Function, scope: frozenset[str]) -> str:
    """``self, a: int, b: str``: the generated methods take every argument, without defaults."""
    typed = [
        f"{a.name}: {out.annotation(type_info(out.program, a.type), scope)}"
        for a in function.arguments
    ]
    return ", ".join(["self", *typed])


def service_lines(out: StubModule, service: m.Service) -> list[str]:
    """The whole service module."""
    functions = service.functions
    helpers = [s for f in functions for s in helper_structs(f)]
    out.defined |= {"Iface", "Client", "Processor", *(s.name for s in helpers)}
    out.defined |= {view[0] for view in VIEWS}
    extends = ""
    if service.extends is not None:
        owner, parent = find_service(out.program, service.extends)
        out.module_of(owner, parent.name, "_tb_extends")
        extends = "_tb_extends."
    any_ = out.typing_name("Any")
    lines = [f"class Iface({extends}Iface):" if extends else "class Iface:"]
    scope = frozenset(f.name for f in functions)
    lines += [
        f"    def {f.name}({_params(out, f, scope)}) -> {_returns(out, f, scope)}: ..."
        for f in functions
    ]
    if not functions:
        lines.append("    pass")

    client_scope = scope | {f"send_{f.name}" for f in functions}
    client_scope |= {f"recv_{f.name}" for f in functions if not f.oneway}
    lines.append(f"class Client({extends + 'Client, ' if extends else ''}Iface):")
    lines.append(f"    def __init__(self, iprot: {any_}, oprot: {any_} = None) -> None: ...")
    for f in functions:
        params, returns = _params(out, f, client_scope), _returns(out, f, client_scope)
        lines.append(f"    def {f.name}({params}) -> {returns}: ...")
        lines.append(f"    def send_{f.name}({params}) -> None: ...")
        if not f.oneway:
            lines.append(f"    def recv_{f.name}(self) -> {returns}: ...")

    out.imports.add("from thrift_bridge.typing import TProcessor")
    lines.append(f"class Processor({extends + 'Processor, ' if extends else ''}Iface, TProcessor):")
    lines += [
        "    def __init__(self, handler: Iface) -> None: ...",
        f"    def on_message_begin(self, func: {any_}) -> None: ...",
        f"    def process(self, iprot: {any_}, oprot: {any_}) -> {any_}: ...",
    ]
    lines += [
        f"    def process_{f.name}(self, seqid: int, iprot: {any_}, oprot: {any_}) -> None: ..."
        for f in functions
    ]
    for struct in helpers:
        lines += struct_lines(out, struct)
    for name, api, is_async, pinned in VIEWS:
        lines += _view(out, service, functions, name, api, is_async, pinned, extends)
    return lines


def _view(
    out: StubModule,
    service: m.Service,
    functions: tuple[m.Function, ...],
    name: str,
    api: type,
    is_async: bool,
    pinned: str | None,
    extends: str,
) -> list[str]:
    """One typed view: a protocol of the client-level API plus the service's methods."""
    if extends:  # the base service's view already extends the API protocol
        bases = f"{extends}{name}, "
    else:
        out.imports.add(f"from thrift_bridge.typing import {api.__name__}")
        bases = f"{api.__name__}, "
    protocol = out.typing_name("Protocol")
    kind = "AsyncClient" if is_async else "Client"
    made = f"{kind}({service.name}, url)" + (".connection()" if pinned is None else "")
    lines = [
        f"@{out.typing_name('type_check_only')}",
        f"class {name}({bases}{protocol}):",
        f'    """thrift_bridge.{made} for type checkers."""',
    ]
    if pinned is not None:
        lines.append(f"    def connection(self) -> {pinned}: ...")
    scope = frozenset(f.name for f in functions)
    prefix = "async def" if is_async else "def"
    for f in functions:
        if hasattr(api, f.name):  # the client's own attribute wins at run time
            continue
        lines.append(
            f"    {prefix} {f.name}({_params(out, f, scope)}) -> {_returns(out, f, scope)}: ..."
        )
    return lines
