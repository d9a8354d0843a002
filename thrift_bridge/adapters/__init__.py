"""Framework adapters: they configure and own clients, never re-implement pooling."""

from __future__ import annotations

from .._settings import CLIENT_OPTIONS
from .registry import ClientRegistry, resolve_service

__all__ = ["CLIENT_OPTIONS", "ClientRegistry", "resolve_service"]
