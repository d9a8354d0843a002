"""Loopback Thrift servers for demos and tests: real sockets on 127.0.0.1 or a unix socket.

Usage::

    with serve(CustomerService.Processor(handler), transport="framed") as server:
        client = Client(CustomerService.Client, server.url)

``serve_raw`` runs a scripted, misbehaving server instead: it hands every accepted socket to
a function of yours (garbage bytes, stalls, early close, half frames).
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import selectors
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Literal, Union
from urllib.parse import quote, urlencode

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
from thrift.Thrift import TApplicationException, TMessageType, TType
from thrift.transport.THeaderTransport import THeaderSubprotocolID
from thrift.transport.TSocket import TSocket
from thrift.transport.TTransport import (
    DEFAULT_MAX_FRAME_SIZE,
    TBufferedTransport,
    TFramedTransport,
    TMemoryBuffer,
)
from thrift.transport.TZlibTransport import TZlibTransport

if TYPE_CHECKING:
    import ssl

__all__ = [
    "Address",
    "ConnectionHandler",
    "HeaderCheckingProcessor",
    "LoopbackServer",
    "serve",
    "serve_raw",
]

logger = logging.getLogger(__name__)

SchemeName = Literal["tcp", "tcps", "unix", "unixs", "http", "https"]
TransportName = Literal["buffered", "framed", "zlib", "header"]
ProtocolName = Literal["binary", "compact", "json", "header"]
Address = Union[tuple[str, int], str]
ConnectionHandler = Callable[[socket.socket], None]

_TLS_SCHEMES = frozenset({"tcps", "unixs", "https"})
_UNIX_SCHEMES = frozenset({"unix", "unixs"})
_HTTP_SCHEMES = frozenset({"http", "https"})
_TRANSPORTS = ("buffered", "framed", "zlib", "header")
_PROTOCOLS = ("binary", "compact", "json", "header")
_HTTP_PATH = "/thrift"
#: Seconds close() waits for each thread before giving up on it.
_JOIN_TIMEOUT = 5.0


def _protocol_factory(protocol: str, *, accelerated: bool = True) -> Any:
    """The Apache protocol factory for a protocol name (accelerated where Apache has one)."""
    if protocol == "binary":
        return TBinaryProtocolAcceleratedFactory() if accelerated else TBinaryProtocolFactory()
    if protocol == "compact":
        if accelerated:
            return TCompactProtocolAcceleratedFactory()
        return TCompactProtocolFactory()
    return TJSONProtocolFactory()


def _shutdown_quietly(sock: socket.socket) -> None:
    """Shut a socket down for both directions, waking any thread blocked on it."""
    # socket.socket.shutdown skips SSLSocket's override, which would drop the TLS object
    # under a thread that is still reading from it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Connections:
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
            thread.join(_JOIN_TIMEOUT)
        with self._lock:
            leftovers = list(self._sockets)
            self._sockets.clear()
        for sock in leftovers:  # only threads that ignored the shutdown leave any
            sock.close()


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


class _SocketServer:
    """An accept loop on a listening socket, woken for shutdown through a socket pair."""

    def __init__(self, listener: socket.socket, connections: _Connections, work: ConnectionHandler):
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
        self._thread.join(_JOIN_TIMEOUT)
        self._selector.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()


class _ThriftHTTPHandler(http.server.BaseHTTPRequestHandler):
    """THttpServer's request handling (POST body in, reply out) with HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK wait
    server: _HTTPServer

    def do_POST(self) -> None:
        """Run one Thrift call carried by the request body."""
        if self.path.split("?", 1)[0] != _HTTP_PATH:
            self._send_empty(404)
            return
        raw_length = self.headers.get("Content-Length")
        if raw_length is None or not raw_length.strip().isdigit():
            self._send_empty(411 if raw_length is None else 400)
            return
        length = int(raw_length)
        if length > DEFAULT_MAX_FRAME_SIZE:  # THttpServer's default max_body_size
            self._send_empty(413)
            return
        body = self.rfile.read(length)
        factory = self.server.protocol_factory
        oneway = self._is_oneway(factory, body)
        if oneway:
            # Like THttpServer: answer a oneway call at once, before running the handler.
            self._send_reply(b"")
        out = TMemoryBuffer()
        try:
            self.server.processor.process(
                factory.getProtocol(TMemoryBuffer(body)), factory.getProtocol(out)
            )
        except Exception as exc:
            # THttpServer lets the error escape, so the client sees the connection close
            # with no response; we do the same, without the traceback on stderr.
            logger.debug("loopback http request failed: %r", exc)
            self.close_connection = True
            return
        if not oneway:
            self._send_reply(out.getvalue())

    @staticmethod
    def _is_oneway(factory: Any, body: bytes) -> bool:
        """Whether the request is a oneway call (decoded from its own copy of the body)."""
        # THttpServer learns this through processor.on_message_begin, a callback stored on
        # the shared processor: not thread-safe, so we peek at the message header instead.
        try:
            _, message_type, _ = factory.getProtocol(TMemoryBuffer(body)).readMessageBegin()
        except Exception:
            return False
        return bool(message_type == TMessageType.ONEWAY)

    def _send_reply(self, data: bytes) -> None:
        """Send a 200 reply with a Thrift body (always with Content-Length, for keep-alive)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/x-thrift")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_empty(self, status: int) -> None:
        """Send a bodiless error status and keep the connection usable."""
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Send access logs to the module logger instead of stderr."""
        logger.debug("loopback http: " + format, *args)


