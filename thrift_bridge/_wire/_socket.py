"""A connected socket for one call at a time: connecting, sending and receiving, every wait
bounded by the call's deadline and every reply by its byte budget.

The blocking I/O of the sync client happens here, so its errors are mapped here too: what
leaves this module is ours (`ConnectError`, `ConnectTimeout`, `WriteTimeout`,
`ReadTimeout`, `TransportError`, `ProtocolError`).
"""

from __future__ import annotations

import math
import select
import socket
import struct
import sys
import time
from io import BytesIO
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    ConnectError,
    ConnectTimeout,
    ProtocolError,
    ReadTimeout,
    TransportError,
    WriteTimeout,
)

if TYPE_CHECKING:
    import ssl

    from .._endpoint import Endpoint

__all__ = ["READ_SIZE", "PeerClosed", "SocketIO", "connect"]

READ_SIZE = 65536
_DEADLINE_SLACK = 0.05  # shorten the socket timeout only when it matters, not on every recv
_GATHER_SIZE = 65536  # below this, one copy is cheaper than a scatter-gather send
_FIRST_GROWTH = 1 << 20  # a large read buffer starts at 1 MiB, then doubles as bytes arrive
_TIMEVAL = struct.Struct("@ll")  # struct timeval: seconds, microseconds


class PeerClosed(TransportError):
    """The peer closed the connection while a reply was due."""


def _closed_by_peer() -> PeerClosed:
    """The error for a connection the peer closed while a reply was due."""
    return PeerClosed("the peer closed the connection")


def _failed(doing: str, exc: OSError) -> TransportError:
    """The error for a socket that failed (reset, broken pipe, TLS alert) mid-call."""
    tls = sys.modules.get("ssl")
    if tls is not None and isinstance(exc, tls.SSLError):
        return TransportError(f"TLS failed {doing}: {exc}")
    return TransportError(f"{doing} failed: {exc.strerror or exc}")


def _waits_in_kernel(sock: socket.socket) -> bool:
    """Whether `sock` can take its timeouts as SO_RCVTIMEO/SO_SNDTIMEO (a plain stdlib socket).

    Python's own socket timeouts poll() before every send and recv: two extra system calls a
    call. TLS sockets and cooperative ones (gevent, eventlet) keep Python's timeouts.
    """
    # By module, not `socket.socket`: monkey-patching makes that name gevent's own class.
    return type(sock).__module__ == "socket" and hasattr(socket, "SO_RCVTIMEO")


