"""The fast path: a generated method's request and reply coded by Apache's C codec directly.

A generated client spends most of a small call in Python: `writeMessageBegin` packs three
fields one write at a time, `readMessageBegin` reads them back one `readAll` at a time, and
`send_*` / `recv_*` add a few more layers. For the binary and compact protocols (with Apache's
C codec) on our buffered and framed transports, a `FastCall` sends a pre-built message header
plus the C-encoded arguments in one write, compares the reply's whole header with the one it
expects in one comparison, and hands the result struct to the C decoder. Anything unexpected
(an exception message, a reply out of step, keyword arguments, a wrong argument count) takes
the generated path, so the behaviour is the generated client's.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from thrift.Thrift import TMessageType, TType

from .._service import calls_of, generated_method, result_unpacker

if TYPE_CHECKING:
    from .._endpoint import Endpoint

try:  # the C codec ships in the thrift wheel; without it there is no fast path
    from thrift.protocol import fastbinary
except ImportError:  # pragma: no cover - depends on how thrift was installed
    fastbinary = None

__all__ = ["FastCall", "fast_calls", "supports_fast_path"]

_VERSION_1 = 0x80010000
_I32 = struct.Struct("!i")
_pack_seqid = _I32.pack
_FIELD_HEAD = struct.Struct("!bhi")  # type, field id, length of a string field
#: From this length on, a top-level string or binary argument is sent as it is: the C encoder
#: copies byte by byte (about 0.4 ms per MiB, 20x a memcpy).
LARGE_FIELD = 65536

#: A fast call: (connection, positional arguments) -> the method's result.
FastCall = Callable[[Any, tuple[Any, ...]], Any]


def supports_fast_path(endpoint: Endpoint) -> bool:
    """Whether calls to `endpoint` may skip the generated code (C codec on a plain socket)."""
    return (
        fastbinary is not None
        and endpoint.protocol in ("binary", "compact")
        and endpoint.transport in ("buffered", "framed")
        and not endpoint.zlib
        and not endpoint.is_http
    )


def _message_head(name: str, message_type: int) -> tuple[bytes, bytes]:
    """A strict binary message header: the bytes before and after its sequence id."""
    encoded = name.encode("utf-8")
    return struct.pack("!II", _VERSION_1 | message_type, len(encoded)) + encoded, b""


def _varint(n: int) -> bytes:
    """`n` (0 <= n < 2**32) as an unsigned LEB128 varint, as the compact protocol writes it."""
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _compact_head(name: str, message_type: int) -> tuple[bytes, bytes]:
    """A compact message header: the bytes before and after its sequence id."""
    encoded = name.encode("utf-8")
    return bytes((0x82, 0x01 | message_type << 5)), _varint(len(encoded)) + encoded


def _protocol(protocol: str) -> tuple[Any, Callable[[int], bytes], Any, Any]:
    """(message header, sequence id encoding, C encoder, C decoder) of `protocol`."""
    assert fastbinary is not None
    if protocol == "compact":
        return _compact_head, _varint, fastbinary.encode_compact, fastbinary.decode_compact
    return _message_head, _pack_seqid, fastbinary.encode_binary, fastbinary.decode_binary


def _large_fields(
    args_class: Any, parameters: tuple[str, ...]
) -> Callable[[tuple[Any, ...]], tuple[bytes, ...] | None] | None:
    """An encoder sending large top-level string/binary arguments uncopied (None: no such field)."""
    by_name = {field[2]: field for field in args_class.thrift_spec if field is not None}
    candidates = tuple(
        (position, field[0], str if field[3] == "UTF8" else bytes)
        for position, field in ((i, by_name.get(p)) for i, p in enumerate(parameters))
        if field is not None and field[1] == TType.STRING
    )
    if not candidates or fastbinary is None:
        return None
    encode_binary = fastbinary.encode_binary
    args_spec = [args_class, args_class.thrift_spec]

    def encode(args: tuple[Any, ...]) -> tuple[bytes, ...] | None:
        """The encoded args struct in parts, or None when no argument is large."""
        for position, _, kind in candidates:
            value = args[position]
            if type(value) is kind and len(value) >= LARGE_FIELD:
                break
        else:
            return None
        rest = list(args)
        parts: list[bytes] = []
        for position, field_id, kind in candidates:
            value = args[position]
            if type(value) is kind and len(value) >= LARGE_FIELD:
                rest[position] = None  # left out of the struct; appended as its own field
                data: bytes = value.encode("utf-8") if isinstance(value, str) else value
                parts += (_FIELD_HEAD.pack(TType.STRING, field_id, len(data)), data)
        small = encode_binary(args_class(*rest), args_spec)  # ends with the struct's stop byte
        return (small[:-1], *parts, small[-1:])

    return encode


def _make_call(
    client_class: type[Any], service_name: str | None, name: str, protocol: str
) -> FastCall | None:
    """A `FastCall` for one generated method, or None where its shape is not the usual one."""
    method = generated_method(client_class, name)
    if fastbinary is None or method is None:
        return None  # not the usual generated shape: keep the generated path
    generated, args_class, result_class, recv, parameters = method
    oneway = recv is None
    message_head, seqid_bytes, encode, decode = _protocol(protocol)
    arity = len(parameters)
    wire_name = f"{service_name}:{name}" if service_name else name
    request_head, request_tail = message_head(
        wire_name, TMessageType.ONEWAY if oneway else TMessageType.CALL
    )
    reply_head, reply_tail = message_head(name, TMessageType.REPLY)
    reply_fixed = len(reply_head) + len(reply_tail)
    args_spec = [args_class, args_class.thrift_spec]
    # Large fields are appended in binary's field layout; compact ones go through the encoder.
    large = _large_fields(args_class, parameters) if protocol == "binary" else None
    result_spec = [result_class, getattr(result_class, "thrift_spec", None)]
    unpack = result_unpacker(result_class, name)

    def call(conn: Any, args: tuple[Any, ...]) -> Any:
        if len(args) != arity:
            return generated(conn.client, *args)  # raises the generated method's TypeError
        proto = conn.call_protocol
        seqid = proto._last_seqid = (proto._last_seqid + 1) & 0x7FFFFFFF
        trans = conn.transport
        sequence = seqid_bytes(seqid)
        request = request_head + sequence + request_tail
        parts = large(args) if large is not None else None
        if parts is None:
            trans.send_message(request, encode(args_class(*args), args_spec))
        else:
            trans.send_message(request, *parts)
        if oneway:
            return None
        # read, not readAll: a short or split reply head (an old non-strict server) must not
        # block here; whatever does not match goes back for the generated code to read.
        head = trans.read(reply_fixed + len(sequence))
        if head != reply_head + sequence + reply_tail:
            trans.unread(head)  # exception message or out of step: the generated code decides
            proto._expected_name = name  # what SequencedProtocol checks the reply against
            return recv(conn.client)
        result = result_class()
        decode(result, proto, result_spec)
        return unpack(result)

    return call


_cache: dict[tuple[type[Any], str | None, str], dict[str, FastCall]] = {}
_cache_lock = threading.Lock()


def fast_calls(
    client_class: type[Any], service_name: str | None, endpoint: Endpoint
) -> dict[str, FastCall]:
    """The fast calls of a generated client's methods on `endpoint` (none where it has none).

    Built once per class, service name and protocol, and shared by every connection.
    """
    if endpoint.protocol == "json":  # integration point: TJSONProtocol's own fast path
        from ._json_calls import json_fast_calls  # only JSON clients load the JSON codec

        return json_fast_calls(client_class, service_name, endpoint)
    if not supports_fast_path(endpoint):
        return {}
    key = (client_class, service_name, endpoint.protocol)
    with _cache_lock:
        calls = _cache.get(key)
        if calls is None:
            protocol = endpoint.protocol
            calls = _cache[key] = calls_of(
                client_class, lambda name: _make_call(client_class, service_name, name, protocol)
            )
    return calls