class _HTTPServer(http.server.ThreadingHTTPServer):
    """A ThreadingHTTPServer whose connection threads are tracked and ended by close()."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        processor: Any,
        protocol_factory: Any,
        connections: _Connections,
    ) -> None:
        self.address_family = family
        self.processor = processor
        self.protocol_factory = protocol_factory
        self.connections = connections
        super().__init__(address, _ThriftHTTPHandler)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loopback-http", daemon=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Handle the connection in a tracked thread (with its TLS handshake, if any)."""

        def work(sock: socket.socket) -> None:
            self.finish_request(sock, client_address)

        self.connections.start(request, work)

    def start(self) -> None:
        """Start serving and wait until the loop runs."""
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        """Thread body: serve until close()."""
        self._ready.set()
        self.serve_forever(poll_interval=0.05)

    def close(self) -> None:
        """Stop the serve loop and release the listening socket."""
        self.shutdown()
        self._thread.join(_JOIN_TIMEOUT)
        self.server_close()


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
        backend: _SocketServer | _HTTPServer,
        connections: _Connections,
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
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(
            f"unknown {name} {value!r} (expected one of: {', '.join(sorted(allowed))})"
        )


def _check_tls(scheme: str, ssl_context: ssl.SSLContext | None) -> None:
    """Require a server SSLContext exactly for the TLS schemes."""
    if scheme in _TLS_SCHEMES and ssl_context is None:
        raise ValueError(f"scheme {scheme!r} needs ssl_context (a server-side ssl.SSLContext)")
    if scheme not in _TLS_SCHEMES and ssl_context is not None:
        raise ValueError(f"ssl_context given but scheme {scheme!r} is not a TLS scheme")


def _listen(
    scheme: str, host: str, socket_path: str | None
) -> tuple[socket.socket, Address, Callable[[], None]]:
    """Bind and listen; return the socket, its address and a cleanup for any files made."""
    if scheme in _UNIX_SCHEMES:
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
        listener.bind((host, 0))
        listener.listen(64)
    except OSError:
        listener.close()
        raise
    return listener, (host, listener.getsockname()[1]), lambda: None


def _url(scheme: str, address: Address, query: dict[str, str], path: str = "") -> str:
    """The URL of a loopback server, in the form thrift_bridge.parse_url reads."""
    suffix = f"?{urlencode(query)}" if query else ""
    if isinstance(address, str):
        return f"{scheme}://{quote(address, safe='/.~-_')}{suffix}"
    host, port = address
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{path}{suffix}"


