"""thrift-bridge: one URL names a Thrift endpoint; a pooled, thread-safe client calls it."""

from __future__ import annotations

from ._version import __version__

# typing.TYPE_CHECKING would load typing (~2 ms); type checkers treat any TYPE_CHECKING as True.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._client import Client
    from ._convert import from_dict, to_dict
    from ._endpoint import Endpoint, parse_url, parse_urls
    from ._exceptions import (
        ArgumentError,
        ConfigError,
        ConnectError,
        ConnectTimeout,
        HTTPError,
        PoolClosed,
        PoolError,
        PoolTimeout,
        ProtocolError,
        RateLimited,
        ReadTimeout,
        ThriftBridgeError,
        Timeout,
        TransportError,
        WriteTimeout,
    )
    from ._invoker import Invoker
    from ._pool import ConnectionPool

__all__ = [
    "ArgumentError",
    "Client",
    "ConfigError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionPool",
    "Endpoint",
    "HTTPError",
    "Invoker",
    "PoolClosed",
    "PoolError",
    "PoolTimeout",
    "ProtocolError",
    "RateLimited",
    "ReadTimeout",
    "ThriftBridgeError",
    "Timeout",
    "TransportError",
    "WriteTimeout",
    "__version__",
    "from_dict",
    "parse_url",
    "parse_urls",
    "to_dict",
]

# The submodule defining each public name; it is imported on first access (PEP 562), so
# `import thrift_bridge` stays cheap and a tcp client never loads HTTP, TLS or IDL conversion.
_SUBMODULES = {
    "ArgumentError": "_exceptions",
    "Client": "_client",
    "ConfigError": "_exceptions",
    "ConnectError": "_exceptions",
    "ConnectTimeout": "_exceptions",
    "ConnectionPool": "_pool",
    "Endpoint": "_endpoint",
    "HTTPError": "_exceptions",
    "Invoker": "_invoker",
    "PoolClosed": "_exceptions",
    "PoolError": "_exceptions",
    "PoolTimeout": "_exceptions",
    "ProtocolError": "_exceptions",
    "RateLimited": "_exceptions",
    "ReadTimeout": "_exceptions",
    "ThriftBridgeError": "_exceptions",
    "Timeout": "_exceptions",
    "TransportError": "_exceptions",
    "WriteTimeout": "_exceptions",
    "from_dict": "_convert",
    "parse_url": "_endpoint",
    "parse_urls": "_endpoint",
    "to_dict": "_convert",
}


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
