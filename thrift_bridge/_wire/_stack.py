"""Turn an `Endpoint` into an open transport stack: a connected socket under our buffered,
framed, zlib or HTTP transport (see `_streams` and `_http` for the classes); the same stack
over memory codes the async client's requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._connect import connect
from ._socket import SocketIO
from ._streams import BufferedTransport, FramedTransport, StackTransport, ZlibTransport

if TYPE_CHECKING:
    import ssl

    from .._endpoint import Endpoint

__all__ = ["open_transport", "transport_stack"]


def open_transport(
    endpoint: Endpoint, context: ssl.SSLContext | None, connect_timeout: float | None = None
) -> StackTransport:
    """Open a connection to `endpoint` and return its outermost transport, ready for a protocol
    (connected within `connect_timeout`, None: the endpoint's; HTTP connects on first use)."""
    if endpoint.is_http:
        from ._http import HttpTransport

        return HttpTransport(endpoint, lambda: connect(endpoint, context))
    sock = connect(endpoint, context, connect_timeout)
    return transport_stack(endpoint, SocketIO(sock, endpoint.timeout))


def transport_stack(endpoint: Endpoint, io: Any) -> StackTransport:
    """The endpoint's buffered, framed or zlib transport over `io` (a socket, or memory)."""
    if endpoint.transport == "framed":
        framed = FramedTransport(io, endpoint.max_frame_size)
        if endpoint.zlib:
            return ZlibTransport(framed, endpoint.max_message_size, endpoint.zlib_level)
        return framed
    buffered = BufferedTransport(io, endpoint.max_message_size)
    if endpoint.transport == "zlib":
        return ZlibTransport(buffered, endpoint.max_message_size, endpoint.zlib_level)
    return buffered
