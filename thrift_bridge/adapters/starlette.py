"""Starlette and FastAPI: async Thrift clients built at startup and closed at shutdown.

::

    from fastapi import Depends, FastAPI
    from thrift_bridge import AsyncClient
    from thrift_bridge.adapters.starlette import thrift_client, thrift_lifespan

    app = FastAPI(lifespan=thrift_lifespan("clients.toml"))

    @app.get("/customers/{customer_id}")
    async def customer(customer_id: int,
                       customers: AsyncClient = Depends(thrift_client("customers"))):
        return to_dict(await customers.get_customer(customer_id))

The app's `AsyncClientRegistry` lives on ``app.state.thrift_clients`` (`get_clients(app)`),
never in a module global, so several apps (and test apps) each have their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection  # noqa: TC002  # FastAPI reads it at run time

from .._async._client import AsyncClient  # noqa: TC001  # so does FastAPI's signature check
from .._exceptions import ConfigError
from .asgi import CancelOnDisconnect
from .registry import DEFAULT_PREFIX, AsyncClientRegistry

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator
    from types import TracebackType

    from .registry import RegistryConfig

__all__ = ["STATE_KEY", "CancelOnDisconnect", "get_clients", "thrift_client", "thrift_lifespan"]

#: The ``app.state`` attribute holding the app's `AsyncClientRegistry`.
STATE_KEY = "thrift_clients"
#: The attribute marking a dependency made by `thrift_client`: (alias, version).
_MARK = "_thrift_bridge_client"


def thrift_lifespan(
    config: RegistryConfig, *, prefix: str = DEFAULT_PREFIX
) -> Callable[[Any], _Lifespan]:
    """A lifespan building the clients of `config` at startup and closing them at shutdown.

    `config` is anything `AsyncClientRegistry.from_config` takes: a mapping of aliases, a
    settings mapping or ``os.environ`` holding `prefix` keys, a TOML/JSON path, or a registry.
    Configuration errors, and aliases or versions that `thrift_client` dependencies of the
    app's routes ask for but the configuration lacks, fail the startup.
    ``FastAPI(lifespan=thrift_lifespan(config))``, or inside an app's own lifespan:
    ``async with thrift_lifespan(config)(app): ...``.
    """

    def lifespan(app: Any) -> _Lifespan:
        return _Lifespan(app, config, prefix)

    return lifespan


class _Lifespan:
    """The clients of one app while it runs (a class, not ``@asynccontextmanager``: generated
    exceptions raised in an enclosing lifespan could not pass through a generator)."""

    def __init__(self, app: Any, config: RegistryConfig, prefix: str):
        self._app = app
        self._config = config
        self._prefix = prefix

    async def __aenter__(self) -> None:
        registry = AsyncClientRegistry.from_config(self._config, self._prefix)
        for alias, version in _dependencies_of(self._app):
            if alias not in registry:
                raise ConfigError(
                    f"a route depends on thrift_client({alias!r}) but no Thrift client is "
                    f"configured under {alias!r} (configured: {', '.join(registry)})"
                )
            if version is not None:
                registry.get(alias, version)  # builds it, or names the versions there are
        registry.build_defaults()
        setattr(self._app.state, STATE_KEY, registry)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        registry = getattr(self._app.state, STATE_KEY, None)
        if registry is not None:
            delattr(self._app.state, STATE_KEY)
            await registry.aclose()


def get_clients(app: Any) -> AsyncClientRegistry:
    """The app's registry (``request.app``), or a RuntimeError saying how to set it up."""
    registry = getattr(app.state, STATE_KEY, None)
    if not isinstance(registry, AsyncClientRegistry):
        raise RuntimeError(
            "no Thrift clients on this app: did you forget "
            "FastAPI(lifespan=thrift_lifespan(config)) (or Starlette(lifespan=...)), or is the "
            "app not started (use the lifespan in tests too)?"
        )
    return registry


def thrift_client(
    alias: str, version: str | None = None
) -> Callable[[HTTPConnection], Coroutine[Any, Any, AsyncClient]]:
    """A FastAPI dependency giving the app's client of `alias` (and `version`).

    ``customers: AsyncClient = Depends(thrift_client("customers"))``; for the service's typed
    view, annotate with its stub's ``TypedAsyncClient`` under ``TYPE_CHECKING`` (README).
    """
    if not isinstance(alias, str) or not alias:
        raise ConfigError(f"invalid Thrift client alias {alias!r} (expected a non-empty str)")

    async def dependency(request: HTTPConnection) -> AsyncClient:
        return get_clients(request.app).get(alias, version)

    dependency.__name__ = dependency.__qualname__ = f"thrift_client_{alias}"
    setattr(dependency, _MARK, (alias, version))
    return dependency


def _dependencies_of(app: Any) -> Iterator[tuple[str, str | None]]:
    """(alias, version) of every `thrift_client` dependency of the app's FastAPI routes."""
    routes = list(getattr(app, "routes", ()))
    while routes:
        route = routes.pop()
        routes.extend(getattr(route, "routes", ()))  # a mounted app's routes too
        dependants = [getattr(route, "dependant", None)]
        while dependants:
            dependant = dependants.pop()
            if dependant is None:
                continue
            mark = getattr(getattr(dependant, "call", None), _MARK, None)
            if mark is not None:
                yield mark
            dependants.extend(getattr(dependant, "dependencies", ()))
