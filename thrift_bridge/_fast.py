"""Fast calls on a sync connection: a method's request in one write, its reply in one check.

A fast call drives a message codec (`_codec`: binary and compact by Apache's C codec, JSON by
ours) over the connection's transport: it numbers the request as `SequencedProtocol` would,
sends it, and decodes the reply when its header is the one expected. Anything else (an
exception message, a reply out of step, keyword arguments, a wrong argument count) goes back
to the generated `recv_*`, which then reads it, so behaviour and errors stay the generated
client's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._codec._binary import BinaryMethod, binary_methods

if TYPE_CHECKING:
    from io import BytesIO

    from ._codec._json_methods import JsonMethod
    from ._codec._json_stream import Frame
    from ._codec._json_write import JsonLimits
    from ._endpoint import Endpoint

__all__ = ["FastCall", "fast_calls"]

#: A fast call: (connection, positional arguments) -> the method's result.
FastCall = Callable[[Any, tuple[Any, ...]], Any]


def _binary_call(method: BinaryMethod) -> FastCall:
    """The fast call of a C-coded method."""
    name, arity, oneway = method.name, method.arity, method.oneway
    generated, recv = method.generated, method.recv
    request, exchange, read_result = method.request, method.exchange, method.read_result

    def call(conn: Any, args: tuple[Any, ...]) -> Any:
        if len(args) != arity:
            return generated(conn.client, *args)  # raises the generated method's TypeError
        proto = conn.call_protocol
        seqid = proto._last_seqid = (proto._last_seqid + 1) & 0x7FFFFFFF
        trans = conn.transport
        if oneway:
            trans.send_message(*request(seqid, args))
            return None
        message, expected = exchange(seqid, args)
        trans.send_message(*message)
        # read, not readAll: a short or split reply head (an old non-strict server) must not
        # block here; whatever does not match goes back for the generated code to read.
        head = trans.read(len(expected))
        if head != expected:
            trans.unread(head)  # exception message or out of step: the generated code decides
            proto._expected_name = name  # what SequencedProtocol checks the reply against
            return recv(conn.client)
        return read_result(proto)

    return call


def _receive(trans: Any, limits: JsonLimits) -> tuple[Frame, Callable[[], None]]:
    """The next whole JSON message from the transport's read buffer, and how to put it back.

    Bytes past the message stay in the read buffer, as the generated path leaves them (the
    pool's idle check then sees them). Putting the message back hands it to the generated code.
    """
    from ._codec._json_stream import MessageReader

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


def _json_call(method: JsonMethod, limits: JsonLimits) -> FastCall:
    """The fast call of a JSON-coded method."""
    name, arity, oneway, generated, recv = (
        method.name,
        method.arity,
        method.oneway,
        method.generated,
        method.recv,
    )

    def call(conn: Any, args: tuple[Any, ...]) -> Any:
        if len(args) != arity:
            return generated(conn.client, *args)  # raises the generated method's TypeError
        proto = conn.call_protocol
        seqid = proto._last_seqid = (proto._last_seqid + 1) & 0x7FFFFFFF
        request = method.request(seqid, args)
        trans = conn.transport
        send = getattr(trans, "send_message", None)
        if send is not None:
            send(b"", request)  # large requests go out without a copy
        else:  # HTTP: one POST per flush
            trans.write(request)
            trans.flush()
        if oneway:
            return None
        frame, put_back = _receive(trans, limits)
        if not method.answers(frame, seqid):
            put_back()  # exception message or out of step: the generated code decides
            proto._expected_name = name  # what SequencedProtocol checks the reply against
            return recv(conn.client)
        return method.read_result(frame)

    return call


_cache: dict[tuple[Any, ...], dict[str, FastCall]] = {}
_cache_lock = threading.Lock()


def fast_calls(
    client_class: type[Any], service_name: str | None, endpoint: Endpoint
) -> dict[str, FastCall]:
    """The fast calls of a generated client's methods on `endpoint` (none where it has none).

    Built once per class, service name and wire settings; shared by every connection.
    """
    key = (
        client_class,
        service_name,
        endpoint.protocol,
        endpoint.transport,
        endpoint.zlib,
        endpoint.is_http,
        endpoint.max_message_size,
    )
    calls = _cache.get(key)
    if calls is not None:
        return calls
    if endpoint.protocol == "json":  # only JSON clients load the JSON codec
        from ._codec._json_methods import json_limits, json_methods

        limits = json_limits(endpoint)
        methods = json_methods(client_class, service_name, endpoint)
        calls = {name: _json_call(method, limits) for name, method in methods.items()}
    else:
        binary = binary_methods(client_class, service_name, endpoint)
        calls = {name: _binary_call(method) for name, method in binary.items()}
    with _cache_lock:
        return _cache.setdefault(key, calls)
