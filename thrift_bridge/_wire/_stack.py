"""Turn an `Endpoint` into an open transport stack and protocol: sockets, TLS, wrappers, HTTP.

The only module that names Apache transport classes or converts seconds for them. Our own
buffered, framed and zlib transports replace Apache's where theirs copy quadratically, have no
size limit, or hang with the C codec; all of them implement `CReadableTransport`, so the
accelerated protocols keep their C path (see `wire.py` for the classes).
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

from thrift.protocol import TBinaryProtocol

from .._exceptions import ConfigError
from ._streams import (
    BufferedTransport,
    FramedTransport,
    SocketIO,
    StackTransport,
    ZlibTransport,
)

if TYPE_CHECKING:
    import ssl

    from .._endpoint import Endpoint

__all__ = [
    "ACCELERATED",
    "header_transport",
    "multiplexed",
    "open_transport",
    "protocol_factory",
    "ssl_context_for",
]

log = logging.getLogger("thrift_bridge")

try:  # the C codec ships in the thrift wheel; pure Python is the fallback
    from thrift.protocol import fastbinary  # noqa: F401

    ACCELERATED = True
except ImportError:  # pragma: no cover - depends on how thrift was installed
    ACCELERATED = False

_contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()
_warned_insecure: set[str] = set()


def ssl_context_for(endpoint: Endpoint) -> ssl.SSLContext | None:
    """The client `SSLContext` for a TLS endpoint (built once per TLS setting), else None."""
    if not endpoint.tls:
        return None
    key = (endpoint.ca_certs, endpoint.validate, endpoint.certfile, endpoint.keyfile)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            context = _contexts[key] = _build_ssl_context(endpoint)
        if not endpoint.validate and endpoint.redacted_url not in _warned_insecure:
            _warned_insecure.add(endpoint.redacted_url)
            log.warning(
                "TLS certificate validation is disabled for %s (validate=false): "
                "the connection is encrypted but the server is not authenticated",
                endpoint.redacted_url,
            )
    return context


def _build_ssl_context(endpoint: Endpoint) -> ssl.SSLContext:
    """A TLS 1.2+ client context: certifi or system CAs, host name checks, client certs."""
    import ssl

    import certifi

    try:
        if not endpoint.validate:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif endpoint.ca_certs == "system":
            context = ssl.create_default_context()
        else:
            context = ssl.create_default_context(cafile=endpoint.ca_certs or certifi.where())
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if endpoint.certfile:
            context.load_cert_chain(endpoint.certfile, endpoint.keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load TLS files for {endpoint.redacted_url} (ca_certs={endpoint.ca_certs!r}, "
            f"certfile={endpoint.certfile!r}, keyfile={endpoint.keyfile!r}): {exc}"
        ) from exc
    return context


def _connect_socket(endpoint: Endpoint, context: ssl.SSLContext | None) -> socket.socket:
    """A connected (and, for TLS, handshaken) socket; tries every resolved address in turn."""
    if endpoint.is_unix:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(endpoint.connect_timeout)
            sock.connect(endpoint.path)
        except BaseException:
            sock.close()
            raise
    else:
        sock = _connect_tcp(endpoint.host, endpoint.port, endpoint.connect_timeout)
    if context is not None:
        try:
            hostname = endpoint.server_hostname or endpoint.host
            sock = context.wrap_socket(sock, server_hostname=hostname)
        except BaseException:
            sock.close()
            raise
    sock.settimeout(endpoint.timeout)
    return sock


def _connect_tcp(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP socket connected to the first address of `host` that accepts, with TCP_NODELAY."""
    last_error: OSError | None = None
    for family, kind, proto, _, address in socket.getaddrinfo(
        host, port, socket.AF_UNSPEC, socket.SOCK_STREAM
    ):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        except BaseException:
            sock.close()
            raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise last_error or OSError(f"no address found for {host!r}")


def open_transport(endpoint: Endpoint, context: ssl.SSLContext | None) -> StackTransport:
    """Open a connection to `endpoint` and return its outermost transport, ready for a protocol."""
    if endpoint.is_http:
        from ._http import HttpTransport

        return HttpTransport(endpoint, lambda: _connect_socket(endpoint, context))
    io = SocketIO(_connect_socket(endpoint, context), endpoint.timeout)
    if endpoint.transport == "framed":
        framed = FramedTransport(io, endpoint.max_frame_size)
        return ZlibTransport(framed, endpoint.max_message_size) if endpoint.zlib else framed
    buffered = BufferedTransport(io, endpoint.max_message_size)
    if endpoint.transport == "zlib":
        return ZlibTransport(buffered, endpoint.max_message_size)
    return buffered


_BINARY = (
    TBinaryProtocol.TBinaryProtocolAccelerated if ACCELERATED else TBinaryProtocol.TBinaryProtocol
)


def protocol_factory(endpoint: Endpoint, mixin: type | None = None) -> Any:
    """A callable making the endpoint's protocol on a transport, optionally with `mixin` first."""
    if endpoint.transport == "header" or endpoint.protocol == "header":
        from thrift.protocol.THeaderProtocol import THeaderProtocol
        from thrift.transport.THeaderTransport import THeaderClientType, THeaderSubprotocolID

        inner = endpoint.protocol if endpoint.transport == "header" else endpoint.header_protocol
        base: type = THeaderProtocol
        binary = inner == "binary"
        subprotocol = THeaderSubprotocolID.BINARY if binary else THeaderSubprotocolID.COMPACT
        max_frame = endpoint.max_frame_size
        cls = _with_mixin(base, mixin)

        def make_header(trans: Any) -> Any:
            proto = cls(trans, (THeaderClientType.HEADERS,), subprotocol)
            proto.trans.set_max_frame_size(max_frame)
            proto.trans.set_max_decompressed_size(endpoint.max_message_size)
            return proto

        return make_header
    if endpoint.protocol == "json":
        from thrift.protocol.TJSONProtocol import TJSONProtocol

        cls = _with_mixin(TJSONProtocol, mixin)
        return cls
    if endpoint.protocol == "binary":
        base = _BINARY
    else:
        from thrift.protocol import TCompactProtocol

        base = (
            TCompactProtocol.TCompactProtocolAccelerated
            if ACCELERATED
            else TCompactProtocol.TCompactProtocol
        )
    cls = _with_mixin(base, mixin)
    limit = endpoint.max_message_size

    def make(trans: Any) -> Any:
        return cls(trans, string_length_limit=limit, container_length_limit=limit)

    return make


def multiplexed(protocol: Any, service_name: str) -> Any:
    """`protocol` prefixing every call with "service_name:" for a multiplexed server."""
    from thrift.protocol.TMultiplexedProtocol import TMultiplexedProtocol

    return TMultiplexedProtocol(protocol, service_name)


def header_transport(protocol: Any) -> Any:
    """The THeaderTransport under a THeader protocol (for request and reply headers), or None."""
    header = sys.modules.get("thrift.transport.THeaderTransport")  # every THeader protocol loads it
    trans = protocol.trans
    return trans if header is not None and isinstance(trans, header.THeaderTransport) else None


_mixed: dict[tuple[type, type], type] = {}


def _with_mixin(base: type, mixin: type | None) -> type:
    """`base` subclassed with `mixin` first in its MRO (made once per pair)."""
    if mixin is None:
        return base
    cls = _mixed.get((base, mixin))
    if cls is None:
        cls = _mixed[(base, mixin)] = type(f"{mixin.__name__}{base.__name__}", (mixin, base), {})
    return cls
