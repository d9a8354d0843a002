"""HTTP/1.1 for Thrift over HTTP, without I/O: a POST's bytes out, its reply parsed as they come.

`http.client` parses every reply's headers through the `email` package and writes a request's
headers and body in two sends; a Thrift call needs one send, a status, three headers and a
sized body. This module does only that, with limits on every part a server controls, and no
sockets: `ReplyParser` is fed whatever arrives (the sync transport's recv, the async
protocol's reads) and hands out the reply once it is complete (h11's shape).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from ._deadline import BUDGET_HEADER, outgoing_budget
from ._exceptions import HTTPError, ProtocolError, TransportError
from ._hints import HEAD_SIZE, add_hint, not_http_hint
from ._secrets import scrub

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ._endpoint import Endpoint

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_SIZE",
    "Reply",
    "ReplyParser",
    "budget_line",
    "header_lines",
    "post_head",
    "read_reply",
    "request_head",
    "scrubbed",
    "thrift_body",
    "with_header_lines",
]

MAX_HEAD_SIZE = 65536  #: bytes of status line plus headers
MAX_HEADERS = 100
_READ_SIZE = 65536
_THRIFT_CONTENT_TYPES = ("application/x-thrift", "application/vnd.apache.thrift")
_SNIPPET = 200
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTENT_LENGTH = b"Content-Length: "

# A parsing step: yields when it needs more bytes, returns its result.
_Step = Generator[None, None, "bytes"]


def request_head(path: str, host: str, headers: Mapping[str, str]) -> bytes:
    """The request line and fixed headers of a POST, up to where Content-Length's value goes."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Accept-Encoding: identity"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1") + _CONTENT_LENGTH


def header_lines(headers: Mapping[str, str]) -> bytes:
    """Extra request header lines (each ending in CRLF) to put before Content-Length.

    A name or value that would break the request (CR, LF, a colon in the name, not Latin-1)
    is left out: these are trace-context headers, never worth a failed call.
    """
    lines = []
    for name, value in headers.items():
        line = f"{name}: {value}\r\n"
        if ":" in name or "\r" in line[:-2] or "\n" in line[:-2] or not name:
            continue
        try:
            lines.append(line.encode("latin-1"))
        except UnicodeEncodeError:
            continue
    return b"".join(lines)


def budget_line(now: float) -> bytes:
    """The ``Deadline-Budget`` header line of a request sent at `now`: what the deadline in
    force leaves, as over THeader (b"" without one)."""
    budget = outgoing_budget(now)
    return b"" if budget is None else b"%s: %s\r\n" % (BUDGET_HEADER.encode(), budget.encode())


def with_header_lines(head: bytes, lines: bytes) -> bytes:
    """A request head from `post_head` with extra header `lines` (from `header_lines`)."""
    cut = len(head) - len(_CONTENT_LENGTH)
    return head[:cut] + lines + head[cut:]


def post_head(endpoint: Endpoint) -> bytes:
    """The POST request head of every call to `endpoint`, up to Content-Length's value."""
    import base64

    from ._version import __version__

    headers = {
        "Content-Type": "application/x-thrift",
        "Accept": "application/x-thrift",
        "User-Agent": f"thrift-bridge/{__version__}",
    }
    if endpoint.username is not None:
        token = f"{endpoint.username}:{endpoint.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    if endpoint.bearer_token is not None:
        headers["Authorization"] = f"Bearer {endpoint.bearer_token}"
    headers.update(endpoint.headers)
    # The Host header: the name (IPv6 in brackets), with the port unless it is the default.
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    if endpoint.port != _DEFAULT_PORTS.get(endpoint.scheme):
        host = f"{host}:{endpoint.port}"
    return request_head(endpoint.path, host, headers)


def thrift_body(reply: Reply, endpoint: Endpoint) -> bytes:
    """The Thrift message a reply carries; `HTTPError` for a bad status or content type.

    A server may echo the request (its path, its credentials) in an error page: every secret
    of `endpoint` is replaced by '***' in the error's message and body.
    """
    if not 200 <= reply.status < 300:
        message = f"HTTP {reply.status} {reply.reason}"
    else:
        content_type = reply.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type in _THRIFT_CONTENT_TYPES:
            return reply.body
        message = (
            f"HTTP reply has content type {content_type or 'none'!r}, expected "
            f"{' or '.join(_THRIFT_CONTENT_TYPES)}"
        )
    secrets = endpoint.secrets
    snippet = reply.body[:_SNIPPET]
    for secret in secrets:
        snippet = snippet.replace(secret.encode("utf-8"), b"***")
    return_error = HTTPError(
        scrub(f"{message}: {snippet!r}", secrets), status=reply.status, body=snippet
    )
    raise return_error


def scrubbed(error: TransportError, endpoint: Endpoint) -> TransportError:
    """`error` with `endpoint`'s secrets taken out of its message (it may quote the server)."""
    error.message = scrub(error.message, endpoint.secrets)
    error.args = (error.message,)
    return error


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


def _closed(got: int, what: str) -> TransportError:
    """The error for a server that closed the connection part-way through a reply."""
    return TransportError(f"the server closed the connection after {got} bytes of {what}")


