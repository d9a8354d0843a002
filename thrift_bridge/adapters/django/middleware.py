"""`ThriftClientMiddleware`: ``request.thrift.<alias>`` in sync and async views.

In a sync view (no event loop running in the thread) ``request.thrift.billing`` is the
alias's `Client`; in an ``async def`` view it is its `AsyncClient`, so the same attribute
works in both kinds of view: ``request.thrift.billing.charge(42)`` or
``await request.thrift.billing.charge(42)``. Connections pinned through it are released when
the response is made, also when the view raised.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from ..._async._client import AsyncClient
from .handler import aclients, clients

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..._async._client import AsyncPinnedClient
    from ..._client import Client
    from ..._pinned import PinnedClient

__all__ = ["RequestClients", "ThriftClientMiddleware"]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any (as Django's ``async_unsafe`` checks)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _Pins:
    """The connections pinned during one request, released with its response."""

    def __init__(self) -> None:
        self.sync: list[PinnedClient] = []
        self.on_loops: list[tuple[asyncio.AbstractEventLoop, AsyncPinnedClient]] = []

    def release(self) -> None:
        """Give every pinned connection back; an async one on its own loop."""
        pins, self.sync = self.sync, []
        for pinned in pins:
            pinned.release()
        here = _running_loop()
        on_loops, self.on_loops = self.on_loops, []
        for loop, apinned in on_loops:
            if loop is here:
                apinned.release()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(apinned.release)
            # else the loop has ended, and its pools closed with it


class _RequestClient:
    """One alias's client for one request: calls pass through; pinned sessions are tracked."""

    def __init__(self, client: Client | AsyncClient, pins: _Pins):
        self._client = client
        self._pins = pins

    def connection(self) -> PinnedClient | AsyncPinnedClient:
        """Pin a connection for several calls; released with the response if not before.

        In an async view: ``async with request.thrift.billing.connection() as pinned:``.
        """
        client = self._client
        if isinstance(client, AsyncClient):
            apinned = client.connection()
            self._pins.on_loops.append((asyncio.get_running_loop(), apinned))
            return apinned
        pinned = client.connection()
        self._pins.sync.append(pinned)
        return pinned

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class RequestClients:
    """``request.thrift``: attribute access by alias (``request.thrift.billing``)."""

    def __init__(self) -> None:
        self._pins = _Pins()
        self._seen: dict[tuple[str, bool], _RequestClient] = {}

    def __getattr__(self, alias: str) -> _RequestClient:
        if alias.startswith("_"):
            raise AttributeError(alias)
        is_async = _running_loop() is not None
        wrapped = self._seen.get((alias, is_async))
        if wrapped is None:
            handler = aclients if is_async else clients  # an ASGI process builds no sync one
            if alias not in handler:
                raise AttributeError(
                    f"no Thrift client {alias!r} in settings.THRIFT_BRIDGE "
                    f"(configured: {', '.join(handler) or 'none'})"
                )
            client = handler[alias]
            wrapped = self._seen[(alias, is_async)] = _RequestClient(client, self._pins)
        return wrapped

    def __getitem__(self, alias: str) -> _RequestClient:
        return self.__getattr__(alias)

    def release(self) -> None:
        """Give back every connection pinned during the request."""
        self._pins.release()


class ThriftClientMiddleware:
    """Attach `request.thrift`; release its pinned connections when the response is made.

    Sync and async capable: under ASGI it runs on the event loop without a thread hop.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]):
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        """Serve one request with `request.thrift`; release what it pinned afterwards."""
        if self._is_async:
            return self._acall(request)
        request.thrift = thrift = RequestClients()
        try:
            return self.get_response(request)
        finally:
            thrift.release()

    async def _acall(self, request: Any) -> Any:
        request.thrift = thrift = RequestClients()
        try:
            return await self.get_response(request)
        finally:
            thrift.release()
