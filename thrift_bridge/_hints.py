"""What a reply that could not be read says about a mismatched endpoint, from its bytes. No I/O.

A plain TCP client reading an HTTP server's answer reports `Length exceeded max allowed`; a
binary client reading a compact reply, `bad version`. Both clients, once a reply failed, hand
the first bytes they received to `reply_hint`, which recognises HTTP, TLS, the binary,
compact and JSON protocols, and framed, THeader and zlib framing, and says which URL or
option would match what the server speaks. A connection the server closed without a byte of
reply gets `no_reply_hint`: the bytes cannot say why, so it names the usual suspects.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._endpoint import Endpoint
    from ._exceptions import ThriftBridgeError

__all__ = ["HEAD_SIZE", "add_hint", "no_reply_hint", "not_http_hint", "reply_hint"]

#: How many of a reply's first bytes the hints look at.
HEAD_SIZE = 32
_PROTOCOL_NAMES = {"binary": "binary", "compact": "compact", "json": "JSON"}
_FRAMINGS = {
    "buffered": "unframed",
    "framed": "framed",
    "header": "THeader-framed",
    "zlib": "zlib-compressed",
}


def _protocol_at(data: bytes) -> str | None:
    """The protocol of a Thrift message starting at `data[0]`, if it is one."""
    if data[:2] == b"\x80\x01":  # strict binary: version 1
        return "binary"
    if len(data) >= 2 and data[0] == 0x82 and data[1] & 0x1F == 1:  # compact: id, version 1
        return "compact"
    if data[:3] == b"[1,":  # TJSONProtocol: [version, "name", type, seqid, ...]
        return "json"
    return None


def _wire_of(head: bytes) -> tuple[str, str | None] | None:
    """(framing, protocol or None) of the bytes a reply starts with, when they say."""
    protocol = _protocol_at(head)
    if protocol is not None:
        return "buffered", protocol
    if len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0:
        return "zlib", None  # a zlib stream's header: deflate, checksum of the two bytes
    if len(head) >= 6 and struct.unpack_from("!i", head)[0] > 0:
        if head[4:6] == b"\x0f\xff":
            return "header", None
        protocol = _protocol_at(head[4:])
        if protocol is not None:
            return "framed", protocol
    return None


def _expected(endpoint: Endpoint) -> tuple[str | None, str | None]:
    """(framing, protocol) of `endpoint`'s replies as they arrive (None: not told apart)."""
    if endpoint.is_http:
        framing = None  # HTTP frames each reply itself
    elif endpoint.protocol == "header" or endpoint.zlib:
        framing = None  # THeader frames inside frames or zlib: the outer layer is not told
    else:
        framing = endpoint.transport
    protocol = None if "header" in (endpoint.transport, endpoint.protocol) else endpoint.protocol
    return framing, protocol


def reply_hint(head: bytes, endpoint: Endpoint) -> str | None:
    """What the first bytes of a reply that failed say the server speaks, and the URL or
    option that matches it; None when they say nothing, or match `endpoint`."""
    if not endpoint.is_http:
        if head.startswith(b"HTTP/1."):
            status = head.split(b"\r\n", 1)[0].decode("latin-1")
            return f"the server answered in HTTP ({status!r}): use an http:// or https:// URL"
        if head.lstrip()[:1] == b"<":  # an HTTP/0.9 answer: a page without a status line
            page = head.lstrip().split(b"\n", 1)[0][:20].decode("latin-1")
            return f"the server answered a web page ({page!r}...): use an http:// or https:// URL"
    if len(head) >= 3 and head[0] in (0x15, 0x16) and head[1] == 0x03 and not endpoint.tls:
        secure = "https://" if endpoint.is_http else "unixs:" if endpoint.is_unix else "tcps://"
        return f"the server answered in TLS: use the {secure} scheme"
    found = _wire_of(head)
    if found is None:
        return None
    framing, protocol = found
    want_framing, want_protocol = _expected(endpoint)
    options = []
    if want_framing is not None and framing != want_framing:
        options.append(f"transport={framing}")
    if protocol is not None and want_protocol is not None and protocol != want_protocol:
        options.append(f"protocol={protocol}")
    if not options:
        return None
    what = " ".join(
        [_FRAMINGS[framing]] + ([_PROTOCOL_NAMES[protocol]] if protocol is not None else [])
    )
    return f"the server answered {what} Thrift: try {'&'.join(options)}"


def not_http_hint(head: bytes) -> str | None:
    """What the first bytes an HTTP endpoint received say the server speaks instead, if they
    say (TLS, or Thrift straight on the socket)."""
    if len(head) >= 3 and head[0] in (0x15, 0x16) and head[1] == 0x03:
        return "the server answered in TLS, not HTTP: use an https:// URL"
    found = _wire_of(head)
    if found is None:
        return None
    framing, protocol = found
    options = "&".join(
        ([f"transport={framing}"] if framing != "buffered" else [])
        + ([f"protocol={protocol}"] if protocol not in (None, "binary") else [])
    )
    what = " ".join(
        [_FRAMINGS[framing]] + ([_PROTOCOL_NAMES[protocol]] if protocol is not None else [])
    )
    url = "tcp://host:port" + (f"?{options}" if options else "")
    return f"the server answered {what} Thrift, not HTTP: use a URL like {url}"


def no_reply_hint(endpoint: Endpoint) -> str:
    """What may be wrong when the server closed the connection without a byte of reply."""
    if endpoint.is_http:
        secure = "" if endpoint.tls else ", TLS (https://)"
        others = f"Thrift over a plain socket (tcp://){secure}"
    else:
        wire = f"protocol={endpoint.protocol}, transport={endpoint.transport}"
        others = f"another protocol= or transport= than {wire}"
        if not endpoint.tls:
            others = f"TLS ({'unixs:' if endpoint.is_unix else 'tcps://'}), HTTP, or {others}"
    return (
        f"the server closed the connection without replying; if every call fails so, it may "
        f"expect {others}"
    )


def add_hint(error: ThriftBridgeError, hint: str | None) -> ThriftBridgeError:
    """`error` with `hint` leading its message (the original kept after it), once."""
    if hint and not error.message.startswith(hint):
        error.message = f"{hint} ({error.message})"
        error.args = (error.message,)
    return error
