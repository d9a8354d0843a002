"""Opening the sync client's sockets: every resolved address in turn, then the TLS handshake,
within the connect timeout; what leaves this module is ours (`ConnectError`, `ConnectTimeout`).
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time
from errno import ENOTCONN
from typing import TYPE_CHECKING

from .._exceptions import ConnectError, ConnectTimeout
from .._tls import tls_failure

if TYPE_CHECKING:
    import ssl

    from .._endpoint import Endpoint

__all__ = ["connect", "connect_failure"]

_TIMEVAL = struct.Struct("@ll")  # struct timeval: seconds, microseconds
#: Connects to a unix socket at most, each interrupted (EINTR) before the backlog had room.
_UNIX_CONNECT_TRIES = 1000


def connect(
    endpoint: Endpoint, context: ssl.SSLContext | None, timeout: float | None = None
) -> socket.socket:
    """A connected (and, for TLS, handshaken) socket to `endpoint`, or `ConnectError`, within
    `timeout` (None: the endpoint's `connect_timeout`)."""
    seconds = endpoint.connect_timeout if timeout is None else timeout
    try:
        return _connect(endpoint, context, seconds)
    except OSError as exc:
        raise connect_failure(exc, endpoint, seconds) from exc


def connect_failure(
    exc: BaseException, endpoint: Endpoint, seconds: float, tls: bool = False
) -> ConnectError:
    """Our error for opening a connection to `endpoint` that failed with `exc` (sync and async
    clients alike): `ConnectTimeout` for a timeout (`seconds`: the connect timeout), the TLS
    handshake's failure and its fix when `tls` (it failed in the handshake), else the OS's words."""
    where = endpoint.redacted_url
    aio = sys.modules.get("asyncio")  # before 3.11 its TimeoutError is not the builtin one
    if isinstance(exc, (socket.timeout, TimeoutError)) or (
        aio is not None and isinstance(exc, aio.TimeoutError)
    ):
        detail = f": {exc}" if f"{exc}" else ""
        return ConnectTimeout(
            f"timed out connecting (connect_timeout={seconds:g}s){detail}", endpoint=where
        )
    if tls:
        return ConnectError(tls_failure(exc, endpoint), endpoint=where)
    errno = getattr(exc, "errno", None)
    if (
        isinstance(errno, int)
        and errno > 0
        and not isinstance(exc, (socket.gaierror, socket.herror))
    ):
        # The system's words for it: asyncio's own ("Connect call failed ...") say less.
        return ConnectError(os.strerror(errno), endpoint=where)
    return ConnectError(f"{getattr(exc, 'strerror', None) or exc}", endpoint=where)


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
        except (socket.timeout, TimeoutError):
            sock.close()
            raise
        except OSError as exc:  # the handshake failed: say why, and what would fix it
            sock.close()
            raise connect_failure(exc, endpoint, timeout, tls=True) from exc
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
    # By module: gevent's and eventlet's sockets keep Python's timeouts (see _socket).
    if type(sock).__module__ != "socket" or not hasattr(socket, "SO_SNDTIMEO"):
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return sock
    deadline = time.monotonic() + timeout
    for _ in range(_UNIX_CONNECT_TRIES):
        try:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            whole = int(left)
            micros = max(int((left - whole) * 1e6), 0 if whole else 1)  # 0 would mean never
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _TIMEVAL.pack(whole, micros))
            try:
                sock.connect(path)
            except BlockingIOError as exc:  # SO_SNDTIMEO ran out with the backlog still full
                raise TimeoutError(f"the server at {path} accepted no connection") from exc
            # An interrupted wait (EINTR: a signal, or work uvloop's libuv left for this
            # thread) makes Python report the connect as done, as it waits for a TCP connect
            # to finish in the background; a unix one was abandoned instead: check.
            sock.getpeername()
            return sock
        except OSError as exc:
            sock.close()
            if exc.errno != ENOTCONN:
                raise
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # interrupted: again
        except BaseException:
            sock.close()
            raise
    sock.close()
    raise TimeoutError(f"the server at {path} accepted no connection")


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
            last_error = exc.with_traceback(None)  # kept by this frame: no cycle through it
            continue
        except BaseException:
            sock.close()
            raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    try:
        raise last_error or OSError(f"no address found for {host!r}")
    finally:
        last_error = None  # the error's traceback keeps this frame: no cycle through it
