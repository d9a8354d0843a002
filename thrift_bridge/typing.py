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

        def process(self, iprot: Any, oprot: Any) -> Any:
            """Read one request from `iprot`, call the handler, write its reply to `oprot`."""

else:
    from thrift.Thrift import TException, TProcessor


class _ClientFacts(Protocol):
    """What a client says about itself, the same in both I/O worlds."""

    @property
    def client_class(self) -> type[Any]:
        """The generated `Client` class the calls go through."""

    @property
    def settings(self) -> ClientSettings:
        """The validated client options."""

    @property
    def endpoints(self) -> list[Endpoint]:
        """The endpoints, in the order given."""

    @property
    def service_name(self) -> str:
        """The Thrift service's name."""

    @property
    def methods(self) -> list[str]:
        """The service's method names."""

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""

    def stats(self) -> dict[str, int]:
        """Pool counters summed over endpoints, plus `retries` made by this client."""

    def fleet_stats(self) -> dict[str, Any]:
        """Each endpoint's state (calls out, latency, ejection), the retry budget and DNS."""

    def call_headers(self, headers: Mapping[str, str]) -> HeaderScope:
        """A `with` block whose calls send `headers` (THeader and HTTP)."""


class ClientAPI(_ClientFacts, Protocol):
    """What every typed `Client` view has besides the service's methods."""

    def __enter__(self: _Self) -> _Self: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the method `name` with these arguments; its result."""

    def invoke(
        self, method: str, args: Mapping[str, Any] | None = None, *, headers: Any = None
    ) -> Any:
        """Call `method` with plain (JSON-like) arguments; the result comes back as plain data."""

    def connection(self) -> PinnedClientAPI:
        """One pooled connection pinned for several calls."""

    def close(self) -> None:
        """Close every idle connection; later calls raise `PoolClosed`."""


class PinnedClientAPI(Protocol):
    """What every typed `PinnedClient` view has besides the service's methods."""

    @property
    def broken(self) -> bool:
        """Whether a call left the connection out of step (it is closed on release)."""

    def __enter__(self: _Self) -> _Self: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the method `name` with these arguments; its result."""

    def release(self) -> None:
        """Give the connection back to its pool (closed if a call on it failed)."""


class AsyncClientAPI(_ClientFacts, Protocol):
    """What every typed `AsyncClient` view has besides the service's (async) methods."""

    async def __aenter__(self: _Self) -> _Self: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the method `name` with these arguments; its result."""

    async def invoke(
        self, method: str, args: Mapping[str, Any] | None = None, *, headers: Any = None
    ) -> Any:
        """Call `method` with plain (JSON-like) arguments; the result comes back as plain data."""

    def connection(self) -> AsyncPinnedClientAPI:
        """One pooled connection pinned for several calls."""

    async def aclose(self) -> None:
        """Close every connection (busy ones once their calls end); later calls raise
        `PoolClosed`."""

    def close(self) -> None:
        """`aclose()` for sync code and other threads: each loop's pools close on that loop."""


class AsyncPinnedClientAPI(Protocol):
    """What every typed async pinned view has besides the service's (async) methods."""

    @property
    def broken(self) -> bool:
        """Whether a call left the connection out of step (it is closed on release)."""

    async def __aenter__(self: _Self) -> _Self: ...
    async def __aexit__(self, *exc_info: object) -> None: ...
    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the method `name` with these arguments; its result."""

    def release(self) -> None:
        """Give the connection back to its pool (closed if a call on it failed)."""


class ServiceModule(Protocol[_Client_co]):
    """A generated service module whose stub declares ``TypedClient`` (a module matches this)."""

    @property
    def TypedClient(self) -> type[_Client_co]:  # noqa: N802  # the stub's class name
        """The typed view of the service's sync client."""


class AsyncServiceModule(Protocol[_Client_co]):
    """A generated service module whose stub declares ``TypedAsyncClient``."""

    @property
    def TypedAsyncClient(self) -> type[_Client_co]:  # noqa: N802  # the stub's class name
        """The typed view of the service's async client."""
