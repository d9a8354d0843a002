"""`ThriftClientMiddleware`: ``request.thrift.<alias>`` in views, pinned connections released."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .handler import clients

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..._client import Client
    from ..._pinned import PinnedClient

__all__ = ["RequestClients", "ThriftClientMiddleware"]


class _RequestClient:
    """One alias's client for one request: calls pass through; pinned sessions are tracked."""

    def __init__(self, client: Client, pins: list[PinnedClient]):
        self._client = client
        self._pins = pins

    def connection(self) -> PinnedClient:
        """Pin a connection for several calls; released with the response if not before."""
        pinned = self._client.connection()
        self._pins.append(pinned)
        return pinned

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class RequestClients:
    """``request.thrift``: attribute access by alias (``request.thrift.billing``)."""

    def __init__(self) -> None:
        self._pins: list[PinnedClient] = []
        self._seen: dict[str, _RequestClient] = {}

    def __getattr__(self, alias: str) -> _RequestClient:
        if alias.startswith("_"):
            raise AttributeError(alias)
        wrapped = self._seen.get(alias)
        if wrapped is None:
            if alias not in clients:
                raise AttributeError(
                    f"no Thrift client {alias!r} in settings.THRIFT_BRIDGE "
                    f"(configured: {', '.join(clients) or 'none'})"
                )
            wrapped = self._seen[alias] = _RequestClient(clients[alias], self._pins)
        return wrapped

    def __getitem__(self, alias: str) -> _RequestClient:
        return self.__getattr__(alias)

    def release(self) -> None:
        """Give back every connection pinned during the request."""
        pins, self._pins[:] = list(self._pins), []
        for pinned in pins:
            pinned.release()


class ThriftClientMiddleware:
    """Attach `request.thrift`; release its pinned connections when the response is made."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[Any], Any]):
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        """Serve one request with `request.thrift`; release what it pinned afterwards."""
        request.thrift = thrift = RequestClients()
        try:
            return self.get_response(request)
        finally:
            thrift.release()
