"""Opening the sync client's sockets: every resolved address in turn, then the TLS handshake,
within the connect timeout; what leaves this module is ours (`ConnectError`, `ConnectTimeout`).
"""

from __future__ import annotations

import socket
import struct
import sys
from typing import TYPE_CHECKING

from .._exceptions import ConnectError, ConnectTimeout

if TYPE_CHECKING:
    import ssl

    from .._endpoint import Endpoint

__all__ = ["connect"]

_TIMEVAL = struct.Struct("@ll")  # struct timeval: seconds, microseconds


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
        sock = _connect_unix(endpoint.path, timeout)
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


def _connect_unix(path: str, timeout: float) -> socket.socket:
    """A unix socket connected to `path`, waiting up to `timeout` for room in a full backlog.

    A connect with a Python timeout is non-blocking, and a unix socket's fails at once
    (EAGAIN) when the server's listen backlog is full, as under connection churn. A blocking
    one waits in the kernel for room, for at most SO_SNDTIMEO: that is used where it can be.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # By module: gevent's and eventlet's sockets keep Python's timeouts (see _socket).
        if type(sock).__module__ == "socket" and hasattr(socket, "SO_SNDTIMEO"):
            whole = int(timeout)
            micros = max(int((timeout - whole) * 1e6), 0 if whole else 1)  # 0 would mean never
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _TIMEVAL.pack(whole, micros))
            try:
                sock.connect(path)
            except BlockingIOError as exc:  # SO_SNDTIMEO ran out with the backlog still full
                raise TimeoutError(f"the server at {path} accepted no connection") from exc
        else:
            sock.settimeout(timeout)
            sock.connect(path)
    except BaseException:
        sock.close()
        raise
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
