"""A threaded HTTP server running a Thrift processor per POST (THttpServer's rules, keep-alive)."""

from __future__ import annotations

import http.server
import logging
import threading
from typing import TYPE_CHECKING, Any

from thrift.Thrift import TMessageType
from thrift.transport.TTransport import DEFAULT_MAX_FRAME_SIZE, TMemoryBuffer

from .._deadline import budget_from_headers, deadline
from .._hooks import request_headers
from ._sockets import JOIN_TIMEOUT, Connections

if TYPE_CHECKING:
    import socket

__all__ = ["HTTP_PATH", "HTTPServer"]

logger = logging.getLogger("thrift_bridge.testing")

#: The path the server answers on (others get 404).
HTTP_PATH = "/thrift"


class _ThriftHTTPHandler(http.server.BaseHTTPRequestHandler):
    """THttpServer's request handling (POST body in, reply out) with HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms ACK wait
    server: HTTPServer

    def do_POST(self) -> None:
        """Run one Thrift call carried by the request body."""
        if self.path.split("?", 1)[0] != HTTP_PATH:
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
        # The request's headers, for a processor that reads them (TracedProcessor).
        headers = {k.lower(): v for k, v in self.headers.items()}
        token = request_headers.set(headers)
        try:
            # Within the budget the caller sent (Deadline-Budget), as DeadlineProcessor runs
            # THeader requests: the handler's own calls share what is left of it.
            with deadline(budget_from_headers(headers)):
                self.server.processor.process(
                    factory.getProtocol(TMemoryBuffer(body)), factory.getProtocol(out)
                )
        except Exception as exc:
            # THttpServer lets the error escape, so the client sees the connection close
            # with no response; we do the same, without the traceback on stderr.
            logger.debug("loopback http request failed: %r", exc)
            self.close_connection = True
            return
        finally:
            request_headers.reset(token)
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


class HTTPServer(http.server.ThreadingHTTPServer):
    """A ThreadingHTTPServer whose connection threads are tracked and ended by close()."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        processor: Any,
        protocol_factory: Any,
        connections: Connections,
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
        self._thread.join(JOIN_TIMEOUT)
        self.server_close()
