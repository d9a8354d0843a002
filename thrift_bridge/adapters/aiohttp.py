"""aiohttp: async Thrift clients that live as long as the web app.

::

    from aiohttp import web
    from thrift_bridge.adapters.aiohttp import THRIFT_CLIENTS, setup

    async def customer(request: web.Request) -> web.Response:
        customers = request.app[THRIFT_CLIENTS]["customers"]
        return web.json_response(to_dict(await customers.get_customer(1)))

    app = web.Application()
    setup(app, "clients.toml")   # any configuration AsyncClientRegistry.from_config takes

The registry sits under the typed key `THRIFT_CLIENTS`; a ``cleanup_ctx`` builds its clients
when the app starts and closes them when it stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .registry import DEFAULT_PREFIX, AsyncClientRegistry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .registry import RegistryConfig

__all__ = ["THRIFT_CLIENTS", "setup"]

#: ``app[THRIFT_CLIENTS]``: the app's `AsyncClientRegistry` (in a sub-app's handlers,
#: ``request.config_dict[THRIFT_CLIENTS]`` finds the parent's).
THRIFT_CLIENTS = web.AppKey("thrift_clients", AsyncClientRegistry)


def setup(
    app: web.Application, config: RegistryConfig, *, prefix: str = DEFAULT_PREFIX
) -> AsyncClientRegistry:
    """Give `app` the clients of `config`: validated now, built at startup, closed at cleanup."""
    if THRIFT_CLIENTS in app:
        raise RuntimeError("thrift_bridge.adapters.aiohttp.setup() was already called on this app")
    registry = app[THRIFT_CLIENTS] = AsyncClientRegistry.from_config(config, prefix)
    app.cleanup_ctx.append(_clients)
    return registry


async def _clients(app: web.Application) -> AsyncIterator[None]:
    """The cleanup context: every default client built at startup, all closed at cleanup."""
    registry = app[THRIFT_CLIENTS]
    registry.build_defaults()  # before the first request
    yield
    await registry.aclose()
