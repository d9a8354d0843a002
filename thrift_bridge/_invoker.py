"""`Invoker`: call any service of a multiplexed endpoint by name, with plain data in and out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._client import Client
from ._exceptions import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["Invoker"]


class Invoker:
    """Services of one multiplexed endpoint, called as ``"Service.method"`` with dicts.

    ::

        invoker = Invoker("tcp://127.0.0.1:9090", services={"Calculator": Calculator})
        invoker.invoke("Calculator.add", {"num1": 1, "num2": 2})   # -> 3
    """

    def __init__(self, url: Any, services: Mapping[str, Any], **options: Any):
        if not services:
            raise ConfigError("Invoker needs at least one service (name -> generated module)")
        self._clients: dict[str, Client] = {}
        try:
            for name, service in services.items():
                self._clients[name] = Client(service, url, service_name=name, **options)
        except BaseException:
            self.close()
            raise

    def __getitem__(self, name: str) -> Client:
        client = self._clients.get(name)
        if client is None:
            raise ConfigError(
                f"no service {name!r} on this invoker (services: {', '.join(sorted(self))})"
            )
        return client

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._clients))

    def invoke(self, target: str, args: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """Call ``"Service.method"`` with plain arguments; returns plain data."""
        service, dot, method = target.partition(".")
        if not dot or not method:
            raise ConfigError(f"invalid target {target!r} (expected 'Service.method')")
        return self[service].invoke(method, args, **kwargs)

    def close(self) -> None:
        """Close every service's connections."""
        for client in self._clients.values():
            client.close()

    def __enter__(self) -> Invoker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
