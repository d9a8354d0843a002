"""`clients`: settings.THRIFT_BRIDGE aliases to pooled clients, built lazily, like `caches`."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed

from ..._exceptions import ConfigError
from ..registry import ClientRegistry

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..._client import Client

__all__ = ["SETTING", "ClientHandler", "clients"]

#: The settings name holding the client configuration.
SETTING = "THRIFT_BRIDGE"


class ClientHandler:
    """Clients by alias from ``settings.THRIFT_BRIDGE``: one pool per alias per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registry: ClientRegistry | None = None

    def _get_registry(self) -> ClientRegistry:
        """The registry for the current settings, built on first use."""
        registry = self._registry
        if registry is None:
            with self._lock:
                registry = self._registry
                if registry is None:
                    config = getattr(settings, SETTING, {})
                    try:
                        registry = self._registry = ClientRegistry(config)
                    except ConfigError as exc:
                        raise ConfigError(f"settings.{SETTING}: {exc.message}") from None
        return registry

    def __getitem__(self, alias: str) -> Client:
        return self._get_registry()[alias]

    def get(self, alias: str, version: str | None = None) -> Client:
        """The client of `alias` (optionally of one version)."""
        return self._get_registry().get(alias, version)

    def __contains__(self, alias: object) -> bool:
        return alias in self._get_registry()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get_registry())

    def all(self) -> list[Client]:
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
clients = ClientHandler()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    """Rebuild clients when tests change THRIFT_BRIDGE (override_settings)."""
    if setting == SETTING:
        clients.reset()


setting_changed.connect(_on_setting_changed)
