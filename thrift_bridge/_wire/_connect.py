"""Opening the sync client's sockets: every resolved address in turn, then the TLS handshake,
within the connect timeout; what leaves this module is ours (`ConnectError`, `ConnectTimeout`).
"""

from __future__ import annotations

import socket
import sys
from typing import TYPE_CHECKING

from .._exceptions import ConnectError, ConnectTimeout

if TYPE_CHECKING:
    import ssl

    from .._endpoint import Endpoint

__all__ = ["connect"]


def connect(
    endpoint: Endpoint, context: ssl.SSLContext | None, timeout: float | None = None
) -> socket.socket:
    """A connected (and, for TLS, handshaken) socket to `endpoint`, or `ConnectError`, within
    `timeout` (None: the endpoint's `connect_timeout`)."""
    seconds = endpoint.connect_timeout if timeout is None else timeout
    try:
        return _connect(endpoint, context, seconds)
    except (socket.timeout, TimeoutError) as exc:
        raise ConnectTimeout(f"timed out connecting (connect_timeout={seconds:g}s): {exc}") from exc
    except OSError as exc:
        tls = sys.modules.get("ssl")
        if tls is not None and isinstance(exc, tls.SSLError):
            raise ConnectError(f"TLS failed: {exc}") from exc
        raise ConnectError(f"{exc.strerror or exc}") from exc


def _connect(endpoint: Endpoint, context: ssl.SSLContext | None, timeout: float) -> socket.socket:
    """A connected (and, for TLS, handshaken) socket; tries every resolved address in turn."""
    if endpoint.is_unix:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(endpoint.path)
        except BaseException:
            sock.close()
            raise
    else:
        sock = _connect_tcp(endpoint.host, endpoint.port, timeout)
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
