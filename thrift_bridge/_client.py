"""`Client`: call a generated Thrift service through pooled connections, safely from any thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import ClientBase
from ._calls import Caller

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ._pinned import PinnedClient

__all__ = ["Client"]


class Client(ClientBase):
    """A thread-safe proxy for a generated Thrift service, calling through connection pools.

    ::

        from thrift_bridge import Client
        from thrift_bridge.generated.demo import CustomerService

        with Client(CustomerService, "tcp://127.0.0.1:9090", timeout=2) as customers:
            print(customers.get_customer(1).name)
    """

    def _setup(self) -> None:
        self._caller = Caller(
            self.client_class,
            self.endpoints,
            self.settings,
            self._declared,
            self.service_name,
            scope=self._scope,
        )

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
        pool = caller.pools[caller.pick()]
        return PinnedClient(caller, pool, pool.acquire())

    def stats(self) -> dict[str, int]:
        """Pool counters summed over endpoints, plus `retries` made by this client."""
        return self._caller.stats()

    def close(self) -> None:
        """Close every idle connection; later calls raise `PoolClosed`."""
        self._caller.close_pools()

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return all(pool.closed for pool in self._caller.pools)
