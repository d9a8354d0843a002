"""mypy plugin: ``Client(CustomerService, url)`` is the service's typed client for mypy too.

Enable it in the mypy configuration::

    [tool.mypy]
    plugins = ["thrift_bridge.mypy"]

pyright reads the constructor's ``__new__`` overloads (`thrift_bridge.typing`), but mypy
neither accepts a type variable as ``__new__``'s result nor uses ``__new__`` when the class
also defines ``__init__``. So for mypy, this hook replaces the constructed type with the
``TypedClient`` class of the service module's stub (``TypedAsyncClient`` for an
``AsyncClient``), when it has one; anything else (a module without stubs, a value typed
``Any``) keeps the plain class, exactly as without the plugin.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mypy.nodes import TypeInfo
from mypy.plugin import FunctionContext, Plugin
from mypy.types import Instance, get_proper_type

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy.types import Type

__all__ = ["plugin"]

#: Each client class, by name, with the name of its view in a service module's stub. Only
#: our own classes count (defined in a private module of the package, so not generated code).
VIEWS = {
    "Client": "TypedClient",
    "AsyncClient": "TypedAsyncClient",
}
_OURS = re.compile(r"thrift_bridge(\._[a-z0-9_]+)+\.(?P<name>\w+)")


class ThriftBridgePlugin(Plugin):
    """Types ``Client(service_module, ...)`` as the module's ``TypedClient``, and so on."""

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        """The hook for calls of a client class (its constructor), else None."""
        ours = _OURS.fullmatch(fullname)
        view = VIEWS.get(ours["name"]) if ours else None
        if view is None:
            return None

        def typed_view(ctx: FunctionContext) -> Type:
            return self._view_of(ctx, view)

        return typed_view

    def _view_of(self, ctx: FunctionContext, view: str) -> Type:
        """The view class of the module passed as the first argument, or the default type."""
        if not ctx.arg_types or not ctx.arg_types[0]:
            return ctx.default_return_type
        service = get_proper_type(ctx.arg_types[0][0])
        # A module used as a value is a types.ModuleType instance that remembers its name.
        extra = service.extra_attrs if isinstance(service, Instance) else None
        module = extra.mod_name if extra is not None else None
        if not module:
            return ctx.default_return_type
        symbol = self.lookup_fully_qualified(f"{module}.{view}")
        if symbol is None or not isinstance(symbol.node, TypeInfo):
            return ctx.default_return_type
        return Instance(symbol.node, [])


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point."""
    return ThriftBridgePlugin
