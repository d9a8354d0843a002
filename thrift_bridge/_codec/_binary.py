"""Binary and compact messages of a generated method, coded by Apache's C codec (no I/O).

The sync connection sends `BinaryMethod.request` in one write and checks the reply's header in
one comparison (`_connection`); the async connection encodes and decodes through the same
methods over memory buffers. Anything unexpected (an exception message, a reply out of step,
keyword arguments, a wrong argument count) takes the generated code, so the behaviour is the
generated client's.
"""

from __future__ import annotations

import struct
import threading
from typing import TYPE_CHECKING, Any

from thrift.Thrift import TApplicationException, TMessageType

from .._service import GeneratedMethod, calls_of, generated_method, result_unpacker
from ._large import LARGE_FIELD, large_encoder, varint

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._endpoint import Endpoint

try:  # the C codec ships in the thrift wheel; without it there is no fast path
    from thrift.protocol import fastbinary
except ImportError:  # pragma: no cover - depends on how thrift was installed
    fastbinary = None

__all__ = ["LARGE_FIELD", "BinaryMethod", "binary_methods", "supports_fast_path"]

_VERSION_1 = 0x80010000
_I32 = struct.Struct("!i")
_pack_seqid = _I32.pack


def supports_fast_path(endpoint: Endpoint) -> bool:
    """Whether calls to `endpoint` may skip the generated code: the C codec, binary or compact,
    on a buffered, framed or zlib stream or over HTTP (not THeader)."""
    return (
        fastbinary is not None
        and endpoint.protocol in ("binary", "compact")
        and endpoint.transport in ("buffered", "framed", "zlib")
    )


def _message_head(name: str, message_type: int) -> tuple[bytes, bytes]:
    """A strict binary message header: the bytes before and after its sequence id."""
    encoded = name.encode("utf-8")
    return struct.pack("!II", _VERSION_1 | message_type, len(encoded)) + encoded, b""


def _compact_head(name: str, message_type: int) -> tuple[bytes, bytes]:
    """A compact message header: the bytes before and after its sequence id."""
    encoded = name.encode("utf-8")
    return bytes((0x82, 0x01 | message_type << 5)), varint(len(encoded)) + encoded


def _protocol(protocol: str) -> tuple[Any, Callable[[int], bytes], Any, Any]:
    """(message header, sequence id encoding, C encoder, C decoder) of `protocol`."""
    assert fastbinary is not None
    if protocol == "compact":
        return _compact_head, varint, fastbinary.encode_compact, fastbinary.decode_compact
    return _message_head, _pack_seqid, fastbinary.encode_binary, fastbinary.decode_binary


class BinaryMethod:
    """One generated method's messages in binary or compact, coded by Apache's C codec (no I/O).

    A generated client spends most of a small call in Python: `writeMessageBegin` packs three
    fields one write at a time, `readMessageBegin` reads them back one `readAll` at a time.
    Here a request is a pre-built message header (only the sequence id filled in per call)
    plus the C-encoded arguments, and a reply is recognised by comparing its whole header
    with the one expected, then decoded by the C decoder. Large strings and binaries (top level
    or in struct arguments) go out as their own parts, uncopied (`_large`).
    """

    __slots__ = (
        "_args_class",
        "_args_spec",
        "_decode",
        "_encode",
        "_large",
        "_reply_head",
        "_reply_tail",
        "_request_head",
        "_request_tail",
        "_result_class",
        "_result_spec",
        "_seqid_bytes",
        "answers",
        "arity",
        "generated",
        "name",
        "oneway",
        "recv",
        "unpack",
    )

    def __init__(self, method: GeneratedMethod, name: str, service_name: str | None, protocol: str):
        assert fastbinary is not None
        generated, args_class, result_class, recv, parameters = method
        #: The method's name, the generated Client's method and its recv_ (None: oneway).
        self.name, self.generated, self.recv = name, generated, recv
        self.oneway = recv is None
        #: How many positional arguments a call takes (others go to the generated code).
        self.arity = len(parameters)
        message_head, self._seqid_bytes, self._encode, self._decode = _protocol(protocol)
        wire_name = f"{service_name}:{name}" if service_name else name
        self._request_head, self._request_tail = message_head(
            wire_name, TMessageType.ONEWAY if self.oneway else TMessageType.CALL
        )
        self._reply_head, self._reply_tail = message_head(name, TMessageType.REPLY)
        self._args_class = args_class
        self._args_spec = [args_class, args_class.thrift_spec]
        self._large = large_encoder(args_class, parameters, protocol == "compact", self._encode)
        self._result_class = result_class
        self._result_spec = [result_class, getattr(result_class, "thrift_spec", None)]
        #: The result struct to what the call returns or raises (as the generated recv_ does).
        self.unpack = result_unpacker(result_class, name)
        #: What `unpack` raises as the server's answer: the declared exceptions, and
        #: TApplicationException (MISSING_RESULT).
        declared = (field[3][0] for field in self._result_spec[1] or () if field and field[0])
        self.answers: tuple[type[BaseException], ...] = (TApplicationException, *declared)

    def request(self, seqid: int, args: tuple[Any, ...]) -> tuple[bytes, ...]:
        """The request message in parts: header, encoded arguments (large ones on their own)."""
        return self.exchange(seqid, args)[0]

    def exchange(self, seqid: int, args: tuple[Any, ...]) -> tuple[tuple[bytes, ...], bytes]:
        """`request(seqid, args)` and `reply_head(seqid)`, the sequence id coded once."""
        packed = self._seqid_bytes(seqid)
        expected = self._reply_head + packed + self._reply_tail
        head = self._request_head + packed + self._request_tail
        parts = self._large(args) if self._large is not None else None
        if parts is None:
            return (head, self._encode(self._args_class(*args), self._args_spec)), expected
        return (head, *parts), expected

    def reply_head(self, seqid: int) -> bytes:
        """The bytes a reply to request `seqid` starts with (an exception message differs)."""
        head: bytes = self._reply_head + self._seqid_bytes(seqid) + self._reply_tail
        return head

    def read_result(self, proto: Any) -> Any:
        """Decode the result after its header from `proto`'s C-readable transport; unpack it."""
        result = self._result_class()
        self._decode(result, proto, self._result_spec)
        value = getattr(result, "success", None)  # the usual answer, without unpack's frame
        return value if value is not None else self.unpack(result)


_cache: dict[tuple[type[Any], str | None, str], dict[str, BinaryMethod]] = {}
_cache_lock = threading.Lock()


def binary_methods(
    client_class: type[Any], service_name: str | None, endpoint: Endpoint
) -> dict[str, BinaryMethod]:
    """The C-coded methods of a generated client on `endpoint` (none where there is none).

    Built once per class, service name and protocol, and shared by every connection.
    """
    if not supports_fast_path(endpoint):
        return {}
    key = (client_class, service_name, endpoint.protocol)
    with _cache_lock:
        methods = _cache.get(key)
        if methods is None:
            protocol = endpoint.protocol

            def make(name: str) -> BinaryMethod | None:
                method = generated_method(client_class, name)
                return (
                    None if method is None else BinaryMethod(method, name, service_name, protocol)
                )

            methods = _cache[key] = calls_of(client_class, make)
    return methods
