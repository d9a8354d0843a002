"""One open transport stack with its generated client, calling in step with the server.

Requests are numbered and replies checked (`SequencedProtocol`); a method with a fast call
(`_codec`) skips the generated send_/recv_ code.
"""

from __future__ import annotations

import contextlib
import math
import time
from traceback import clear_frames
from typing import TYPE_CHECKING, Any

from ._argcheck import argument_error
from ._codec._protocols import SequencedProtocol, header_transport, multiplexed, protocol_factory
from ._exceptions import ProtocolError, ThriftBridgeError, Timeout, TransportError, wrap_error
from ._fast import fast_calls
from ._hints import add_hint, no_reply_hint, reply_hint
from ._wire._stack import open_transport

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping

    from ._endpoint import Endpoint

__all__ = ["Connection"]


class Connection:
    """An open connection to one endpoint and the generated client bound to it."""

    __slots__ = (
        "_client_class",
        "_service_name",
        "begin_call",
        "call_protocol",
        "calls",
        "client",
        "created_at",
        "endpoint",
        "expires_at",
        "generation",
        "header_transport",
        "is_usable",
        "protocol",
        "retire_at",
        "transport",
    )

    def __init__(
        self,
        endpoint: Endpoint,
        client_class: type[Any],
        ssl_context: ssl.SSLContext | None,
        *,
        generation: int = 0,
        service_name: str | None = None,
        connect_timeout: float | None = None,
    ):
        self.endpoint = endpoint
        self.generation = generation
        try:
            self.transport = open_transport(endpoint, ssl_context, connect_timeout)
        except ThriftBridgeError as exc:  # mapped where the socket failed; add where it was
            exc.endpoint = exc.endpoint or endpoint.redacted_url
            raise
        self._client_class = client_class
        self._service_name = service_name
        self._build_protocol()
        #: Per method, a call skipping the generated code (C codec or our JSON codec).
        self.calls = fast_calls(client_class, service_name, endpoint)
        #: Start one call: reset the reply deadline and the per-call byte budget.
        self.begin_call = self.transport.begin_call
        #: Whether this idle connection is still open and in step (cheap, non-blocking).
        self.is_usable = self.transport.is_usable
        self.created_at = time.monotonic()
        #: When the pool stops handing this connection out (idle or lifetime limit), if idle.
        self.expires_at = math.inf
        #: When it ages out whatever its use (`max_lifetime`).
        self.retire_at = math.inf

    def _build_protocol(self) -> None:
        """The protocol on the transport, and the generated client calling through it."""
        #: The protocol on the transport (requests numbered, replies checked: SequencedProtocol).
        self.protocol = protocol_factory(self.endpoint, SequencedProtocol)(self.transport)
        #: The THeaderTransport carrying request and reply headers, or None.
        self.header_transport = header_transport(self.protocol)
        #: What calls go through: `protocol`, or its multiplexing copy (Apache's decorator is a
        #: copy, not a view: the sequence numbers the calls use live on this one).
        self.call_protocol = (
            multiplexed(self.protocol, self._service_name) if self._service_name else self.protocol
        )
        #: The generated client bound to this connection.
        self.client = self._client_class(self.call_protocol)

    def __repr__(self) -> str:
        return f"<Connection {self.endpoint.redacted_url} fd={self.transport.io.fileno()}>"

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call method `name` of the service on this connection (after `begin_call`).

        An argument the request cannot be encoded with raises `ArgumentError` naming it; a
        reply that cannot be read says what its bytes look like (`_hints`). Both are worked
        out only once the call failed: a try block costs a good call nothing.
        """
        try:
            fast = self.calls.get(name)
            if fast is not None and not kwargs:
                return fast(self, args)
            return getattr(self.client, name)(*args, **kwargs)
        except Exception as exc:
            if self.transport.request_started:
                error = self._reply_failed(exc, name)
            elif isinstance(exc, ThriftBridgeError):
                raise
            else:
                error = argument_error(self._client_class, self._service_name, name, args, kwargs)
            try:
                if error is None:  # the server's answer: the generated recv_ that raised it
                    clear_frames(exc.__traceback__)  # keeps it in a local (a cycle otherwise)
                    raise
                if error is exc:
                    raise  # ours, its message now hinted
                raise error from exc
            finally:
                del error  # the traceback keeps this frame: no cycle through it (`_steps`)

    def _reply_failed(self, exc: Exception, name: str) -> ThriftBridgeError | None:
        """A wire error of a call whose request went out, with a hint from the reply's first
        bytes (or their absence) at what the server speaks; None for the server's answers."""
        url = self.endpoint.redacted_url
        error = wrap_error(exc, url, name, reading=self.transport.request_sent)
        if not isinstance(error, TransportError) or isinstance(error, Timeout):
            return error
        head = self.transport.reply_head()
        if head:
            return add_hint(error, reply_hint(head, self.endpoint))
        if self.endpoint.is_http:  # the HTTP transport told its own failures apart
            return error
        if not isinstance(error, ProtocolError) and self.transport.request_sent:
            return add_hint(error, no_reply_hint(self.endpoint))  # closed, or reset
        return error

    def carry_headers(self, headers: Mapping[str, str]) -> None:
        """Send `headers` with the next request: as THeader headers, or HTTP request headers
        (other wires carry none)."""
        if self.header_transport is not None:
            for key, value in headers.items():
                self.header_transport.set_header(key.encode(), value.encode())
        elif self.endpoint.is_http:
            from ._http1 import header_lines

            self.transport.call_headers = header_lines(headers)

    @property
    def request_sent(self) -> bool:
        """Whether the current call's request was completely written."""
        return self.transport.request_sent

    @property
    def request_started(self) -> bool:
        """Whether any byte of the current call's request reached the wire."""
        return self.transport.request_started

    def reply_headers(self) -> dict[str, str] | None:
        """The THeader headers of the reply just read (None without THeader)."""
        if self.header_transport is None:
            return None
        from ._headers import reply_headers

        return reply_headers(self.header_transport)

    def forget_request(self) -> None:
        """Drop a request that failed before a byte of it was written (and any protocol state
        it left), keeping the sequence numbering: the connection is ready for the next call."""
        last = self.call_protocol._last_seqid
        self.transport.clear_request()
        self._build_protocol()
        self.call_protocol._last_seqid = last

    def close(self) -> None:
        """Close the connection's socket."""
        with contextlib.suppress(OSError):
            self.transport.close()

    def abandon(self) -> None:
        """Drop a connection inherited across fork without telling the peer anything."""
        self.close()  # close() frees only this process's descriptor: no shutdown, no TLS alert
