"""thrift-bridge: one URL names a Thrift endpoint; a pooled, thread-safe client calls it."""

from __future__ import annotations

from ._version import __version__ as __version__

# typing.TYPE_CHECKING would load typing (~2 ms); type checkers treat any TYPE_CHECKING as True.
# "import X as X" re-exports each name for type checkers (mypy --strict, pyright).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._async._client import AsyncClient as AsyncClient
    from ._async._client import AsyncPinnedClient as AsyncPinnedClient
    from ._async._pool import AsyncConnectionPool as AsyncConnectionPool
    from ._client import Client as Client
    from ._convert import from_dict as from_dict
    from ._convert import to_dict as to_dict
    from ._deadline import DeadlineProcessor as DeadlineProcessor
    from ._deadline import budget_from_headers as budget_from_headers
    from ._deadline import deadline as deadline
    from ._endpoint import Endpoint as Endpoint
    from ._exceptions import ArgumentError as ArgumentError
    from ._exceptions import ConfigError as ConfigError
    from ._exceptions import ConnectError as ConnectError
    from ._exceptions import ConnectTimeout as ConnectTimeout
    from ._exceptions import DeadlineExceeded as DeadlineExceeded
    from ._exceptions import HTTPError as HTTPError
    from ._exceptions import PoolClosed as PoolClosed
    from ._exceptions import PoolError as PoolError
    from ._exceptions import PoolTimeout as PoolTimeout
    from ._exceptions import ProtocolError as ProtocolError
    from ._exceptions import RateLimited as RateLimited
    from ._exceptions import ReadTimeout as ReadTimeout
    from ._exceptions import ThriftBridgeError as ThriftBridgeError
    from ._exceptions import Timeout as Timeout
    from ._exceptions import TransportError as TransportError
    from ._exceptions import WriteTimeout as WriteTimeout
    from ._headers import HeaderScope as HeaderScope
    from ._idl import IDLError as IDLError
    from ._idl import load as load
    from ._invoker import Invoker as Invoker
    from ._middleware import AccessLog as AccessLog
    from ._middleware import Call as Call
    from ._middleware import Metrics as Metrics
    from ._middleware import Middleware as Middleware
    from ._pinned import PinnedClient as PinnedClient
    from ._pool import ConnectionPool as ConnectionPool
    from ._settings import ClientSettings as ClientSettings
    from ._settings import RetryPolicy as RetryPolicy
    from ._urls import parse_url as parse_url
    from ._urls import parse_urls as parse_urls

# The one list of public names, each with the submodule defining it; a name is imported on
# first access (PEP 562), so `import thrift_bridge` stays cheap and a tcp client never loads
# HTTP, TLS, IDL parsing or conversion.
_SUBMODULES = {
    "AsyncClient": "_async._client",
    "AsyncConnectionPool": "_async._pool",
    "AsyncPinnedClient": "_async._client",
    "AccessLog": "_middleware",
    "ArgumentError": "_exceptions",
    "Call": "_middleware",
    "Client": "_client",
    "ClientSettings": "_settings",
    "ConfigError": "_exceptions",
    "ConnectError": "_exceptions",
    "ConnectTimeout": "_exceptions",
    "ConnectionPool": "_pool",
    "DeadlineExceeded": "_exceptions",
    "DeadlineProcessor": "_deadline",
    "Endpoint": "_endpoint",
    "HTTPError": "_exceptions",
    "HeaderScope": "_headers",
    "IDLError": "_idl",
    "Invoker": "_invoker",
    "Metrics": "_middleware",
    "Middleware": "_middleware",
    "PinnedClient": "_pinned",
    "PoolClosed": "_exceptions",
    "PoolError": "_exceptions",
    "PoolTimeout": "_exceptions",
    "ProtocolError": "_exceptions",
    "RateLimited": "_exceptions",
    "ReadTimeout": "_exceptions",
    "RetryPolicy": "_settings",
    "ThriftBridgeError": "_exceptions",
    "Timeout": "_exceptions",
    "TransportError": "_exceptions",
    "WriteTimeout": "_exceptions",
    "budget_from_headers": "_deadline",
    "deadline": "_deadline",
    "from_dict": "_convert",
    "load": "_idl",
    "parse_url": "_urls",
    "parse_urls": "_urls",
    "to_dict": "_convert",
}

__all__ = sorted([*_SUBMODULES, "__version__"])


def __getattr__(name: str) -> object:
    """A public name, imported from its submodule on first access."""
    submodule = _SUBMODULES.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__ rather than importlib.import_module: -X importtime then reports the submodule.
    value = getattr(__import__(f"{__name__}.{submodule}", fromlist=[name]), name)
    globals()[name] = value  # later lookups find it without calling __getattr__
    return value


def __dir__() -> list[str]:
    """The module's attributes, including public names not imported yet."""
    return sorted(set(globals()) | set(__all__))
