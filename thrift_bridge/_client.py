"""`Client`: call a generated Thrift service through pooled connections, safely from any thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._base import ClientBase
from ._calls import Caller

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from ._endpoint import Endpoint
    from ._middleware import Middleware
    from ._pinned import PinnedClient
    from ._settings import DEFAULT_MAX_IDLE
    from .typing import ClientAPI, PinnedClientAPI, ServiceModule

__all__ = ["Client"]

_View = TypeVar("_View")


class Client(ClientBase):
    """A thread-safe proxy for a generated Thrift service, calling through connection pools.

    ::

        from thrift_bridge import Client
        from thrift_bridge.generated.demo import CustomerService

        with Client(CustomerService, "tcp://127.0.0.1:9090", timeout=2) as customers:
            print(customers.get_customer(1).name)

    Given a service module with a generated stub, type checkers see the stub's ``TypedClient``
    (the IDL's signatures plus this class's own methods); see `thrift_bridge.typing`.
    """

    if TYPE_CHECKING:
        # For type checkers only (nothing here runs): pyright takes the constructed type from
        # these overloads. mypy rejects a type variable as __new__'s result and prefers
        # __init__, so its plugin (thrift_bridge.mypy) does the same; the parameters repeat
        # ClientBase.__init__'s (tests/test_typed_clients.py keeps them equal).
        @overload
        def __new__(  # type: ignore[misc]
            cls,
            service: ServiceModule[_View],
            url: str | Endpoint | Sequence[str | Endpoint] | None = None,
            *,
            pool_size: int = 8,
            pool_timeout: float = 5.0,
            retries: int = 2,
            retry_backoff: float = 0.05,
            idempotent: Iterable[str] = (),
            max_idle: float | None = DEFAULT_MAX_IDLE,
            max_lifetime: float | None = None,
            cooldown: float = 5.0,
            service_name: str | None = None,
            middleware: Sequence[Middleware] = (),
            rate_limit: str | None = None,
            rate_limit_burst: int | None = None,
            rate_limit_timeout: float = 1.0,
            telemetry: bool = True,
            **options: Any,
        ) -> _View: ...
        @overload
        def __new__(
            cls,
            service: Any,
            url: str | Endpoint | Sequence[str | Endpoint] | None = None,
            *,
            pool_size: int = 8,
            pool_timeout: float = 5.0,
            retries: int = 2,
            retry_backoff: float = 0.05,
            idempotent: Iterable[str] = (),
            max_idle: float | None = DEFAULT_MAX_IDLE,
            max_lifetime: float | None = None,
            cooldown: float = 5.0,
            service_name: str | None = None,
            middleware: Sequence[Middleware] = (),
            rate_limit: str | None = None,
            rate_limit_burst: int | None = None,
            rate_limit_timeout: float = 1.0,
            telemetry: bool = True,
            **options: Any,
        ) -> Client: ...
        def __new__(cls, *args: Any, **kwargs: Any) -> Any: ...

    def _setup(self) -> None:
        self._caller = self._caller_of(Caller)()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _bind(self, name: str) -> Callable[..., Any]:
        """A function calling `name`: straight into the pools, or through the middleware."""
        caller = self._caller
        if caller.plain:
            run = caller.run

            def method(*args: Any, **kwargs: Any) -> Any:
                return run(name, args, kwargs)

        else:
            enter, chained = caller.enter, caller.through_middleware

            def method(*args: Any, **kwargs: Any) -> Any:
                return enter(name, args, kwargs, chained)

        method.__name__ = method.__qualname__ = name
        method.__doc__ = getattr(self.client_class, name).__doc__
        return method

    def invoke(
        self, method: str, args: Mapping[str, Any] | None = None, *, headers: Any = None
    ) -> Any:
        """Call `method` with plain (JSON-like) arguments; the result comes back as plain data.

        Arguments are checked against the IDL (`ArgumentError` names the field path); declared
        exceptions are raised as their generated classes (`to_dict` turns them into data).
        """
        bound = self._method(method)
        from ._convert import convert_args, convert_result

        kwargs = convert_args(self.client_class, method, args)
        if headers:
            with self.call_headers(headers):
                result = bound(**kwargs)
        else:
            result = bound(**kwargs)
        return convert_result(self.client_class, method, result)

    def connection(self) -> PinnedClient:
        """Pin one pooled connection for several calls: ``with client.connection() as c:``."""
        from ._pinned import PinnedClient

        caller = self._caller
        if caller.discoveries:
            caller.refresh()
        pool = caller.pinned_pool()
        return PinnedClient(caller, pool, pool.acquire())

    def stats(self) -> dict[str, int]:
        """Pool counters summed over endpoints, plus `retries` made by this client."""
        return self._caller.stats()

    def fleet_stats(self) -> dict[str, Any]:
        """Each endpoint's state (calls out, latency, ejection), the retry budget and DNS."""
        return self._caller.fleet_stats()

    def close(self) -> None:
        """Close every idle connection; later calls raise `PoolClosed`."""
        self._caller.close_pools()

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return all(pool.closed for pool in self._caller.pools)


if TYPE_CHECKING:
    # Typed views promise ClientAPI and PinnedClientAPI: mypy checks here that both classes
    # keep those promises.
    def _client_api(client: Client) -> ClientAPI:
        return client

    def _pinned_api(pinned: PinnedClient) -> PinnedClientAPI:
        return pinned