def serve(
    processor: Any,
    *,
    scheme: SchemeName = "tcp",
    transport: TransportName = "buffered",
    protocol: ProtocolName = "binary",
    header_protocol: Literal["binary", "compact"] = "binary",
    ssl_context: ssl.SSLContext | None = None,
    socket_path: str | None = None,
    host: str = "127.0.0.1",
) -> LoopbackServer:
    """Serve a Thrift processor on loopback, ready to accept when this returns.

    ``transport="header"`` ignores ``protocol``: Apache's header server answers in whatever
    subprotocol the client used; ``header_protocol`` only goes into ``.url``.
    ``protocol="header"`` runs THeaderProtocol over the buffered, framed or zlib transport,
    as Apache's cross-language test servers do.
    """
    _check("scheme", scheme, ("tcp", "tcps", "unix", "unixs", "http", "https"))
    _check("transport", transport, _TRANSPORTS)
    _check("protocol", protocol, _PROTOCOLS)
    _check("header_protocol", header_protocol, ("binary", "compact"))
    _check_tls(scheme, ssl_context)
    if scheme in _HTTP_SCHEMES and transport != "buffered":
        raise ValueError(f"transport {transport!r} does not apply to {scheme} (HTTP frames calls)")
    if socket_path is not None and scheme not in _UNIX_SCHEMES:
        raise ValueError(f"socket_path applies only to unix and unixs, not {scheme!r}")

    if protocol == "header" and transport == "header":
        raise ValueError("use transport='header' or protocol='header', not both")
    if protocol == "header" and scheme in _HTTP_SCHEMES:
        raise ValueError(f"protocol 'header' does not apply to {scheme}")
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

    connections = _Connections(ssl_context)
    backend: _SocketServer | _HTTPServer
    if scheme in _HTTP_SCHEMES:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        backend = _HTTPServer(
            (host, 0), family, processor, _protocol_factory(protocol), connections
        )
        address: Address = (host, backend.server_address[1])
        url = _url(scheme, address, query, _HTTP_PATH)
        cleanup: Callable[[], None] = lambda: None  # noqa: E731
    else:
        listener, address, cleanup = _listen(scheme, host, socket_path)
        work = _thrift_worker(processor, transport, protocol, header_protocol)
        backend = _SocketServer(listener, connections, work)
        url = _url(scheme, address, query)
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
    if socket_path is not None and scheme not in _UNIX_SCHEMES:
        raise ValueError(f"socket_path applies only to unix and unixs, not {scheme!r}")
    listener, address, cleanup = _listen(scheme, host, socket_path)
    connections = _Connections(ssl_context)
    backend = _SocketServer(listener, connections, handler)
    backend.start()
    return LoopbackServer(_url(scheme, address, {}), address, backend, connections, cleanup)


class HeaderCheckingProcessor:
    """Wrap a processor for THeader servers: check `access_key` and `service_version` headers.

    A request whose `access_key` is not in `access_keys` (when given), or whose
    `service_version` is not in `versions` (when given), is answered with a
    `TApplicationException` naming what was wrong, and the handler never runs (Zask's rule).
    Every reply carries the request's `request_id` header back, plus `served_by`.
    """

    def __init__(
        self,
        processor: Any,
        *,
        access_keys: Collection[str] | None = None,
        versions: Collection[str] | None = None,
        served_by: str = "thrift-bridge-testing",
    ):
        self.processor = processor
        self.access_keys = None if access_keys is None else frozenset(access_keys)
        self.versions = None if versions is None else frozenset(versions)
        self.served_by = served_by
        self.seen: list[dict[str, str]] = []  # the request headers of every call, in order

    def _refusal(self, headers: dict[str, str]) -> str | None:
        """Why the request must be refused, or None."""
        if self.access_keys is not None and headers.get("access_key") not in self.access_keys:
            return f"access denied: unknown access_key {headers.get('access_key')!r}"
        if self.versions is not None and headers.get("service_version") not in self.versions:
            return (
                f"service_version {headers.get('service_version')!r} is not served here "
                f"(served: {', '.join(sorted(self.versions))})"
            )
        return None

    def process(self, iprot: Any, oprot: Any) -> None:
        """Read one request, check its headers, then dispatch it or refuse it."""
        name, mtype, seqid = iprot.readMessageBegin()
        trans = iprot.trans
        headers = {
            k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
            for k, v in trans.get_headers().items()
        }
        self.seen.append(headers)
        handler = self.processor._processMap.get(name)
        refusal = self._refusal(headers)
        if handler is None or refusal is not None:
            iprot.skip(TType.STRUCT)
            iprot.readMessageEnd()
            if mtype == TMessageType.ONEWAY:
                return
            kind = (
                TApplicationException.UNKNOWN_METHOD
                if handler is None
                else (TApplicationException.UNKNOWN)
            )
            error = TApplicationException(kind, refusal or f"unknown method {name!r}")
            oprot.writeMessageBegin(name, TMessageType.EXCEPTION, seqid)
            error.write(oprot)
            oprot.writeMessageEnd()
            oprot.trans.flush()
            return
        if "request_id" in headers:
            oprot.trans.set_header(b"request_id", headers["request_id"].encode())
        oprot.trans.set_header(b"served_by", self.served_by.encode())
        handler(self.processor, seqid, iprot, oprot)
