"""Django adapter: Thrift clients configured like DATABASES and CACHES.

Add ``"thrift_bridge.adapters.django"`` to ``INSTALLED_APPS``, describe clients in
``settings.THRIFT_BRIDGE``, then::

    from . import clients
    clients["billing"].charge(42)

or, with ``ThriftClientMiddleware``, ``request.thrift.billing.charge(42)`` in a view. In
``async def`` views, ``await aclients["billing"].charge(42)`` (or
``await request.thrift.billing.charge(42)``) uses `AsyncClient`s of the same settings.
Importing this package reads no settings; clients are built on first use.
"""

from __future__ import annotations

from .handler import ClientHandler, aclients, clients
from .middleware import ThriftClientMiddleware

__all__ = ["ClientHandler", "ThriftClientMiddleware", "aclients", "clients"]