class SocketIO:
    """A connected socket with a per-call reply deadline and a per-call byte budget."""

    __slots__ = (
        "_in_kernel",
        "_op_timeout",
        "_poller",
        "_write_poller",
        "call_timeout",
        "deadline",
        "max_message_size",
        "received",
        "sent",
        "sock",
        "started",
        "timeout",
    )

    def __init__(self, sock: socket.socket, timeout: float, max_message_size: int = 2**31 - 1):
        self.sock = sock
        self.timeout = timeout
        self.deadline = math.inf
        self.call_timeout = timeout
        self.sent = self.started = False
        self.received = 0
        self.max_message_size = max_message_size
        self._poller = select.poll()
        self._poller.register(sock, select.POLLIN)
        self._write_poller: Any = None  # made on the first send that finds no room
        self._in_kernel = _waits_in_kernel(sock)
        if self._in_kernel:
            sock.settimeout(None)  # blocking: the kernel enforces the timeouts set below
        self._set_timeout(timeout)

    def _set_timeout(self, seconds: float) -> None:
        """Bound each following send and recv by `seconds`."""
        if self._in_kernel:
            whole = int(seconds)
            micros = max(int((seconds - whole) * 1e6), 0 if whole else 1)  # 0 would mean never
            value = _TIMEVAL.pack(whole, micros)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
        else:
            self.sock.settimeout(seconds)
        self._op_timeout = seconds

    def begin_call(self, timeout: float | None = None) -> None:
        """Start the clock (`timeout` for the whole call; None: the endpoint's) and the byte
        budget for one call."""
        if timeout is None:
            timeout = self.timeout
        self.call_timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.sent = self.started = False
        self.received = 0
        if self._op_timeout != timeout:
            self._set_timeout(timeout)

    def _within_deadline(self) -> bool:
        """Bound the next send or recv by what is left of the call; False once nothing is."""
        remaining = self.deadline - time.monotonic()
        if remaining < self._op_timeout - _DEADLINE_SLACK:
            if remaining <= 0:
                return False
            self._set_timeout(remaining)
        return True

    def _reply_timed_out(self) -> ReadTimeout:
        """The error for a reply that did not arrive within the call's timeout."""
        return ReadTimeout(f"no complete reply within {self.call_timeout:g}s")

    def recv_or_eof(self, n: int) -> bytes:
        """Like `recv`, but b"" once the peer has closed the connection (HTTP's end of body)."""
        try:
            return self.recv(n)
        except PeerClosed:
            return b""

    def _count(self, n: int) -> None:
        """Account for `n` received bytes; raise on EOF or past the message budget."""
        if n == 0:
            raise _closed_by_peer()
        self.received += n
        if self.received > self.max_message_size:
            raise self._too_big()

    def _too_big(self) -> ProtocolError:
        """The error for a reply past the per-call byte budget."""
        return ProtocolError(f"reply exceeds max_message_size={self.max_message_size} bytes")

    def recv(self, n: int) -> bytes:
        """Up to `n` bytes (at most `READ_SIZE`), at least one."""
        # Only near the deadline does the recv get less than the whole op timeout (or none).
        near = self.deadline - time.monotonic() < self._op_timeout - _DEADLINE_SLACK
        if near and not self._within_deadline():
            raise self._reply_timed_out()
        try:
            # Never more than READ_SIZE: recv allocates its whole argument before any byte
            # arrives, and a peer's declared length must not decide how much we allocate.
            data = self.sock.recv(min(n, READ_SIZE))
        except (BlockingIOError, socket.timeout):  # SO_RCVTIMEO or Python's timeout expired
            raise self._reply_timed_out() from None
        except OSError as exc:
            raise _failed("receiving the reply", exc) from exc
        if not data:
            raise _closed_by_peer()
        self.received += len(data)
        if self.received > self.max_message_size:
            raise self._too_big()
        return data

    def recv_buffer(self, n: int, prefix: bytes = b"") -> BytesIO:
        """A read buffer of `prefix` and exactly `n` more bytes, received straight into it.

        The buffer grows as bytes arrive (doubling from `_FIRST_GROWTH`), never to a length
        the peer has only declared: a 40-byte reply announcing a 99 MB string costs 1 MiB.
        """
        buf = BytesIO(prefix)
        got = len(prefix)
        end = got + n
        size = got
        while got < end:
            if got == size:
                size = min(end, max(2 * size, got + _FIRST_GROWTH))
                buf.seek(size - 1)
                buf.write(b"\0")  # grows the buffer; the socket then fills it in place
            if not self._within_deadline():
                raise self._reply_timed_out()
            # Views of `buf` never outlive this block, on any path: an export left alive (in a
            # traceback, say) makes the buffer unresizable and crashed Python 3.12 at exit.
            with buf.getbuffer() as whole, whole[got:size] as room:
                try:
                    received = self.sock.recv_into(room)
                except (BlockingIOError, socket.timeout):
                    raise self._reply_timed_out() from None
                except OSError as exc:
                    raise _failed("receiving the reply", exc) from exc
            self._count(received)
            got += received
        buf.seek(0)
        return buf

    def _send_timed_out(self, sent: int, total: int) -> WriteTimeout:
        """The error for a request the peer did not take in full before the deadline."""
        return WriteTimeout(
            f"the request could not be sent within {self.call_timeout:g}s "
            f"(the peer took {sent} of {total} bytes)"
        )

    def sendall(self, data: Any) -> None:
        """Send every byte of `data` before the call's deadline; marks the request written."""
        self._send_views([memoryview(data)])
        self.sent = True

    def send_parts(self, head: bytes, body: bytes, *more: bytes) -> None:
        """Send `head`, `body` and `more`; large parts go out without being copied together."""
        if not more and len(body) < _GATHER_SIZE:
            self._send_views([memoryview(head + body)])
        else:
            self._send_views([memoryview(part) for part in (head, body, *more) if part])
        self.sent = True

    def _send_views(self, views: list[memoryview]) -> None:
        """Send every byte of `views` (scatter-gather where the socket can) before the deadline.

        `sendall` and SO_SNDTIMEO bound each send() call, not the request (and on a unix
        socket each chunk of one): a peer taking a few bytes now and then kept a 1 s call
        sending for minutes. Kernel-timeout sockets therefore send without blocking and wait
        for room with poll() bounded by what is left of the deadline; the others get their
        timeout shortened to it before each send.
        """
        total = sum(map(len, views))
        sent = 0
        self.started = True  # from here on, part of the request may be on the wire
        try:
            while views:
                # Python-timeout sockets: each send gets what is left of the deadline.
                if not (self._in_kernel or self._within_deadline()):
                    raise self._send_timed_out(sent, total)
                try:
                    done = self._send_some(views)
                except BlockingIOError:  # no room in the socket buffer now
                    self._wait_writable(sent, total)
                    continue
                except socket.timeout:  # Python's timeout (TLS, gevent)
                    raise self._send_timed_out(sent, total) from None
                except OSError as exc:
                    raise _failed("sending the request", exc) from exc
                sent += done
                while done:
                    if done >= len(views[0]):
                        done -= len(views.pop(0))
                    else:
                        views[0] = views[0][done:]
                        done = 0
        finally:
            for view in views:
                view.release()

    def _send_some(self, views: list[memoryview]) -> int:
        """One send of as much of `views` as the socket takes now (never blocking in-kernel)."""
        flags = socket.MSG_DONTWAIT if self._in_kernel else 0
        if len(views) == 1:
            return int(self.sock.send(views[0], flags))
        try:
            return int(self.sock.sendmsg(views, (), flags))
        except NotImplementedError:  # TLS sockets have no sendmsg: one copy, then send
            joined = memoryview(b"".join(views))
            views[:] = [joined]
            return int(self.sock.send(joined))

    def _wait_writable(self, sent: int, total: int) -> None:
        """Wait, at most until the call's deadline, for room in the socket's send buffer."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._send_timed_out(sent, total)
        if self._write_poller is None:
            self._write_poller = select.poll()
            self._write_poller.register(self.sock, select.POLLOUT)
        if not self._write_poller.poll(math.ceil(remaining * 1000)):
            raise self._send_timed_out(sent, total)

    def is_usable(self) -> bool:
        """Whether the idle socket is still open and holds no unexpected bytes."""
        try:
            if not self._poller.poll(0):
                return True
        except (OSError, ValueError):
            return False
        tls = sys.modules.get("ssl")  # a TLS socket means ssl is loaded; plain TCP never loads it
        if tls is None or not isinstance(self.sock, tls.SSLSocket):
            return False  # readable while idle: EOF, reset, or garbage
        # TLS 1.3 session tickets make an idle socket readable; only app data or EOF is fatal.
        self.sock.setblocking(False)
        try:
            self.sock.recv(1)  # any application byte or EOF while idle means out of step
            return False
        except tls.SSLWantReadError:
            return True
        except OSError:
            return False
        finally:
            self.sock.settimeout(self._op_timeout)

    def close(self) -> None:
        """Close the socket (no TLS close_notify wait)."""
        self.sock.close()

    def fileno(self) -> int:
        """The socket's file descriptor, or -1 once closed."""
        return self.sock.fileno()


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
