"""What generated ``.pyi`` stubs build on: the client protocols and typed shapes of Apache bases.

Stubs that ``thrift-bridge stubs`` and ``thrift-bridge compile`` write declare, per service,
``TypedClient``, ``TypedPinnedClient``, ``TypedAsyncClient`` and ``TypedAsyncPinnedClient``:
the client-level API below plus the service's methods with the IDL's signatures. They exist for
type checkers only (``@type_check_only``): at run time ``Client(CustomerService, url)`` is a
plain `Client`. ``Client``'s constructor returns the typed view when given a service module
whose stub has one (pyright through overloads; mypy through the plugin in `thrift_bridge.mypy`).

::

    from thrift_bridge import Client
    from thrift_bridge.generated.demo import CustomerService

    customers = Client(CustomerService, "tcp://127.0.0.1:9090")
    customers.get_customer(1).name      # type checkers know: (id: int) -> Customer

Apache's ``thrift`` package ships no type information, so the Apache classes that generated
classes derive from are declared here with the members stubs rely on; at run time these names
are Apache's own classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._endpoint import Endpoint
    from ._headers import HeaderScope
    from ._settings import ClientSettings

__all__ = [
    "AsyncClientAPI",
    "AsyncPinnedClientAPI",
    "AsyncServiceModule",
    "ClientAPI",
    "PinnedClientAPI",
    "ServiceModule",
    "TException",
    "TProcessor",
]

_Self = TypeVar("_Self")
_Client_co = TypeVar("_Client_co", covariant=True)

if TYPE_CHECKING:

    class TException(Exception):
        """Apache's base of every IDL exception (``thrift.Thrift.TException``)."""

        def __init__(self, message: Any = None) -> None: ...

    class TProcessor:
        """Apache's base of generated processors (``thrift.Thrift.TProcessor``)."""

        def process(self, iprot: Any, oprot: Any) -> Any: ...

else:
    from thrift.Thrift import TException, TProcessor


class _ClientFacts(Protocol):
    """What a client says about itself, the same in both I/O worlds."""

    @property
    def client_class(self) -> type[Any]: ...
    @property
    def settings(self) -> ClientSettings: ...
    @property
    def endpoints(self) -> list[Endpoint]: ...
    @property
    def service_name(self) -> str: ...
    @property
    def methods(self) -> list[str]: ...
    @property
    def closed(self) -> bool: ...
    def stats(self) -> dict[str, int]: ...
    def fleet_stats(self) -> dict[str, Any]: ...
    def call_headers(self, headers: Mapping[str, str]) -> HeaderScope: ...


class ClientAPI(_ClientFacts, Protocol):
    """What every typed `Client` view has besides the service's methods."""

    def __enter__(self: _Self) -> _Self: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def call(self, name: str, *args: Any, **kwargs: Any) -> Any: ...
    def invoke(
        self, method: str, args: Mapping[str, Any] | None = None, *, headers: Any = None
    ) -> Any: ...
    def connection(self) -> PinnedClientAPI: ...
    def close(self) -> None: ...


class PinnedClientAPI(Protocol):
    """What every typed `PinnedClient` view has besides the service's methods."""

    @property
    def broken(self) -> bool: ...
    def __enter__(self: _Self) -> _Self: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def call(self, name: str, *args: Any, **kwargs: Any) -> Any: ...
    def release(self) -> None: ...


class AsyncClientAPI(_ClientFacts, Protocol):
    """What every typed `AsyncClient` view has besides the service's (async) methods."""

    async def __aenter__(self: _Self) -> _Self: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any: ...
    async def invoke(
        self, method: str, args: Mapping[str, Any] | None = None, *, headers: Any = None
    ) -> Any: ...
    def connection(self) -> AsyncPinnedClientAPI: ...
    async def aclose(self) -> None: ...
    def close(self) -> None: ...


class AsyncPinnedClientAPI(Protocol):
    """What every typed async pinned view has besides the service's (async) methods."""

    @property
    def broken(self) -> bool: ...
    async def __aenter__(self: _Self) -> _Self: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any: ...
    def release(self) -> None: ...


class ServiceModule(Protocol[_Client_co]):
    """A generated service module whose stub declares ``TypedClient`` (a module matches this)."""

    @property
    def TypedClient(self) -> type[_Client_co]: ...  # noqa: N802  # the stub's class name


class AsyncServiceModule(Protocol[_Client_co]):
    """A generated service module whose stub declares ``TypedAsyncClient``."""

    @property
    def TypedAsyncClient(self) -> type[_Client_co]: ...  # noqa: N802  # the stub's class name
