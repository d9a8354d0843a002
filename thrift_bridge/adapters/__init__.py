"""Framework adapters: they configure and own clients, never re-implement pooling."""

from __future__ import annotations

from .._settings import CLIENT_OPTIONS
from .registry import AsyncClientRegistry, ClientRegistry, RegistryConfig, resolve_service

__all__ = [
    "CLIENT_OPTIONS",
    "AsyncClientRegistry",
    "ClientRegistry",
    "RegistryConfig",
    "resolve_service",
]
