"""A connected socket for one call at a time: sending and receiving, every wait bounded by the
call's deadline and every reply by its byte budget (`_connect` opens it).

The blocking I/O of the sync client happens here, so its errors are mapped here too: what
leaves this module is ours (`WriteTimeout`, `ReadTimeout`, `TransportError`, `ProtocolError`).
Over 400 lines on purpose: sends and receives share one deadline and the three ways a socket
waits (the kernel's timer, poll(), TLS's non-blocking reads), which would not split cleanly.
"""

from __future__ import annotations

import math
import select
import socket
import struct
import sys
import time
from functools import partial
from io import BytesIO
from typing import Any, Callable

from .._exceptions import (
    ProtocolError,
    ReadTimeout,
    TransportError,
    WriteTimeout,
)
from .._hints import HEAD_SIZE

__all__ = ["READ_SIZE", "PeerClosed", "SocketIO", "read_timeout", "write_timeout"]

READ_SIZE = 65536
_DEADLINE_SLACK = 0.05  # shorten the socket timeout only when it matters, not on every recv
#: How much sooner than the deadline the kernel's receive timer (SO_RCVTIMEO) is set. It runs
#: on the kernel's tick: 1 ms asked waited 5-12 ms, 10 ms 13-17 ms (HZ=250; a tick is 10 ms
#: at HZ=100). Woken that much early, a recv waits out the rest with poll(), which is exact.
_TICK_SLACK = 0.03
_GATHER_SIZE = 65536  # below this, one copy is cheaper than a scatter-gather send
_FIRST_GROWTH = 1 << 20  # a large read buffer starts at 1 MiB, then doubles as bytes arrive
_TIMEVAL = struct.Struct("@ll")  # struct timeval: seconds, microseconds


class PeerClosed(TransportError):
    """The peer closed the connection while a reply was due."""


def read_timeout(seconds: float) -> ReadTimeout:
    """The error for a reply that did not arrive within a call's timeout (sync and async)."""
    return ReadTimeout(f"no complete reply within {seconds:g}s")


def write_timeout(seconds: float, detail: str = "") -> WriteTimeout:
    """The error for a request not sent in full within a call's timeout (sync and async)."""
    return WriteTimeout(f"the request could not be sent within {seconds:g}s{detail}")


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
    """Whether `sock` can wait in the kernel: SO_RCVTIMEO, and sends that never block (a plain
    stdlib socket).

    Python's own socket timeouts poll() before every send and recv: two extra system calls a
    call. Cooperative sockets (gevent, eventlet) keep Python's timeouts.
    """
    # By module, not `socket.socket`: monkey-patching makes that name gevent's own class.
    return type(sock).__module__ == "socket" and hasattr(socket, "SO_RCVTIMEO")


class _NeverRaised(Exception):
    """Stands for the TLS want-read error on sockets that are not TLS."""


def _tls_wants(sock: socket.socket) -> tuple[type[Exception], type[Exception]] | None:
    """The stdlib's want-read and want-write errors if `sock` is a stdlib TLS socket, else None.

    Such a socket runs non-blocking and waits with poll() bounded by the call's deadline: with
    Python's timeouts every TLS send polls first and every recv reads, fails and polls before
    it reads again (three system calls where one does). OpenSSL's blocking reads would not do:
    they loop over partial records, so a peer trickling bytes could outlast any kernel timeout.
    """
    tls = sys.modules.get("ssl")  # a TLS socket means ssl is loaded; plain TCP never loads it
    if tls is None or type(sock) is not tls.SSLSocket:  # gevent's keeps Python's timeouts
        return None
    return tls.SSLWantReadError, tls.SSLWantWriteError


