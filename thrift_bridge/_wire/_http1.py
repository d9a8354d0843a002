"""HTTP/1.1 framing for Thrift over HTTP: a POST's bytes out, its reply read back from a socket.

`http.client` parses every reply's headers through the `email` package and writes a request's
headers and body in two sends; a Thrift call needs one send, a status, three headers and a
sized body. This module does only that, with limits on every part a server controls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from thrift.transport.TTransport import TTransportException

from .._exceptions import ProtocolError
from ._streams import READ_SIZE

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["MAX_HEADERS", "MAX_HEAD_SIZE", "Reply", "read_reply", "request_head"]

MAX_HEAD_SIZE = 65536  #: bytes of status line plus headers
MAX_HEADERS = 100


def request_head(path: str, host: str, headers: Mapping[str, str]) -> bytes:
    """The request line and fixed headers of a POST, up to where Content-Length's value goes."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Accept-Encoding: identity"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")


class Reply:
    """A parsed HTTP reply: status, reason, lower-cased headers, body, and keep-alive."""

    __slots__ = ("body", "headers", "keep_alive", "reason", "status")

    def __init__(
        self, status: int, reason: str, headers: dict[str, str], body: bytes, keep_alive: bool
    ):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


class _Reader:
    """Bytes from `recv` (b"" at end of stream), handed out as lines and exact lengths."""

    __slots__ = ("buf", "pos", "recv")

    def __init__(self, recv: Callable[[int], bytes]):
        self.recv = recv
        self.buf = bytearray()
        self.pos = 0

    def _more(self) -> bool:
        """Receive more bytes; False at end of stream."""
        data = self.recv(READ_SIZE)
        if not data:
            return False
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += data
        return True

    def _until(self, mark: bytes, limit: int, what: str) -> bytes:
        """The bytes before the next `mark` (consumed with it); at most `limit` of them."""
        scan = self.pos
        while True:
            end = self.buf.find(mark, scan)
            if end >= 0 and end - self.pos <= limit:
                data = bytes(self.buf[self.pos : end])
                self.pos = end + len(mark)
                return data
            if end >= 0 or len(self.buf) - self.pos > limit:
                raise ProtocolError(f"HTTP {what} exceeds {limit} bytes")
            scan = max(self.pos, len(self.buf) - len(mark) + 1)  # never rescan what was searched
            before = self.pos
            if not self._more():
                raise _closed(len(self.buf) - self.pos, what)
            scan -= before - self.pos  # the buffer may have shifted left

    def head(self) -> bytes:
        """Everything up to the blank line ending a header section (which is consumed)."""
        return self._until(b"\r\n\r\n", MAX_HEAD_SIZE, "reply header section")

    def line(self) -> bytes:
        """One CRLF-terminated line (of a chunked body), without its CRLF."""
        return self._until(b"\r\n", 1024, "chunk line")

    def exactly(self, n: int) -> bytes:
        """The next `n` bytes."""
        while len(self.buf) - self.pos < n:
            if n - (len(self.buf) - self.pos) > READ_SIZE:
                return self._large(n)
            if not self._more():
                raise _closed(len(self.buf) - self.pos, f"a body of {n} bytes")
        data = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        return data

    def _large(self, n: int) -> bytes:
        """The next `n` bytes when most are still to come: received in pieces, joined once."""
        parts = [bytes(self.buf[self.pos :])]
        got = len(parts[0])
        del self.buf[:]
        self.pos = 0
        while got < n:
            data = self.recv(min(n - got, 1 << 20))
            if not data:
                raise _closed(got, f"a body of {n} bytes")
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def rest(self, limit: int) -> bytes:
        """Everything until end of stream, at most `limit` bytes."""
        while len(self.buf) - self.pos <= limit:
            if not self._more():
                data = bytes(self.buf[self.pos :])
                self.pos = len(self.buf)
                return data
        raise ProtocolError(f"HTTP reply exceeds max_message_size={limit} bytes")


def _closed(got: int, what: str) -> TTransportException:
    """The error for a server that closed the connection part-way through a reply."""
    return TTransportException(
        TTransportException.END_OF_FILE,
        f"the server closed the connection after {got} bytes of {what}",
    )


def _parse_head(head: bytes) -> tuple[str, int, str, dict[str, str]]:
    """(version, status, reason, headers) of a reply's header section."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if version not in ("HTTP/1.1", "HTTP/1.0") or not (code.isdigit() and len(code) == 3):
        raise ProtocolError(f"not an HTTP/1.x reply: {lines[0][:80]!r}")
    if len(lines) - 1 > MAX_HEADERS:
        raise ProtocolError(f"HTTP reply has more than {MAX_HEADERS} headers")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ProtocolError(f"malformed HTTP header line {line[:80]!r}")
        name = name.lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return version, int(code), reason, headers


def _chunked(reader: _Reader, limit: int) -> bytes:
    """A chunked body, its trailers skipped; at most `limit` bytes."""
    body = bytearray()  # one buffer: a million one-byte chunks cost a megabyte, not millions
    while True:
        size_text = reader.line().split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"malformed HTTP chunk size {size_text[:20]!r}") from None
        if size < 0 or len(body) + size > limit:
            raise ProtocolError(f"HTTP reply exceeds max_message_size={limit} bytes")
        if size == 0:
            for _ in range(MAX_HEADERS + 1):
                if not reader.line():  # trailers end with an empty line
                    return bytes(body)
            raise ProtocolError(f"HTTP reply has more than {MAX_HEADERS} trailers")
        body += reader.exactly(size)
        if reader.exactly(2) != b"\r\n":
            raise ProtocolError("HTTP chunk not followed by CRLF")


def read_reply(recv: Callable[[int], bytes], limit: int) -> Reply:
    """Read one reply (skipping 1xx interim ones); its body is at most `limit` bytes.

    `recv(n)` returns up to `n` bytes, or b"" once the server has closed the connection.
    """
    reader = _Reader(recv)
    for _ in range(MAX_HEADERS):
        version, status, reason, headers = _parse_head(reader.head())
        if status >= 200 or status == 101:
            break
    else:
        raise ProtocolError(f"more than {MAX_HEADERS} interim HTTP replies")
    connection = headers.get("connection", "").lower()
    # HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to keep it.
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _chunked(reader, limit)
    elif "content-length" in headers:
        raw = headers["content-length"]
        if not (raw.isascii() and raw.isdigit()):
            raise ProtocolError(f"malformed HTTP Content-Length {raw[:20]!r}")
        length = int(raw)
        if length > limit:
            raise ProtocolError(
                f"HTTP reply of {length} bytes exceeds max_message_size={limit} bytes"
            )
        body = reader.exactly(length)
    elif status in (101, 204, 304):
        body = b""
    else:
        body = reader.rest(limit)  # delimited by the end of the connection
        keep_alive = False
    if reader.pos < len(reader.buf):
        keep_alive = False  # bytes after the reply: this connection is out of step
    return Reply(status, reason.strip(), headers, body, keep_alive)
