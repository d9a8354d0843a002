"""`clients` and `aclients`: settings.THRIFT_BRIDGE aliases to pooled clients, like `caches`.

`clients` gives `Client`s for sync code, `aclients` `AsyncClient`s for ``async def`` views,
both from the same settings; each is built on first use, once per process.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.conf import settings
from django.core.signals import setting_changed

from ..._base import ClientBase
from ..._exceptions import ConfigError
from ..registry import AsyncClientRegistry, ClientRegistry, _Registry

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..._async._client import AsyncClient
    from ..._client import Client

__all__ = ["SETTING", "ClientHandler", "aclients", "clients"]

#: The settings name holding the client configuration.
SETTING = "THRIFT_BRIDGE"


C = TypeVar("C", bound=ClientBase)


class ClientHandler(Generic[C]):
    """Clients by alias from ``settings.THRIFT_BRIDGE``: one per alias per process.

    `registry_class` decides their kind: `ClientRegistry` (`Client`, the default) or
    `AsyncClientRegistry` (`AsyncClient`, whose pools are also per event loop).
    """

    def __init__(self, registry_class: type[_Registry[Any]] = ClientRegistry) -> None:
        self._lock = threading.Lock()
        self._registry_class = registry_class
        self._registry: _Registry[C] | None = None

    def _get_registry(self) -> _Registry[C]:
        """The registry for the current settings, built on first use."""
        registry = self._registry
        if registry is None:
            with self._lock:
                registry = self._registry
                if registry is None:
                    config = getattr(settings, SETTING, {})
                    try:
                        registry = self._registry = self._registry_class(config)
                    except ConfigError as exc:
                        raise ConfigError(f"settings.{SETTING}: {exc.message}") from None
        return registry

    def __getitem__(self, alias: str) -> C:
        return self._get_registry()[alias]

    def get(self, alias: str, version: str | None = None) -> C:
        """The client of `alias` (optionally of one version)."""
        return self._get_registry().get(alias, version)

    def __contains__(self, alias: object) -> bool:
        return alias in self._get_registry()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get_registry())

    def all(self) -> list[C]:
        """The clients built so far in this process."""
        return list(self._get_registry().built().values())

    def reset(self) -> None:
        """Close every client and read the settings again on next use."""
        with self._lock:
            registry, self._registry = self._registry, None
        if registry is not None:
            registry.close()

    def close_all(self) -> None:
        """Close every client built so far; the same settings build new ones on next use."""
        if self._registry is not None:
            self._registry.close()


#: The process-wide handler, like ``django.core.cache.caches``.
clients: ClientHandler[Client] = ClientHandler()
#: Its twin for ``async def`` views: ``await aclients["billing"].charge(42)``.
aclients: ClientHandler[AsyncClient] = ClientHandler(AsyncClientRegistry)


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """Rebuild clients when tests change THRIFT_BRIDGE (override_settings)."""
    if setting == SETTING:
        clients.reset()
        aclients.reset()


setting_changed.connect(_on_setting_changed)