class ReplyParser:
    """One HTTP reply, parsed from the bytes fed to it (skipping 1xx interim replies).

    `feed(data)` what arrives, `feed_eof()` when the server closes, then `reply()`: the
    reply once complete, else None. The body is at most `limit` bytes. Bytes past the reply
    mean the connection is out of step: the reply says not to keep it alive.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        self._steps = self._parse()
        self._done: Reply | None = None

    @property
    def started(self) -> bool:
        """Whether any byte of the reply has arrived."""
        return bool(self._buf) or self._pos > 0

    def feed(self, data: bytes) -> None:
        """Take the next bytes the server sent."""
        if self._pos > 65536:  # drop what was parsed, now and then, not on every feed
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def feed_eof(self) -> None:
        """The server closed the connection."""
        self._eof = True

    def reply(self) -> Reply | None:
        """The reply, once every byte of it has arrived; raises on a malformed one."""
        if self._done is None:
            try:
                next(self._steps)
            except StopIteration as stop:
                self._done = stop.value
        return self._done

    def _wait(self, have: int, what: str) -> Generator[None, None, None]:
        """Yield until more than `have` unparsed bytes are buffered (or raise at end of stream)."""
        while len(self._buf) - self._pos <= have:
            if self._eof:
                error = _closed(len(self._buf) - self._pos, what)
                if not self._pos:  # no reply parsed yet: what did the server say instead?
                    add_hint(error, not_http_hint(bytes(self._buf[:HEAD_SIZE])))
                raise error
            yield

    def _until(self, mark: bytes, limit: int, what: str) -> _Step:
        """The bytes before the next `mark` (consumed with it); at most `limit` of them."""
        scan = self._pos
        while True:
            end = self._buf.find(mark, scan)
            if end >= 0 and end - self._pos <= limit:
                data = bytes(self._buf[self._pos : end])
                self._pos = end + len(mark)
                return data
            if end >= 0 or len(self._buf) - self._pos > limit:
                raise ProtocolError(f"HTTP {what} exceeds {limit} bytes")
            # Never rescan what was searched (a mark may straddle the next feed).
            scan = max(self._pos, len(self._buf) - len(mark) + 1) - self._pos
            yield from self._wait(len(self._buf) - self._pos, what)
            scan += self._pos

    def _exactly(self, n: int, what: str) -> _Step:
        """The next `n` bytes."""
        yield from self._wait(n - 1, what)
        data = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        return data

    def _rest(self) -> _Step:
        """Everything until end of stream, at most `limit` bytes."""
        while not self._eof:
            if len(self._buf) - self._pos > self.limit:
                raise ProtocolError(f"HTTP reply exceeds max_message_size={self.limit} bytes")
            yield
        data = bytes(self._buf[self._pos :])
        if len(data) > self.limit:
            raise ProtocolError(f"HTTP reply exceeds max_message_size={self.limit} bytes")
        self._pos = len(self._buf)
        return data

    def _chunked(self) -> _Step:
        """A chunked body, its trailers skipped; at most `limit` bytes."""
        body = bytearray()  # one buffer: a million one-byte chunks cost a megabyte, not millions
        while True:
            line = yield from self._until(b"\r\n", 1024, "chunk line")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError(f"malformed HTTP chunk size {size_text[:20]!r}") from None
            if size < 0 or len(body) + size > self.limit:
                raise ProtocolError(f"HTTP reply exceeds max_message_size={self.limit} bytes")
            if size == 0:
                for _ in range(MAX_HEADERS + 1):
                    trailer = yield from self._until(b"\r\n", 1024, "chunk line")
                    if not trailer:  # trailers end with an empty line
                        return bytes(body)
                raise ProtocolError(f"HTTP reply has more than {MAX_HEADERS} trailers")
            body += yield from self._exactly(size, f"a chunk of {size} bytes")
            if (yield from self._exactly(2, "a chunk's end")) != b"\r\n":
                raise ProtocolError("HTTP chunk not followed by CRLF")

    def _parse(self) -> Generator[None, None, Reply]:
        """The whole reply, yielding whenever it needs more bytes."""
        for _ in range(MAX_HEADERS):
            head = yield from self._until(b"\r\n\r\n", MAX_HEAD_SIZE, "reply header section")
            version, status, reason, headers = _parse_head(head)
            if status >= 200 or status == 101:
                break
        else:
            raise ProtocolError(f"more than {MAX_HEADERS} interim HTTP replies")
        connection = headers.get("connection", "").lower()
        # HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to.
        keep_alive = (
            "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        )
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = yield from self._chunked()
        elif "content-length" in headers:
            raw = headers["content-length"]
            if not (raw.isascii() and raw.isdigit()):
                raise ProtocolError(f"malformed HTTP Content-Length {raw[:20]!r}")
            length = int(raw)
            if length > self.limit:
                raise ProtocolError(
                    f"HTTP reply of {length} bytes exceeds max_message_size={self.limit} bytes"
                )
            body = yield from self._exactly(length, f"a body of {length} bytes")
        elif status in (101, 204, 304):
            body = b""
        else:
            body = yield from self._rest()  # delimited by the end of the connection
            keep_alive = False
        if self._pos < len(self._buf):
            keep_alive = False  # bytes after the reply: this connection is out of step
        return Reply(status, reason.strip(), headers, body, keep_alive)


def _parse_head(head: bytes) -> tuple[str, int, str, dict[str, str]]:
    """(version, status, reason, headers) of a reply's header section."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if version not in ("HTTP/1.1", "HTTP/1.0") or not (code.isdigit() and len(code) == 3):
        error = ProtocolError(f"not an HTTP/1.x reply: {lines[0][:80]!r}")
        raise add_hint(error, not_http_hint(head[:HEAD_SIZE]))
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


def read_reply(recv: Callable[[int], bytes], limit: int) -> Reply:
    """Read one reply with `recv(n)` (up to `n` bytes, b"" once the server has closed)."""
    parser = ReplyParser(limit)
    while True:
        reply = parser.reply()
        if reply is not None:
            return reply
        data = recv(_READ_SIZE)
        if data:
            parser.feed(data)
        else:
            parser.feed_eof()
