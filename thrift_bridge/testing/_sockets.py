"""Loopback sockets for test servers: listening, accept loops, and connections that close() ends."""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Union
from urllib.parse import quote, urlencode

from .._options import UNIX_SCHEMES

if TYPE_CHECKING:
    import ssl

__all__ = ["Address", "ConnectionHandler", "Connections", "SocketServer", "listen", "url_of"]

logger = logging.getLogger("thrift_bridge.testing")

Address = Union[tuple[str, int], str]
ConnectionHandler = Callable[[socket.socket], None]
#: Seconds close() waits for each thread before giving up on it.
JOIN_TIMEOUT = 5.0


def _shutdown_quietly(sock: socket.socket) -> None:
    """Shut a socket down for both directions, waking any thread blocked on it."""
    # socket.socket.shutdown skips SSLSocket's override, which would drop the TLS object
    # under a thread that is still reading from it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Connections:
    """The open client sockets and their threads, so close() can end all of them."""

    def __init__(self, ssl_context: ssl.SSLContext | None) -> None:
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._closing = False
        self.accepted = 0

    def start(self, conn: socket.socket, work: ConnectionHandler) -> None:
        """Run ``work(conn)`` in a new thread; close ``conn`` when it returns."""
        with self._lock:
            if self._closing:
                conn.close()
                return
            self.accepted += 1
            self._sockets.add(conn)
            thread = threading.Thread(
                target=self._run, args=(conn, work), name="loopback-conn", daemon=True
            )
            self._threads.add(thread)
        thread.start()

    def _run(self, conn: socket.socket, work: ConnectionHandler) -> None:
        """Thread body: TLS handshake if configured, then the connection's work."""
        sock = conn
        try:
            if self._ssl_context is not None:
                # The handshake runs here rather than in the accept loop, so a client that
                # stalls mid-handshake does not block other connections.
                sock = self._ssl_context.wrap_socket(conn, server_side=True)
                with self._lock:
                    self._sockets.discard(conn)
                    self._sockets.add(sock)
                if self._closing:
                    return
            work(sock)
        except OSError as exc:  # includes ssl.SSLError: the peer went away or failed TLS
            logger.debug("loopback connection ended: %r", exc)
        finally:
            # Close before leaving the books: close() must not return while this socket is open.
            sock.close()
            conn.close()
            with self._lock:
                self._sockets.discard(conn)
                self._sockets.discard(sock)
                self._threads.discard(threading.current_thread())

    def close(self) -> None:
        """Shut down every open socket, join every thread, and close what is left."""
        with self._lock:
            self._closing = True
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            _shutdown_quietly(sock)
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        with self._lock:
            leftovers = list(self._sockets)
            self._sockets.clear()
        for sock in leftovers:  # only threads that ignored the shutdown leave any
            sock.close()


class SocketServer:
    """An accept loop on a listening socket, woken for shutdown through a socket pair."""

    def __init__(self, listener: socket.socket, connections: Connections, work: ConnectionHandler):
        self._listener = listener
        self._connections = connections
        self._work = work
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._ready = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="loopback-accept", daemon=True)

    def start(self) -> None:
        """Start the accept loop and wait until it runs."""
        self._thread.start()
        self._ready.wait()

    def _loop(self) -> None:
        """Accept connections until close() writes to the wake-up socket."""
        self._ready.set()
        while not self._stop:
            for key, _ in self._selector.select():
                if key.fileobj is self._wake_r:
                    return
                try:
                    conn, _ = self._listener.accept()
                except OSError:
                    continue
                conn.setblocking(True)
                self._connections.start(conn, self._work)

    def close(self) -> None:
        """Stop accepting and release the listening socket."""
        self._stop = True
        self._wake_w.send(b"x")
        self._thread.join(JOIN_TIMEOUT)
        self._selector.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()


def listen(
    scheme: str, host: str, socket_path: str | None, port: int = 0
) -> tuple[socket.socket, Address, Callable[[], None]]:
    """Bind and listen (on `port`, 0: any free one); return the socket, its address and a
    cleanup for any files made."""
    if scheme in UNIX_SCHEMES:
        made_dir = None
        if socket_path is None:
            made_dir = tempfile.mkdtemp(prefix="tb-", dir="/tmp" if os.path.isdir("/tmp") else None)
            socket_path = os.path.join(made_dir, "s.sock")
        path = socket_path
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
            listener.listen(64)
        except OSError:
            listener.close()
            raise

        def cleanup() -> None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            if made_dir is not None:
                shutil.rmtree(made_dir, ignore_errors=True)

        return listener, path, cleanup
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        if port:  # several addresses, one port (DNS discovery): a port just freed is fine
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(64)
    except OSError:
        listener.close()
        raise
    return listener, (host, listener.getsockname()[1]), lambda: None


def url_of(scheme: str, address: Address, query: dict[str, str], path: str = "") -> str:
    """The URL of a loopback server, in the form thrift_bridge.parse_url reads."""
    suffix = f"?{urlencode(query)}" if query else ""
    if isinstance(address, str):
        return f"{scheme}://{quote(address, safe='/.~-_')}{suffix}"
    host, port = address
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{path}{suffix}"
