"""thrift-bridge: one URL names a Thrift endpoint; a pooled, thread-safe client calls it."""

from __future__ import annotations

from ._version import __version__

# typing.TYPE_CHECKING would load typing (~2 ms); type checkers treat any TYPE_CHECKING as True.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._idl import IDLError, load
    from .client import Client
    from .convert import from_dict, to_dict
    from .endpoint import Endpoint, parse_url, parse_urls
    from .exceptions import (
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
    )
    from .invoker import Invoker
    from .pool import ConnectionPool

__all__ = [
    "ArgumentError",
    "Client",
    "ConfigError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionPool",
    "Endpoint",
    "HTTPError",
    "IDLError",
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
    "__version__",
    "from_dict",
    "load",
    "parse_url",
    "parse_urls",
    "to_dict",
]

# The submodule defining each public name; it is imported on first access (PEP 562), so
# `import thrift_bridge` stays cheap and a tcp client never loads HTTP, TLS or IDL conversion.
_SUBMODULES = {
    "ArgumentError": "exceptions",
    "Client": "client",
    "ConfigError": "exceptions",
    "ConnectError": "exceptions",
    "ConnectTimeout": "exceptions",
    "ConnectionPool": "pool",
    "Endpoint": "endpoint",
    "HTTPError": "exceptions",
    "IDLError": "_idl",
    "Invoker": "invoker",
    "PoolClosed": "exceptions",
    "PoolError": "exceptions",
    "PoolTimeout": "exceptions",
    "ProtocolError": "exceptions",
    "RateLimited": "exceptions",
    "ReadTimeout": "exceptions",
    "ThriftBridgeError": "exceptions",
    "Timeout": "exceptions",
    "TransportError": "exceptions",
    "from_dict": "convert",
    "load": "_idl",
    "parse_url": "endpoint",
    "parse_urls": "endpoint",
    "to_dict": "convert",
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
