"""The JSON fast path: a generated method's call coded by `_json_codec`, not TJSONProtocol.

Apache's TJSONProtocol writes and reads one character at a time in Python (a 1 MiB string
echo takes 0.4 s). For protocol=json on our buffered, framed and HTTP transports, a JSON
fast call writes the whole request in one string and one send, reads the reply's bytes from
the transport's read buffer until `MessageReader` holds a whole message, and decodes it from
the C scanner's tree. As on the binary fast path (`codec.py`), anything unusual (an exception
message, a reply out of step, keyword arguments, a wrong argument count) takes the generated
path, so the behaviour is the generated client's.

Integration point: `codec.fast_calls` hands JSON endpoints to `json_fast_calls`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from io import BytesIO
from typing import TYPE_CHECKING, Any

from thrift.Thrift import TMessageType

from .._service import calls_of, generated_method, result_unpacker
from ._json_stream import Frame, MessageReader
from ._json_write import JsonLimits, quote, struct_writer

if TYPE_CHECKING:
    from .._endpoint import Endpoint

__all__ = ["json_fast_calls", "supports_json_fast_path"]

#: A fast call: (connection, positional arguments) -> the method's result.
JsonCall = Callable[[Any, tuple[Any, ...]], Any]


def supports_json_fast_path(endpoint: Endpoint) -> bool:
    """Whether JSON calls to `endpoint` may skip the generated code (buffered, framed, HTTP)."""
    return (
        endpoint.protocol == "json"
        and endpoint.transport in ("buffered", "framed")
        and not endpoint.zlib
    )


def _receive(trans: Any, limits: JsonLimits) -> tuple[Frame, Callable[[], None]]:
    """The next whole message from the transport's read buffer, and how to put it back.

    Bytes past the message stay in the read buffer, as the generated path leaves them (the
    pool's idle check then sees them). Putting the message back hands it to the generated code.
    """
    reader = MessageReader(limits)
    buf: BytesIO = trans.cstringio_buf
    first, start = buf, buf.tell()
    while True:
        reader.feed(buf.read())
        frame = reader.next_message()
        if frame is not None:
            break
        buf = trans.cstringio_refill(b"", 1)  # at least one more byte (HTTP: the reply ended)
    rest = len(reader.buffered)
    if rest:
        buf.seek(-rest, 1)

    def put_back() -> None:
        if buf is first:  # one read buffer held it all (always so over HTTP)
            first.seek(start)
        else:
            trans.unread(frame.data)

    return frame, put_back


def _make_call(
    client_class: type[Any], service_name: str | None, name: str, limits: JsonLimits
) -> JsonCall | None:
    """A JSON fast call for one generated method, or None where its shape is not the usual one."""
    method = generated_method(client_class, name)
    if method is None:
        return None  # not the usual generated shape: keep the generated path
    generated, args_class, result_class, recv, parameters = method
    arity = len(parameters)
    wire_name = f"{service_name}:{name}" if service_name else name
    message_type = TMessageType.CALL if recv is not None else TMessageType.ONEWAY
    request_head = f"[1,{quote(wire_name)},{message_type},"
    write_args = struct_writer(args_class)
    unpack = result_unpacker(result_class, name)

    def call(conn: Any, args: tuple[Any, ...]) -> Any:
        if len(args) != arity:
            return generated(conn.client, *args)  # raises the generated method's TypeError
        proto = conn.call_protocol
        seqid = proto._last_seqid = (proto._last_seqid + 1) & 0x7FFFFFFF
        request = f"{request_head}{seqid},{write_args(args_class(*args))}]".encode()
        trans = conn.transport
        send = getattr(trans, "send_message", None)
        if send is not None:
            send(b"", request)  # large requests go out without a copy
        else:  # HTTP: one POST per flush
            trans.write(request)
            trans.flush()
        if recv is None:
            return None
        frame, put_back = _receive(trans, limits)
        if frame.seqid != seqid or frame.name != name or frame.message_type != TMessageType.REPLY:
            put_back()  # exception message or out of step: the generated code decides
            proto._expected_name = name  # what SequencedProtocol checks the reply against
            return recv(conn.client)
        return unpack(frame.decode(result_class))

    return call


_cache: dict[tuple[type[Any], str | None, JsonLimits], dict[str, JsonCall]] = {}
_cache_lock = threading.Lock()


def json_fast_calls(
    client_class: type[Any], service_name: str | None, endpoint: Endpoint
) -> dict[str, JsonCall]:
    """The JSON fast calls of a generated client's methods on `endpoint` (none where it has none).

    Built once per class, service name and size limit, and shared by every connection.
    """
    if not supports_json_fast_path(endpoint):
        return {}
    limits = JsonLimits(max_message_size=endpoint.max_message_size)
    key = (client_class, service_name, limits)
    with _cache_lock:
        calls = _cache.get(key)
        if calls is None:
            calls = _cache[key] = calls_of(
                client_class, lambda name: _make_call(client_class, service_name, name, limits)
            )
    return calls
