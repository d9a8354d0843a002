"""JSON messages of a generated method, coded by `_json_write`/`_json_stream` (no I/O).

Apache's TJSONProtocol writes and reads one character at a time in Python (a 1 MiB string
echo takes 0.4 s). A `JsonMethod` writes the whole request in one string, and decodes a reply
from a `Frame` that `MessageReader` cut from the bytes received (the C scanner's tree). As on
the binary side, anything unusual (an exception message, a reply out of step, keyword
arguments, a wrong argument count) takes the generated path.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from thrift.Thrift import TMessageType

from .._service import GeneratedMethod, calls_of, generated_method, result_unpacker
from ._json_write import JsonLimits, quote, struct_writer

if TYPE_CHECKING:
    from .._endpoint import Endpoint
    from ._json_stream import Frame

__all__ = ["JsonMethod", "json_limits", "json_methods", "supports_json_fast_path"]


def supports_json_fast_path(endpoint: Endpoint) -> bool:
    """Whether JSON calls to `endpoint` may skip the generated code (buffered, framed, HTTP)."""
    return (
        endpoint.protocol == "json"
        and endpoint.transport in ("buffered", "framed")
        and not endpoint.zlib
    )


def json_limits(endpoint: Endpoint) -> JsonLimits:
    """The size limits of JSON replies from `endpoint`."""
    return JsonLimits(max_message_size=endpoint.max_message_size)


class JsonMethod:
    """One generated method's JSON request and reply (see the module doc)."""

    __slots__ = (
        "_request_head",
        "_result_class",
        "_write_args",
        "args_class",
        "arity",
        "generated",
        "name",
        "oneway",
        "recv",
        "unpack",
    )

    def __init__(self, method: GeneratedMethod, name: str, service_name: str | None):
        generated, args_class, result_class, recv, parameters = method
        self.name, self.generated, self.recv = name, generated, recv
        self.oneway = recv is None
        self.arity = len(parameters)
        self.args_class = args_class
        wire_name = f"{service_name}:{name}" if service_name else name
        message_type = TMessageType.ONEWAY if self.oneway else TMessageType.CALL
        self._request_head = f"[1,{quote(wire_name)},{message_type},"
        self._write_args = struct_writer(args_class)
        self._result_class = result_class
        self.unpack = result_unpacker(result_class, name)

    def request(self, seqid: int, args: tuple[Any, ...]) -> bytes:
        """The whole request message."""
        body = self._write_args(self.args_class(*args))
        return f"{self._request_head}{seqid},{body}]".encode()

    def answers(self, frame: Frame, seqid: int) -> bool:
        """Whether `frame` is the plain reply to request `seqid` (else: the generated code)."""
        return (
            frame.seqid == seqid
            and frame.name == self.name
            and frame.message_type == TMessageType.REPLY
        )

    def read_result(self, frame: Frame) -> Any:
        """The call's result (or declared exception, raised) from its reply frame."""
        return self.unpack(frame.decode(self._result_class))


_cache: dict[tuple[type[Any], str | None], dict[str, JsonMethod]] = {}
_cache_lock = threading.Lock()


def json_methods(
    client_class: type[Any], service_name: str | None, endpoint: Endpoint
) -> dict[str, JsonMethod]:
    """The JSON-coded methods of a generated client on `endpoint` (none where there is none)."""
    if not supports_json_fast_path(endpoint):
        return {}
    key = (client_class, service_name)
    with _cache_lock:
        methods = _cache.get(key)
        if methods is None:

            def make(name: str) -> JsonMethod | None:
                method = generated_method(client_class, name)
                return None if method is None else JsonMethod(method, name, service_name)

            methods = _cache[key] = calls_of(client_class, make)
    return methods
