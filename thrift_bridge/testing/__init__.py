"""Loopback Thrift servers for demos and tests: real sockets on 127.0.0.1 or a unix socket.

Usage::

    with serve(CustomerService.Processor(handler), transport="framed") as server:
        client = Client(CustomerService.Client, server.url)

``serve_raw`` runs a scripted, misbehaving server instead: it hands every accepted socket to
a function of yours (garbage bytes, stalls, early close, half frames). The scheme, transport
and protocol names are the client's (`Endpoint`'s); a bad one is a `ConfigError`.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any, Literal

from thrift.protocol.TBinaryProtocol import (
    TBinaryProtocolAcceleratedFactory,
    TBinaryProtocolFactory,
)
from thrift.protocol.TCompactProtocol import (
    TCompactProtocolAcceleratedFactory,
    TCompactProtocolFactory,
)
from thrift.protocol.THeaderProtocol import THeaderProtocolFactory
from thrift.protocol.TJSONProtocol import TJSONProtocolFactory
from thrift.transport.THeaderTransport import THeaderSubprotocolID
from thrift.transport.TSocket import TSocket
from thrift.transport.TTransport import TBufferedTransport, TFramedTransport
from thrift.transport.TZlibTransport import TZlibTransport

from .._exceptions import ConfigError
from .._options import (
    HEADER_PROTOCOLS,
    HTTP_SCHEMES,
    PROTOCOLS,
    SCHEMES,
    TLS_SCHEMES,
    TRANSPORTS,
    UNIX_SCHEMES,
    HeaderProtocolName,
    ProtocolName,
    Scheme,
    TransportName,
)
from ._http import HTTP_PATH, HTTPServer
from ._processors import HeaderCheckingProcessor
from ._sockets import Address, ConnectionHandler, Connections, SocketServer, listen, url_of

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

__all__ = [
    "Address",
    "ConnectionHandler",
    "HeaderCheckingProcessor",
    "LoopbackServer",
    "serve",
    "serve_raw",
]

logger = logging.getLogger(__name__)


def _protocol_factory(protocol: str, *, accelerated: bool = True) -> Any:
    """The Apache protocol factory for a protocol name (accelerated where Apache has one)."""
    if protocol == "binary":
        return TBinaryProtocolAcceleratedFactory() if accelerated else TBinaryProtocolFactory()
    if protocol == "compact":
        if accelerated:
            return TCompactProtocolAcceleratedFactory()
        return TCompactProtocolFactory()
    return TJSONProtocolFactory()


def _thrift_worker(processor: Any, transport: str, protocol: str, header_protocol: str) -> Any:
    """A ConnectionHandler that runs ``processor`` on one socket until the peer hangs up."""

    def work(sock: socket.socket) -> None:
        tsocket = TSocket()
        tsocket.setHandle(sock)
        if transport == "framed":
            trans: Any = TFramedTransport(tsocket)
        elif transport == "zlib":
            # Apache's TZlibTransport counts every byte of a connection's life against
            # max_decompressed_size; lift it so long-lived test connections survive.
            trans = TZlibTransport(tsocket, max_decompressed_size=2**31 - 1)
        elif transport == "header" or protocol == "header":
            trans = tsocket  # THeaderTransport does its own framing and buffering
        else:
            trans = TBufferedTransport(tsocket)
        if transport == "header" or protocol == "header":
            # As in Apache's cross-test servers, THeaderProtocol wraps the chosen transport.
            # It answers in the dialect the client spoke, so reads and writes must share one
            # protocol object (as Apache's TServer does).
            default = (
                THeaderSubprotocolID.COMPACT
                if header_protocol == "compact"
                else THeaderSubprotocolID.BINARY
            )
            iprot = oprot = THeaderProtocolFactory(default_protocol=default).getProtocol(trans)
        else:
            # TZlibTransport.cstringio_refill drops decompressed bytes it already buffered, so
            # the C codec hangs on requests over ~4 KiB: serve zlib with the Python codec.
            factory = _protocol_factory(protocol, accelerated=transport != "zlib")
            iprot, oprot = factory.getProtocol(trans), factory.getProtocol(trans)
        try:
            while True:
                processor.process(iprot, oprot)
        except Exception as exc:  # EOF, a reset, or bytes the processor could not read
            logger.debug("loopback thrift connection ended: %r", exc)

    return work


class LoopbackServer:
    """A running loopback server; a context manager, stopped by ``close()``.

    Example::

        with serve_raw(lambda sock: sock.sendall(b"garbage")) as server:
            host, port = server.address
    """

    def __init__(
        self,
        url: str,
        address: Address,
        backend: SocketServer | HTTPServer,
        connections: Connections,
        cleanup: Callable[[], None],
    ) -> None:
        self.url = url
        self.address = address
        self._backend = backend
        self._connections = connections
        self._cleanup = cleanup
        self._closed = False

    @property
    def connections_accepted(self) -> int:
        """How many client connections the server has accepted so far."""
        return self._connections.accepted

    def close(self) -> None:
        """Stop accepting, end every open connection and join every thread; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._backend.close()
        self._connections.close()
        self._cleanup()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LoopbackServer {self.url}{' closed' if self._closed else ''}>"


