"""What `Client` and `AsyncClient` share: their options, endpoints, methods and headers.

Everything here is decided at construction, with no I/O: the service's methods, the validated
settings and endpoints; the subclasses add their pools and how a method is called.
"""

from __future__ import annotations

import contextvars
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from ._endpoint import Endpoint
from ._exceptions import ConfigError
from ._headers import HeaderScope, all_theader, check_headers
from ._service import client_class_of, no_such_method, service_methods
from ._settings import DEFAULT_MAX_IDLE, ClientSettings, check_idempotent, split_options
from ._urls import DEFAULT_URL, parse_urls

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from ._middleware import Middleware

__all__ = ["ClientBase"]

_C = TypeVar("_C")


class ClientBase:
    """A generated service's methods, called through pooled connections (sync or async)."""

    def __init__(
        self,
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
    ):
        #: The generated `Client` class calls are made through.
        self.client_class = client_class_of(service)
        # Client options without a keyword of their own here (the fleet policies: balancer,
        # retry_budget, ejection) arrive in **options and are validated with the rest.
        client_options, endpoint_options = split_options(options)
        #: The client's settings (pool, retries, middleware), validated.
        self.settings = ClientSettings.from_options(
            {
                "pool_size": pool_size,
                "pool_timeout": pool_timeout,
                "retries": retries,
                "retry_backoff": retry_backoff,
                "idempotent": idempotent,
                "max_idle": max_idle,
                "max_lifetime": max_lifetime,
                "cooldown": cooldown,
                "service_name": service_name,
                "middleware": middleware,
                "rate_limit": rate_limit,
                "rate_limit_burst": rate_limit_burst,
                "rate_limit_timeout": rate_limit_timeout,
                "telemetry": telemetry,
                **client_options,
            }
        )
        declared = service_methods(self.client_class)
        check_idempotent(self.settings.retry, declared, self.client_class.__module__)
        if url is None or isinstance(url, Endpoint):
            url = [url or DEFAULT_URL]
        #: The endpoints calls go to (round robin), parsed and validated.
        self.endpoints = parse_urls(url, **endpoint_options)
        if any(endpoint.discovery is not None for endpoint in self.endpoints):
            from ._resolver import ensure_available

            ensure_available()  # a missing dns extra is named now, not at the first call
        #: The service's name: the multiplexing name if given, else the generated module's.
        self.service_name = service_name or self.client_class.__module__.rpartition(".")[2]
        self._declared = declared
        #: Per-call headers of the current thread or task (`call_headers`).
        self._scope: contextvars.ContextVar[HeaderScope | None] = contextvars.ContextVar(
            "thrift_bridge_call_headers", default=None
        )
        self._setup()
        #: Every method's bound function, also those whose name the client itself uses.
        self._bound = {name: self._bind(name) for name in declared}
        for name, function in self._bound.items():
            if not hasattr(type(self), name):
                setattr(self, name, function)

    def _setup(self) -> None:
        """Make the pools (the subclass's kind)."""
        raise NotImplementedError

    def _caller_of(self, kind: Callable[..., _C]) -> Callable[[], _C]:
        """A maker of this client's `Caller` or `AsyncCaller` (`kind`) that keeps the client's
        parts, not the client (an async client's methods keep it: no cycle through them)."""
        return partial(
            kind,
            self.client_class,
            self.endpoints,
            self.settings,
            self._declared,
            self.service_name,
            scope=self._scope,
        )

    def _bind(self, name: str) -> Callable[..., Any]:
        """A function calling method `name` (the subclass's kind)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        urls = ", ".join(ep.redacted_url for ep in self.endpoints)
        return f"<{type(self).__name__} {self.client_class.__module__} [{urls}]>"

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not service methods (those are instance attributes).
        declared = self.__dict__.get("_declared")
        if name.startswith("_") or declared is None:
            raise AttributeError(name)
        raise AttributeError(no_such_method(name, self.client_class.__module__, declared))

    @property
    def methods(self) -> list[str]:
        """The service's method names."""
        return sorted(self._declared)

    def _method(self, name: str) -> Callable[..., Any]:
        """The bound function of method `name`, or `ConfigError` listing the methods."""
        bound = self._bound.get(name)
        if bound is None:
            raise ConfigError(no_such_method(name, self.client_class.__module__, self._declared))
        return bound

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call service method `name` (also for methods whose name the client itself uses)."""
        return self._method(name)(*args, **kwargs)

    def call_headers(self, headers: Mapping[str, str]) -> HeaderScope:
        """Send `headers` with every call in a ``with`` block; `.reply` gets the reply's headers.

        The block belongs to its thread or task, so a shared client never mixes headers up.
        """
        if not all_theader(self.endpoints):
            raise ConfigError(
                "per-call headers need a THeader endpoint (transport=header or protocol=header); "
                f"{self!r} has none"
            )
        return HeaderScope(self._scope, check_headers(headers))
