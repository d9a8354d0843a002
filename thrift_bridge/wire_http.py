"""Thrift over HTTP POST with keep-alive, status and content-type checks, and a size cap.

Apache's `THttpClient` reconnects for every call, ignores the status code and is not a
`CReadableTransport` (so the C codec silently falls back to pure Python); this one fixes all three.
"""

from __future__ import annotations

import base64
import http.client
import math
import socket
import time
from io import BytesIO
from typing import TYPE_CHECKING

from .exceptions import HTTPError, ProtocolError
from .wire import READ_SIZE, DeadlineReads, SocketIO, StackTransport

if TYPE_CHECKING:
    from collections.abc import Callable

    from .endpoint import Endpoint

__all__ = ["DeadlineSocket", "HttpTransport"]

_THRIFT_CONTENT_TYPES = ("application/x-thrift", "application/vnd.apache.thrift")
_SNIPPET = 200


def _user_agent() -> str:
    """The User-Agent sent with every request."""
    from ._version import __version__

    return f"thrift-bridge/{__version__}"


class DeadlineSocket(DeadlineReads, socket.socket):
    """A TCP socket whose reads honour a per-call deadline (the TLS one: `deadline_ssl_socket`)."""


class _Connection(http.client.HTTPConnection):
    """An `HTTPConnection` whose sockets come from our connect function (TLS, NODELAY, timeouts)."""

    def __init__(self, host: str, port: int, connect: Callable[[], socket.socket]):
        super().__init__(host, port)
        self._connect = connect

    def connect(self) -> None:
        self.sock = self._connect()


class _HttpIO:
    """Per-call bookkeeping for HTTP, shaped like `SocketIO` for `StackTransport`."""

    __slots__ = ("conn", "deadline", "sent", "timeout")

    def __init__(self, conn: _Connection, timeout: float):
        self.conn = conn
        self.timeout = timeout
        self.deadline = math.inf
        self.sent = False

    def begin_call(self) -> None:
        self.deadline = time.monotonic() + self.timeout
        self.sent = False

    def is_usable(self) -> bool:
        sock = self.conn.sock
        if sock is not None and not SocketIO(sock, self.timeout).is_usable():
            self.conn.close()  # the server closed its keep-alive socket; reopen on the next call
        return True

    def fileno(self) -> int:
        return 0 if self.conn is not None else -1

    def close(self) -> None:
        self.conn.close()


class HttpTransport(StackTransport):
    """POST each request to the endpoint's path and buffer the reply for the protocol."""

    def __init__(self, endpoint: Endpoint, connect: Callable[[], socket.socket]):
        self.endpoint = endpoint
        self._conn = _Connection(endpoint.host, endpoint.port, connect)
        self.io = _HttpIO(self._conn, endpoint.timeout)
        self._conn.connect()
        self._headers = {
            "Content-Type": "application/x-thrift",
            "Accept": "application/x-thrift",
            "User-Agent": _user_agent(),
        }
        if endpoint.username is not None:
            token = f"{endpoint.username}:{endpoint.password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        if endpoint.bearer_token is not None:
            self._headers["Authorization"] = f"Bearer {endpoint.bearer_token}"
        self._headers.update(endpoint.headers)
        self._rbuf = BytesIO(b"")
        self._wbuf = bytearray()

    def read(self, sz: int) -> bytes:
        return self._rbuf.read(sz)

    def readAll(self, sz: int) -> bytes:  # noqa: N802 - Apache's name
        data = self._rbuf.read(sz)
        if len(data) < sz:
            raise ProtocolError(f"the HTTP reply ended after {len(data)} of {sz} expected bytes")
        return data

    def write(self, buf: bytes) -> None:
        self._wbuf += buf

    def flush(self) -> None:
        body = bytes(self._wbuf)
        self._wbuf = bytearray()
        sock = self._conn.sock
        if isinstance(sock, socket.socket):
            sock.settimeout(self.endpoint.timeout)  # undo the previous call's shortening
        self._conn.request("POST", self.endpoint.path, body, self._headers)
        self.io.sent = True
        sock = self._conn.sock
        if isinstance(sock, DeadlineReads):
            sock.deadline = self.io.deadline
        response = self._conn.getresponse()
        if not 200 <= response.status < 300:
            snippet = response.read(_SNIPPET)
            response.close()
            self._conn.close()
            raise HTTPError(
                f"HTTP {response.status} {response.reason}: {snippet[:_SNIPPET]!r}",
                status=response.status,
                body=snippet,
            )
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in _THRIFT_CONTENT_TYPES:
            snippet = response.read(_SNIPPET)
            response.close()
            self._conn.close()
            raise HTTPError(
                f"HTTP reply has content type {content_type or 'none'!r}, expected "
                f"{' or '.join(_THRIFT_CONTENT_TYPES)}: {snippet!r}",
                status=response.status,
                body=snippet,
            )
        self._rbuf = BytesIO(self._read_body(response))

    def _read_body(self, response: http.client.HTTPResponse) -> bytearray:
        """The whole body, capped at max_message_size and bounded by the call's deadline."""
        limit = self.endpoint.max_message_size
        if response.length is not None and response.length > limit:
            self._conn.close()
            raise ProtocolError(
                f"HTTP reply of {response.length} bytes exceeds max_message_size={limit}"
            )
        body = bytearray()
        while True:
            if time.monotonic() > self.io.deadline:
                response.close()
                self._conn.close()
                raise socket.timeout(f"no complete reply within {self.endpoint.timeout:g}s")
            chunk = response.read(
                READ_SIZE if response.length is None else min(READ_SIZE, response.length)
            )
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                response.close()
                self._conn.close()
                raise ProtocolError(f"HTTP reply exceeds max_message_size={limit} bytes")
        return body

    @property
    def cstringio_buf(self) -> BytesIO:
        return self._rbuf

    def cstringio_refill(self, partialread: bytes, reqlen: int) -> BytesIO:
        raise ProtocolError(f"the HTTP reply ended before the {reqlen} bytes the message needs")
