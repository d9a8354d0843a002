"""Protocols over a transport, as an `Endpoint` asks for them, and requests numbered in step.

No I/O: the sync connection reads and writes through these protocols over its sockets; the
async one encodes requests and decodes replies through them over memory buffers.
Apache's generated clients send sequence id 0 on every call and never check the reply's id or
method name (t_py_generator.cc), so after a timeout the next call can read the previous call's
reply. `SequencedProtocol` numbers every request and checks that the reply answers it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from thrift.protocol import TBinaryProtocol

from .._exceptions import ProtocolError

if TYPE_CHECKING:
    from .._endpoint import Endpoint

__all__ = [
    "ACCELERATED",
    "SequencedProtocol",
    "header_transport",
    "multiplexed",
    "protocol_factory",
]

try:  # the C codec ships in the thrift wheel; pure Python is the fallback
    from thrift.protocol import fastbinary  # noqa: F401

    ACCELERATED = True
except ImportError:  # pragma: no cover - depends on how thrift was installed
    ACCELERATED = False


class SequencedProtocol:
    """Protocol mixin: increasing sequence ids out, and replies checked against them."""

    _expected_name: str | None = None
    _last_seqid = 0

    def writeMessageBegin(self, name: str, ttype: int, seqid: int) -> None:  # noqa: N802
        seqid = self._last_seqid = (self._last_seqid + 1) & 0x7FFFFFFF
        # TMultiplexedProtocol writes "Service:method"; replies name the bare method.
        self._expected_name = name.rpartition(":")[2]
        super().writeMessageBegin(name, ttype, seqid)  # type: ignore[misc]

    def readMessageBegin(self) -> tuple[str, int, int]:  # noqa: N802
        name, ttype, seqid = super().readMessageBegin()  # type: ignore[misc]
        expected = self._expected_name
        if name != expected or seqid != self._last_seqid:
            raise ProtocolError(
                f"reply out of step: got {name!r} #{seqid}, "
                f"expected {expected!r} #{self._last_seqid}"
            )
        self._expected_name = None
        return name, ttype, seqid


_BINARY = (
    TBinaryProtocol.TBinaryProtocolAccelerated if ACCELERATED else TBinaryProtocol.TBinaryProtocol
)


def protocol_factory(endpoint: Endpoint, mixin: type | None = None) -> Any:
    """A callable making the endpoint's protocol on a transport, optionally with `mixin` first."""
    if endpoint.transport == "header" or endpoint.protocol == "header":
        from thrift.protocol.THeaderProtocol import THeaderProtocol
        from thrift.transport.THeaderTransport import THeaderClientType, THeaderSubprotocolID

        inner = endpoint.protocol if endpoint.transport == "header" else endpoint.header_protocol
        base: type = _header_protocol(THeaderProtocol)
        binary = inner == "binary"
        subprotocol = THeaderSubprotocolID.BINARY if binary else THeaderSubprotocolID.COMPACT
        max_frame = endpoint.max_frame_size
        cls = _with_mixin(base, mixin)

        def make_header(trans: Any) -> Any:
            proto = cls(trans, (THeaderClientType.HEADERS,), subprotocol)
            proto.subprotocol = subprotocol
            proto.trans.set_max_frame_size(max_frame)
            proto.trans.set_max_decompressed_size(endpoint.max_message_size)
            return proto

        return make_header
    if endpoint.protocol == "json":
        from thrift.protocol.TJSONProtocol import TJSONProtocol

        cls = _with_mixin(TJSONProtocol, mixin)
        return cls
    if endpoint.protocol == "binary":
        base = _BINARY
    else:
        from thrift.protocol import TCompactProtocol

        base = (
            TCompactProtocol.TCompactProtocolAccelerated
            if ACCELERATED
            else TCompactProtocol.TCompactProtocol
        )
    cls = _with_mixin(base, mixin)
    limit = endpoint.max_message_size

    def make(trans: Any) -> Any:
        return cls(trans, string_length_limit=limit, container_length_limit=limit)

    return make


_header_protocols: dict[type, type] = {}


def _header_protocol(base: type) -> type:
    """Apache's THeaderProtocol writing every request in the endpoint's subprotocol.

    Apache's THeaderTransport takes the subprotocol of each reply it reads for what it writes
    next (`readFrame` sets the id it writes with). Apache's THttpServer with
    THeaderProtocolFactory answers a compact request in binary (its reply protocol is a fresh
    one, binary by default), so without this the second request would go out in binary.
    """
    cls = _header_protocols.get(base)
    if cls is None:

        class RequestSubprotocol(base):  # type: ignore[misc]
            subprotocol = 0

            def writeMessageBegin(self, name: str, ttype: int, seqid: int) -> None:  # noqa: N802
                trans = self.trans
                if trans._protocol_id != self.subprotocol:  # a reply in another one was read
                    trans._protocol_id = self.subprotocol
                    self._set_protocol()
                super().writeMessageBegin(name, ttype, seqid)

        cls = _header_protocols[base] = RequestSubprotocol
    return cls


def multiplexed(protocol: Any, service_name: str) -> Any:
    """`protocol` prefixing every call with "service_name:" for a multiplexed server."""
    from thrift.protocol.TMultiplexedProtocol import TMultiplexedProtocol

    return TMultiplexedProtocol(protocol, service_name)


def header_transport(protocol: Any) -> Any:
    """The THeaderTransport under a THeader protocol (for request and reply headers), or None."""
    header = sys.modules.get("thrift.transport.THeaderTransport")  # every THeader protocol loads it
    trans = protocol.trans
    return trans if header is not None and isinstance(trans, header.THeaderTransport) else None


_mixed: dict[tuple[type, type], type] = {}


def _with_mixin(base: type, mixin: type | None) -> type:
    """`base` subclassed with `mixin` first in its MRO (made once per pair)."""
    if mixin is None:
        return base
    cls = _mixed.get((base, mixin))
    if cls is None:
        cls = _mixed[(base, mixin)] = type(f"{mixin.__name__}{base.__name__}", (mixin, base), {})
    return cls