def _check(name: str, value: str, allowed: tuple[str, ...] | frozenset[str]) -> None:
    """Raise ConfigError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(
            f"unknown {name} {value!r} (expected one of: {', '.join(sorted(allowed))})"
        )


def _check_tls(scheme: str, ssl_context: ssl.SSLContext | None) -> None:
    """Require a server SSLContext exactly for the TLS schemes."""
    if scheme in TLS_SCHEMES and ssl_context is None:
        raise ConfigError(f"scheme {scheme!r} needs ssl_context (a server-side ssl.SSLContext)")
    if scheme not in TLS_SCHEMES and ssl_context is not None:
        raise ConfigError(f"ssl_context given but scheme {scheme!r} is not a TLS scheme")


def serve(
    processor: Any,
    *,
    scheme: Scheme = "tcp",
    transport: TransportName = "buffered",
    protocol: ProtocolName = "binary",
    header_protocol: HeaderProtocolName = "binary",
    ssl_context: ssl.SSLContext | None = None,
    socket_path: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> LoopbackServer:
    """Serve a Thrift processor on loopback, ready to accept when this returns.

    `host` is any 127.0.0.x (or ::1) address; `port` 0 takes a free one (give one to serve
    several addresses on the same port, as DNS discovery finds them).

    ``transport="header"`` ignores ``protocol``: Apache's header server answers in whatever
    subprotocol the client used; ``header_protocol`` only goes into ``.url``.
    ``protocol="header"`` runs THeaderProtocol over the buffered, framed or zlib transport,
    as Apache's cross-language test servers do. THeader requests run within the budget their
    caller sent (``Deadline-Budget``: see `thrift_bridge.DeadlineProcessor`).
    """
    _check("scheme", scheme, SCHEMES)
    _check("transport", transport, TRANSPORTS)
    _check("protocol", protocol, PROTOCOLS)
    _check("header_protocol", header_protocol, HEADER_PROTOCOLS)
    _check_tls(scheme, ssl_context)
    if scheme in HTTP_SCHEMES and transport != "buffered":
        raise ConfigError(f"transport {transport!r} does not apply to {scheme} (HTTP frames calls)")
    if socket_path is not None and scheme not in UNIX_SCHEMES:
        raise ConfigError(f"socket_path applies only to unix and unixs, not {scheme!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError(f"invalid port {port!r} (expected 0 for any free one, or 1 to 65535)")
    if protocol == "header" and transport == "header":
        raise ConfigError("use transport='header' or protocol='header', not both")
    if protocol == "header" and scheme in HTTP_SCHEMES:
        raise ConfigError(f"protocol 'header' does not apply to {scheme}")
    query: dict[str, str] = {}
    if transport != "buffered":
        query["transport"] = transport
    if protocol == "header":
        query["protocol"] = "header"
        if header_protocol != "binary":
            query["header_protocol"] = header_protocol
    else:
        wire_protocol = header_protocol if transport == "header" else protocol
        if wire_protocol != "binary":
            query["protocol"] = wire_protocol

    if "header" in (transport, protocol):
        from .._deadline import DeadlineProcessor

        processor = DeadlineProcessor(processor)
    connections = Connections(ssl_context)
    backend: SocketServer | HTTPServer
    if scheme in HTTP_SCHEMES:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        backend = HTTPServer(
            (host, port), family, processor, _protocol_factory(protocol), connections
        )
        address: Address = (host, backend.server_address[1])
        url = url_of(scheme, address, query, HTTP_PATH)
        cleanup: Callable[[], None] = lambda: None  # noqa: E731
    else:
        listener, address, cleanup = listen(scheme, host, socket_path, port)
        work = _thrift_worker(processor, transport, protocol, header_protocol)
        backend = SocketServer(listener, connections, work)
        url = url_of(scheme, address, query)
    backend.start()
    return LoopbackServer(url, address, backend, connections, cleanup)


def serve_raw(
    handler: ConnectionHandler,
    *,
    scheme: Literal["tcp", "tcps", "unix", "unixs"] = "tcp",
    ssl_context: ssl.SSLContext | None = None,
    socket_path: str | None = None,
    host: str = "127.0.0.1",
) -> LoopbackServer:
    """Call ``handler(sock)`` in a thread for each accepted connection (a scripted server).

    The socket is closed when the handler returns. A handler that waits should wait on the
    socket (``recv``): ``close()`` shuts every socket down, which ends such waits.
    """
    _check("scheme", scheme, ("tcp", "tcps", "unix", "unixs"))
    _check_tls(scheme, ssl_context)
    if socket_path is not None and scheme not in UNIX_SCHEMES:
        raise ConfigError(f"socket_path applies only to unix and unixs, not {scheme!r}")
    listener, address, cleanup = listen(scheme, host, socket_path)
    connections = Connections(ssl_context)
    backend = SocketServer(listener, connections, handler)
    backend.start()
    return LoopbackServer(url_of(scheme, address, {}), address, backend, connections, cleanup)