class SocketIO:
    """A connected socket with a per-call reply deadline and a per-call byte budget."""

    __slots__ = (
        "_in_kernel",
        "_never_blocks",
        "_nonblocking",
        "_op_timeout",
        "_poller",
        "_recv_flags",
        "_send_flags",
        "_want_read",
        "_want_write",
        "_write_poller",
        "call_timeout",
        "deadline",
        "first",
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
        self.first = b""  # the call's first bytes received (kept by reference, not copied)
        self.max_message_size = max_message_size
        self._poller = select.poll()
        self._poller.register(sock, select.POLLIN)
        self._write_poller: Any = None  # made on the first send that finds no room
        self._in_kernel = _waits_in_kernel(sock)
        wants = _tls_wants(sock)
        #: A stdlib TLS socket: never blocks; every wait is a poll() bounded by the deadline.
        self._nonblocking = wants is not None
        #: A send never blocks (a kernel timeout's MSG_DONTWAIT, or TLS's non-blocking socket).
        self._never_blocks = self._in_kernel or self._nonblocking
        self._want_read: type[Exception] = _NeverRaised
        self._want_write: tuple[type[Exception], ...] = (BlockingIOError,)
        if wants is not None:
            self._want_read, want_write = wants
            self._want_write = (BlockingIOError, want_write)
            sock.settimeout(0.0)
        elif self._in_kernel:
            sock.settimeout(None)  # blocking: the kernel enforces the timeouts set below
        #: Sends never block on a kernel-timeout socket (TLS takes no flags: it never blocks).
        self._send_flags = socket.MSG_DONTWAIT if self._in_kernel else 0
        #: MSG_DONTWAIT while the time left is too short for the kernel's timer (`_TICK_SLACK`).
        self._recv_flags = 0
        self._set_timeout(timeout)

    def _set_timeout(self, seconds: float) -> None:
        """Bound each following send and recv by `seconds`."""
        if self._nonblocking:
            pass  # each wait is bounded by what is left of the deadline instead
        elif self._in_kernel:
            # Early by _TICK_SLACK: a recv the timer ends waits the rest in `_recv_rest`.
            kernel = seconds - _TICK_SLACK
            self._recv_flags = 0 if kernel > 0 else socket.MSG_DONTWAIT
            if kernel > 0:  # else no timer: each recv polls first
                whole = int(kernel)
                micros = max(int((kernel - whole) * 1e6), 0 if whole else 1)  # 0 means never
                value = _TIMEVAL.pack(whole, micros)
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
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
        return read_timeout(self.call_timeout)

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
        """Up to `n` bytes, at least one; callers ask for at most `READ_SIZE`."""
        # Never more than READ_SIZE (the callers' part): recv allocates its whole argument
        # before any byte arrives, and a peer's declared length must not decide how much.
        if self._nonblocking:
            # Read first: a server on the same CPU has usually answered by now; if not, the
            # failed read costs less than a poll() before every read would.
            data: bytes = self._read_nonblocking(self.sock.recv, n)
        else:
            # Only near the deadline does the recv get less than the whole op timeout (or none).
            near = self.deadline - time.monotonic() < self._op_timeout - _DEADLINE_SLACK
            if near and not self._within_deadline():
                raise self._reply_timed_out()
            try:
                data = self.sock.recv(n, self._recv_flags)
            except BlockingIOError:  # the kernel's timer, early on purpose (or MSG_DONTWAIT)
                data = self._recv_rest(self.sock.recv, n)
            except socket.timeout:  # Python's timeout (gevent)
                raise self._reply_timed_out() from None
            except OSError as exc:
                raise _failed("receiving the reply", exc) from exc
        if not data:
            raise _closed_by_peer()
        received = self.received
        if not received:
            self.first = data
        self.received = received = received + len(data)
        if received > self.max_message_size:
            raise self._too_big()
        return data

    def reply_head(self) -> bytes:
        """The first bytes received in this call (b"" before any), for hints on a bad reply."""
        return self.first[:HEAD_SIZE] if self.received else b""

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
            if not (self._nonblocking or self._within_deadline()):
                raise self._reply_timed_out()
            # Views of `buf` never outlive this block, on any path: an export left alive (in a
            # traceback, say) makes the buffer unresizable and crashed Python 3.12 at exit.
            with buf.getbuffer() as whole, whole[got:size] as room:
                if self._nonblocking:  # mid-reply: the next record is usually there already
                    received = self._read_nonblocking(self.sock.recv_into, room)
                else:
                    try:
                        received = self.sock.recv_into(room, 0, self._recv_flags)
                    except BlockingIOError:  # the kernel's timer, early on purpose
                        received = self._recv_rest(self.sock.recv_into, room, 0)
                    except socket.timeout:  # Python's timeout (gevent)
                        raise self._reply_timed_out() from None
                    except OSError as exc:
                        raise _failed("receiving the reply", exc) from exc
            self._count(received)
            got += received
        buf.seek(0)
        return buf

    def _recv_rest(self, read: Callable[..., Any], *args: Any) -> Any:
        """`read(*args, MSG_DONTWAIT)` once poll() says bytes came, waiting at most until the
        call's deadline: the rest of a wait the kernel's coarse timer cut short."""
        while True:
            self._wait(select.POLLIN, self._reply_timed_out)
            try:
                return read(*args, socket.MSG_DONTWAIT)
            except BlockingIOError:  # readable, yet nothing to read (a bad checksum dropped it)
                continue
            except OSError as exc:
                raise _failed("receiving the reply", exc) from exc

    def _read_nonblocking(self, read: Any, arg: Any) -> Any:
        """`read(arg)` on the non-blocking TLS socket, waiting (within the deadline) whenever
        TLS needs more bytes from the peer or room to send."""
        while True:
            try:
                return read(arg)
            except self._want_read:
                self._wait(select.POLLIN, self._reply_timed_out)
            except self._want_write:
                self._wait(select.POLLOUT, self._reply_timed_out)
            except OSError as exc:
                raise _failed("receiving the reply", exc) from exc

    def _wait(self, events: int, timed_out: Callable[[], Exception]) -> None:
        """Wait, at most until the call's deadline, for `events` (POLLIN or POLLOUT); raise
        `timed_out()` when the deadline passes first."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise timed_out()
        if events == select.POLLIN:
            poller = self._poller
        else:
            if self._write_poller is None:
                self._write_poller = select.poll()
                self._write_poller.register(self.sock, select.POLLOUT)
            poller = self._write_poller
        if not poller.poll(math.ceil(remaining * 1000)):
            raise timed_out()

    def _send_timed_out(self, sent: int, total: int) -> WriteTimeout:
        """The error for a request the peer did not take in full before the deadline."""
        return write_timeout(self.call_timeout, f" (the peer took {sent} of {total} bytes)")

    def check_send_deadline(self, total: int) -> None:
        """Raise `WriteTimeout` if the call's deadline passed before its `total` bytes went out
        (work before sending, such as compression, counts against the call's timeout)."""
        if time.monotonic() >= self.deadline:
            raise self._send_timed_out(0, total)

    def sendall(self, data: Any) -> None:
        """Send every byte of `data` before the call's deadline; marks the request written."""
        self._send_views([memoryview(data)])
        self.sent = True

    def send_parts(self, head: bytes, body: bytes, *more: bytes) -> None:
        """Send `head`, `body` and `more`; large parts go out without being copied together."""
        if not more and len(body) < _GATHER_SIZE:
            data = head + body
            if self._never_blocks:  # one send, usually all
                self.started = True
                try:
                    sent = self.sock.send(data, self._send_flags)
                except self._want_write:
                    sent = 0
                except OSError as exc:
                    raise _failed("sending the request", exc) from exc
                if sent == len(data):
                    self.sent = True
                    return
                data = data[sent:]  # the rest waits for room, within the deadline
            self._send_views([memoryview(data)])
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
                if not (self._never_blocks or self._within_deadline()):
                    raise self._send_timed_out(sent, total)
                try:
                    done = self._send_some(views)
                except self._want_write:  # no room in the socket buffer now
                    self._wait(select.POLLOUT, partial(self._send_timed_out, sent, total))
                    continue
                except self._want_read:  # TLS must read the peer's bytes before it can send
                    self._wait(select.POLLIN, partial(self._send_timed_out, sent, total))
                    continue
                except socket.timeout:  # Python's timeout (gevent)
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
        if len(views) == 1:
            return int(self.sock.send(views[0], self._send_flags))
        try:
            return int(self.sock.sendmsg(views, (), self._send_flags))
        except NotImplementedError:  # TLS sockets have no sendmsg: one copy, then send
            joined = memoryview(b"".join(views))
            views[:] = [joined]
            return int(self.sock.send(joined))

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
        if not self._nonblocking:
            self.sock.setblocking(False)
        try:
            self.sock.recv(1)  # any application byte or EOF while idle means out of step
            return False
        except tls.SSLWantReadError:
            return True
        except OSError:
            return False
        finally:
            if not self._nonblocking:
                self.sock.settimeout(self._op_timeout)

    def close(self) -> None:
        """Close the socket (no TLS close_notify wait)."""
        self.sock.close()

    def fileno(self) -> int:
        """The socket's file descriptor, or -1 once closed."""
        return self.sock.fileno()
