"""Exceptions raised by thrift-bridge, and the one helper that maps third-party errors to them.

    ThriftBridgeError
    ├── ConfigError (also ValueError)          bad URL, option, or combination
    │   ├── ArgumentError                      a call's plain arguments do not fit the IDL
    │   └── IDLError (in _idl)                 an IDL file load() cannot load, at file:line
    ├── TransportError                         the wire failed; the connection is discarded
    │   ├── ConnectError                       could not open a connection
    │   │   └── ConnectTimeout (also Timeout)
    │   ├── WriteTimeout (also Timeout)        the request not sent within `timeout`
    │   ├── ReadTimeout (also Timeout)         no complete reply within `timeout`
    │   ├── HTTPError                          non-2xx status or wrong content type
    │   └── ProtocolError                      bytes that are not the reply we asked for
    ├── PoolError
    │   ├── PoolTimeout (also Timeout)         no connection free within `pool_timeout`
    │   └── PoolClosed                         the client or pool was closed
    ├── RateLimited (also Timeout)             the client's rate limit held a call too long
    └── DeadlineExceeded (also Timeout)        a `deadline()` block's time ran out

IDL-declared exceptions and ``TApplicationException`` are never wrapped: they propagate
unchanged, because the server answered and the connection is still in step.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
from typing import TYPE_CHECKING, Any

from thrift.protocol.TProtocol import TProtocolException
from thrift.transport.TTransport import TTransportException

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "ArgumentError",
    "ConfigError",
    "ConnectError",
    "ConnectTimeout",
    "DeadlineExceeded",
    "HTTPError",
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
    "map_exceptions",
    "shown",
    "wrap_error",
]


class ThriftBridgeError(Exception):
    """Base class of every exception raised by thrift-bridge itself."""

    def __init__(self, message: str, *, endpoint: str | None = None, method: str | None = None):
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.method = method

    def __str__(self) -> str:
        where = []
        if self.method:
            where.append(f"method {self.method!r}")
        if self.endpoint:
            where.append(f"endpoint {self.endpoint}")
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[ThriftBridgeError], message: str, state: dict[str, Any]) -> Any:
    """Recreate an exception from its pickled message and attributes."""
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.__dict__.update(state)
    return exc


class Timeout(ThriftBridgeError):
    """Base class of every timeout: connect, read, and waiting for a pooled connection."""


class ConfigError(ThriftBridgeError, ValueError):
    """A URL, option or combination of options is not valid."""


class ArgumentError(ConfigError):
    """Plain arguments given to `invoke` do not fit the IDL; the message names the field path."""


class TransportError(ThriftBridgeError):
    """The network or the peer failed during a call; the connection was discarded."""


class ConnectError(TransportError):
    """A connection to the endpoint could not be opened."""


class ConnectTimeout(ConnectError, Timeout):
    """Opening a connection took longer than `connect_timeout`."""


class WriteTimeout(TransportError, Timeout):
    """The peer did not take the whole request within `timeout` (it cannot have run it)."""


class ReadTimeout(TransportError, Timeout):
    """The reply did not arrive within `timeout` (counted from the start of the call)."""


class HTTPError(TransportError):
    """The HTTP server answered with a non-2xx status or a non-Thrift content type."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        body: bytes = b"",
        endpoint: str | None = None,
        method: str | None = None,
    ):
        super().__init__(message, endpoint=endpoint, method=method)
        self.status = status
        self.body = body


class ProtocolError(TransportError):
    """The peer sent bytes that are not a valid reply to our call, or exceed a size limit."""


class PoolError(ThriftBridgeError):
    """Base class of connection pool errors."""


class PoolTimeout(PoolError, Timeout):
    """Every connection of the pool stayed busy for `pool_timeout` seconds."""


class PoolClosed(PoolError):
    """The pool (or the client owning it) was closed."""


class RateLimited(Timeout):
    """The client's `rate_limit` would have delayed the call past `rate_limit_timeout`."""


def shown(value: object) -> str:
    """`repr(value)` for a message about a bad value; an integer too long to print (Python
    refuses over 4300 digits) is described instead, so the message never fails itself."""
    try:
        return repr(value)
    except ValueError:
        if isinstance(value, int):
            return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
        raise


class DeadlineExceeded(Timeout):
    """The deadline of a `deadline()` block passed before the call (and its retries) ended."""


# Errors that a TTransportException type maps to; everything else becomes TransportError.
_TTRANSPORT_TYPES: dict[int, type[TransportError]] = {
    TTransportException.NOT_OPEN: ConnectError,
    TTransportException.TIMED_OUT: ReadTimeout,
    TTransportException.NEGATIVE_SIZE: ProtocolError,
    TTransportException.SIZE_LIMIT: ProtocolError,
    TTransportException.INVALID_CLIENT_TYPE: ProtocolError,
}


def _is_instance(exc: BaseException, module: str, name: str) -> bool:
    """Whether `exc` is a `module.name`; a module nobody imported raised nothing, so none is."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(exc, getattr(loaded, name))


def wrap_error(
    exc: BaseException,
    endpoint: str,
    method: str | None = None,
    *,
    connecting: bool = False,
    reading: bool = False,
) -> ThriftBridgeError | None:
    """Our exception for a socket, TLS, HTTP or Thrift wire error; None for anything else.

    With `reading` (the request was sent), decoding errors of the C codec count as wire errors.
    """
    if isinstance(exc, ThriftBridgeError):
        if exc.endpoint is None:
            exc.endpoint = endpoint
        if exc.method is None:
            exc.method = method
        return exc
    where = {"endpoint": endpoint, "method": method}
    if isinstance(exc, (socket.timeout, TimeoutError)):
        if connecting:
            return ConnectTimeout(f"timed out connecting: {exc}", **where)
        return ReadTimeout(f"timed out waiting for the reply: {exc}", **where)
    if _is_instance(exc, "ssl", "SSLError"):
        return (ConnectError if connecting else TransportError)(f"TLS failed: {exc}", **where)
    if isinstance(exc, OSError):
        return (ConnectError if connecting else TransportError)(f"{exc.strerror or exc}", **where)
    if _is_instance(exc, "http.client", "HTTPException"):
        return TransportError(f"HTTP exchange failed: {exc!r}", **where)
    if isinstance(exc, TTransportException):
        target = _TTRANSPORT_TYPES.get(exc.type, TransportError)
        if connecting and not issubclass(target, ConnectError):
            target = ConnectTimeout if issubclass(target, Timeout) else ConnectError
        return target(exc.message or repr(exc), **where)
    if isinstance(exc, (TProtocolException, EOFError, UnicodeDecodeError)):
        return ProtocolError(f"malformed reply: {exc}", **where)
    if reading and isinstance(exc, (OverflowError, ValueError, struct.error, MemoryError)):
        return ProtocolError(f"malformed reply: {exc!r}", **where)
    return None


@contextlib.contextmanager
def map_exceptions(
    endpoint: str, method: str | None = None, *, connecting: bool = False
) -> Iterator[None]:
    """Re-raise socket, TLS, HTTP and Thrift wire errors from the block as ours, chained."""
    try:
        yield
    except Exception as exc:
        error = wrap_error(exc, endpoint, method, connecting=connecting)
        if error is None or error is exc:
            raise
        raise error from exc
