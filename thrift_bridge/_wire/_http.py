"""Thrift over HTTP POST with keep-alive, status and content-type checks, and a size cap.

Apache's `THttpClient` reconnects for every call, ignores the status code and is not a
`CReadableTransport` (so the C codec silently falls back to pure Python); this one fixes all
three. The exchange itself is `http1`'s: one send per request, the reply read through a
`SocketIO`, so the call's deadline bounds every read however slowly bytes trickle in.
"""

from __future__ import annotations

import time
from io import BytesIO
from typing import TYPE_CHECKING

from .._exceptions import HTTPError, ProtocolError, Timeout, TransportError
from .._hints import HEAD_SIZE, add_hint, no_reply_hint
from .._http1 import (
    Reply,
    budget_line,
    post_head,
    read_reply,
    scrubbed,
    thrift_body,
    with_header_lines,
)
from ._socket import SocketIO
from ._streams import StackTransport

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from .._endpoint import Endpoint

__all__ = ["HttpTransport"]


class _HttpIO:
    """The keep-alive socket of an HTTP endpoint, reopened after the server closed it."""

    __slots__ = ("_connect", "_io", "_timeout", "got", "limit", "sent", "started", "timeout")

    def __init__(self, connect: Callable[[], socket.socket], timeout: float, limit: int):
        self._connect = connect
        self.timeout = timeout
        self.limit = limit
        self.sent = self.started = False
        self.got = 0  # bytes of the reply received before the exchange failed
        self._timeout: float | None = None  # the current call's (None: the endpoint's)
        self._io: SocketIO | None = None

    def open(self) -> None:
        """Connect now (once at construction, and again after a server closed the socket)."""
        self._io = SocketIO(self._connect(), self.timeout, 2**62)  # http1 bounds each part

    def begin_call(self, timeout: float | None = None) -> None:
        self.sent = self.started = False
        self._timeout = timeout
        if self._io is not None:
            self._io.begin_call(timeout)

    def exchange(self, head: bytes, body: bytes, *more: bytes) -> Reply:
        """Send one request and read its reply; the socket is closed unless kept alive."""
        if self._io is None:
            self.open()
            assert self._io is not None
            self._io.begin_call(self._timeout)
        self.started = True
        self._io.send_parts(head, body, *more)
        self.sent = True
        try:
            reply = read_reply(self._recv, self.limit)
        except BaseException:
            self.got = self._io.received
            self.close()
            raise
        if not reply.keep_alive:
            self.close()
        return reply

    def _recv(self, n: int) -> bytes:
        """Up to `n` bytes within the call's deadline; b"" once the server has closed."""
        assert self._io is not None
        return self._io.recv_or_eof(n)

    def is_usable(self) -> bool:
        if self._io is not None and not self._io.is_usable():
            self.close()  # the server closed its keep-alive socket; reopen on the next call
        return True

    def fileno(self) -> int:
        return 0

    def close(self) -> None:
        if self._io is not None:
            self._io.close()
            self._io = None


class HttpTransport(StackTransport):
    """POST each request to the endpoint's path and buffer the reply for the protocol."""

    def __init__(self, endpoint: Endpoint, connect: Callable[[], socket.socket]):
        self.endpoint = endpoint
        self.io = _HttpIO(connect, endpoint.timeout, endpoint.max_message_size)
        self.io.open()
        self._head = post_head(endpoint)
        #: Extra header lines for the next request only (`Connection.carry_headers`).
        self.call_headers = b""
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
        self.send_message(b"", body)

    def send_message(self, head: bytes, body: bytes, *more: bytes) -> None:
        """POST one message made of `head`, `body` and `more` (large parts uncopied) and
        buffer its reply."""
        size = len(head) + len(body) + sum(map(len, more))
        http_head = self._head
        extra = self.call_headers + budget_line(time.monotonic())
        if extra:
            http_head = with_header_lines(http_head, extra)
            self.call_headers = b""
        try:
            reply = self.io.exchange(http_head + b"%d\r\n\r\n" % size + head, body, *more)
            self._rbuf = BytesIO(thrift_body(reply, self.endpoint))
        except TransportError as exc:
            self.io.close()  # not a Thrift reply: this connection goes
            self._rbuf = BytesIO(b"")
            if self.io.got == 0 and self.io.sent and not isinstance(exc, (HTTPError, Timeout)):
                add_hint(exc, no_reply_hint(self.endpoint))
            if isinstance(exc, (ProtocolError, HTTPError)):  # they may quote the server
                raise scrubbed(exc, self.endpoint) from None
            raise

    def clear_request(self) -> None:
        """Drop a request that failed while being coded, and its extra headers."""
        self._wbuf = bytearray()
        self.call_headers = b""

    @property
    def cstringio_buf(self) -> BytesIO:
        return self._rbuf

    def reply_head(self) -> bytes:
        return self._rbuf.getvalue()[:HEAD_SIZE]  # the reply's body: a Thrift message

    def cstringio_refill(self, partialread: bytes, reqlen: int) -> BytesIO:
        raise ProtocolError(f"the HTTP reply ended before the {reqlen} bytes the message needs")
