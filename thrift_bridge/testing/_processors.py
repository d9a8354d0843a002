"""A processor wrapper for THeader servers: the access key and version checks of the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from thrift.Thrift import TApplicationException, TMessageType, TType

if TYPE_CHECKING:
    from collections.abc import Collection

__all__ = ["HeaderCheckingProcessor"]


class HeaderCheckingProcessor:
    """Wrap a processor for THeader servers: check `access_key` and `service_version` headers.

    A request whose `access_key` is not in `access_keys` (when given), or whose
    `service_version` is not in `versions` (when given), is answered with a
    `TApplicationException` naming what was wrong, and the handler never runs (Zask's rule).
    Every reply carries the request's `request_id` header back, plus `served_by`.
    """

    def __init__(
        self,
        processor: Any,
        *,
        access_keys: Collection[str] | None = None,
        versions: Collection[str] | None = None,
        served_by: str = "thrift-bridge-testing",
    ):
        self.processor = processor
        self.access_keys = None if access_keys is None else frozenset(access_keys)
        self.versions = None if versions is None else frozenset(versions)
        self.served_by = served_by
        self.seen: list[dict[str, str]] = []  # the request headers of every call, in order

    def _refusal(self, headers: dict[str, str]) -> str | None:
        """Why the request must be refused, or None."""
        if self.access_keys is not None and headers.get("access_key") not in self.access_keys:
            return f"access denied: unknown access_key {headers.get('access_key')!r}"
        if self.versions is not None and headers.get("service_version") not in self.versions:
            return (
                f"service_version {headers.get('service_version')!r} is not served here "
                f"(served: {', '.join(sorted(self.versions))})"
            )
        return None

    def process(self, iprot: Any, oprot: Any) -> None:
        """Read one request, check its headers, then dispatch it or refuse it."""
        name, mtype, seqid = iprot.readMessageBegin()
        trans = iprot.trans
        headers = {
            k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
            for k, v in trans.get_headers().items()
        }
        self.seen.append(headers)
        handler = self.processor._processMap.get(name)
        refusal = self._refusal(headers)
        if handler is None or refusal is not None:
            iprot.skip(TType.STRUCT)
            iprot.readMessageEnd()
            if mtype == TMessageType.ONEWAY:
                return
            kind = (
                TApplicationException.UNKNOWN_METHOD
                if handler is None
                else (TApplicationException.UNKNOWN)
            )
            error = TApplicationException(kind, refusal or f"unknown method {name!r}")
            oprot.writeMessageBegin(name, TMessageType.EXCEPTION, seqid)
            error.write(oprot)
            oprot.writeMessageEnd()
            oprot.trans.flush()
            return
        if "request_id" in headers:
            oprot.trans.set_header(b"request_id", headers["request_id"].encode())
        oprot.trans.set_header(b"served_by", self.served_by.encode())
        handler(self.processor, seqid, iprot, oprot)
