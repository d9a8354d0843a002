"""One connection of the async client: requests written as they come, replies matched to their
calls by sequence id (so several may be in flight: `pipeline`), on asyncio's own transports.

Requests are coded exactly as the sync client codes them (the fast codecs, or the generated
`send_*` writing through our transports into memory); replies are cut and decoded without
I/O by `_codec._replies.ReplyStream`. A call that is cancelled leaves the connection in step:
its reply, when it comes, is read and dropped (drained by sequence id); one whose deadline
passes retires the connection, which closes once no call on it is still awaited.

Reads land in one buffer per thread (`asyncio.BufferedProtocol`), copied out by the bytes
read: asyncio's own reads allocate `max_size` (256 KiB) per read, which glibc may serve with
`mmap`/`mremap`/`munmap` per read once its malloc is in that state (measured: a call on the
default loop took 40 µs instead of 23 µs).

Over 400 lines on purpose: it is one `asyncio.BufferedProtocol`, whose callbacks (the reads,
`connection_lost`, the deadline timer) and the calls written on it share one connection's
state; split over modules, that state would be shared across them.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import struct
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from .._argcheck import argument_error
from .._attempt import CallError
from .._codec._binary import BinaryMethod
from .._codec._memory import MemorySink
from .._codec._protocols import SequencedProtocol, header_transport, multiplexed, protocol_factory
from .._codec._replies import READ_SIZE, ReplyStream
from .._exceptions import (
    ProtocolError,
    ThriftBridgeError,
    TransportError,
    wrap_error,
)
from .._headers import send_headers
from .._hints import add_hint, no_reply_hint, reply_hint
from .._http1 import (
    ReplyParser,
    budget_line,
    header_lines,
    post_head,
    scrubbed,
    thrift_body,
    with_header_lines,
)
from .._wire._connect import connect_failure
from .._wire._socket import read_timeout, write_timeout
from .._wire._stack import transport_stack

if TYPE_CHECKING:
    import ssl
    from collections.abc import Awaitable, Callable

    from .._endpoint import Endpoint
    from .._hooks import CallTrace
    from .._middleware import Call
    from ._methods import MethodInfo

__all__ = ["AsyncCall", "AsyncConnection"]

_FRAME_LENGTH = struct.Struct("!i").pack  # a frame's 4-byte big-endian length


class AsyncCall:
    """One call on an async connection: the reply's future, and what settling a failure needs."""

    __slots__ = (
        "abandoned",
        "binary",
        "cancelled",
        "connection",
        "deadline",
        "future",
        "headers",
        "json",
        "name",
        "owns_share",
        "result_class",
        "seqid",
        "timeout",
        "unpack",
        "written",
    )

    def __init__(self, connection: AsyncConnection, name: str, info: MethodInfo):
        self.connection = connection
        self.name = name
        self.result_class = info.result_class
        self.unpack = info.unpack
        fast = info.fast
        json = fast is not None and not isinstance(fast, BinaryMethod)
        #: The method's JSON codec, or its C-coded binary/compact one (None: generated code).
        self.json = fast if json else None
        self.binary = None if json else fast
        self.seqid = -1
        self.written = False
        #: Nobody awaits the reply any more (cancelled, or timed out): it is read and dropped.
        self.abandoned = False
        #: Cancelled: the connection, not the caller, gives back this call's share of it.
        self.cancelled = False
        #: Whether the call holds a share of the connection's load (pinned calls do not).
        self.owns_share = True
        self.future: asyncio.Future[Any] | None = None
        self.deadline = math.inf
        self.timeout = 0.0  #: the call's own timeout when a deadline cut it (0: the endpoint's)
        self.headers: dict[str, str] | None = None

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint the call went to."""
        return self.connection.endpoint

    @property
    def request_started(self) -> bool:
        """Whether the request was handed to the transport (all of it: writes never block)."""
        return self.written

    @property
    def request_sent(self) -> bool:
        """Whether the request may have reached the server (as soon as it was written)."""
        return self.written

    def forget_request(self) -> None:
        """Drop the half-encoded request of a call that failed before it was written."""
        self.connection.forget_request()

    def reply_headers(self) -> dict[str, str] | None:
        """The reply's THeader headers (None without THeader)."""
        return self.headers


class _ReadBuffer(threading.local):
    """The buffer reads land in: one per thread (a loop's reads run on its thread, each read
    copied out before the next), so connections cost no read buffer of their own."""

    def __init__(self) -> None:
        self.view = memoryview(bytearray(READ_SIZE))


_reads = _ReadBuffer()


class AsyncConnection(asyncio.BufferedProtocol):
    """One open connection to an endpoint, carrying up to `endpoint.pipeline` calls at once."""

    def __init__(
        self,
        endpoint: Endpoint,
        client_class: type[Any],
        service_name: str | None,
        methods: dict[str, MethodInfo],
        generation: int,
    ):
        self.endpoint = endpoint
        self.generation = generation
        self.methods = methods
        self.loop = asyncio.get_running_loop()
        #: Where reads land: the buffer of this thread, which runs the loop (see `_ReadBuffer`).
        self._read_view = _reads.view
        self.transport: asyncio.Transport | None = None
        #: Calls awaiting their reply, by sequence id (cancelled ones too, until drained).
        self.pending: dict[int, AsyncCall] = {}
        #: Calls that have this connection: checked out and not yet released or drained.
        self.load = 0
        #: Why the connection is closed or closing (None while it is usable).
        self.error: BaseException | None = None
        #: No new calls (a call timed out, or the pool let it go); closes once none is awaited.
        self.retiring = False
        self.created_at = self.loop.time()
        #: When an idle connection stops being handed out (max_idle / max_lifetime).
        self.expires_at = math.inf
        self.retire_at = math.inf
        #: Called whenever this connection can take one more call (or is gone).
        self.on_free: Callable[[AsyncConnection], None] = lambda conn: None
        self._client_class = client_class
        self._service_name = service_name
        self._sink = MemorySink()
        self._stack = transport_stack(endpoint, self._sink)
        self._build_protocol()
        self._framed = endpoint.transport == "framed" and not endpoint.zlib
        self._zlib = endpoint.zlib or endpoint.transport == "zlib"
        self._replies = ReplyStream(endpoint)
        #: Reads so far, and whether a put-off decode is to be retried (see `_recheck`).
        self._reads = 0
        self._rechecking = False
        self._http_head = post_head(endpoint) if endpoint.is_http else None
        #: Whether a read may hold a whole reply to decode straight from it (`whole_reply`).
        self._takes_whole = self._http_head is None and self._replies.takes_whole
        self._http_reply: ReplyParser | None = None
        self._paused = False
        self._drained: asyncio.Future[None] | None = None
        #: One timer for the connection, at the earliest deadline of its awaited calls.
        self._watchdog: asyncio.TimerHandle | None = None
        self._watch_at = 0.0  # when the watchdog fires (loop time), while there is one
        #: Requests made while others are in flight, written together (see `send`).
        self._outbox: list[bytes] = []
        self._closed = self.loop.create_future()
        _connections.add(self)

    def _build_protocol(self) -> None:
        """The request protocol over memory, and the generated client writing through it."""
        self._protocol = protocol_factory(self.endpoint, SequencedProtocol)(self._stack)
        self._header = header_transport(self._protocol)
        name = self._service_name
        self._call_protocol = multiplexed(self._protocol, name) if name else self._protocol
        self._client = self._client_class(self._call_protocol)

    def __repr__(self) -> str:
        state = "closed" if self.error else "retiring" if self.retiring else "open"
        return f"<AsyncConnection {self.endpoint.redacted_url} {state} load={self.load}>"

    # -- opening -----------------------------------------------------------------------------

    async def open(self, context: ssl.SSLContext | None, timeout: float | None = None) -> None:
        """Connect (and for TLS, handshake) within `timeout` (None: the endpoint's
        `connect_timeout`), or raise `ConnectError`."""
        endpoint = self.endpoint
        seconds = endpoint.connect_timeout if timeout is None else timeout
        hostname = None if context is None else endpoint.server_hostname or endpoint.host
        connecting: Awaitable[object]
        if endpoint.is_unix:
            connecting = self._open_unix(endpoint.path, context, hostname, seconds)
        else:
            connecting = self.loop.create_connection(
                lambda: self, endpoint.host, endpoint.port, ssl=context, server_hostname=hostname
            )
        try:
            await _within(connecting, seconds)
        except BaseException as exc:
            self._let_go_of_transport()
            if not isinstance(exc, (asyncio.TimeoutError, OSError)):
                raise
            ssl_module = sys.modules.get("ssl")
            # A peer that drops the handshake resets asyncio's connection, with no message.
            tls = context is not None and isinstance(exc, ConnectionResetError)
            tls = tls or (ssl_module is not None and isinstance(exc, ssl_module.SSLError))
            # Its traceback runs through asyncio.wait_for, whose frame (before Python 3.12)
            # keeps the task that holds it: a cycle for the collector, and only asyncio's
            # frames besides. The message says what failed.
            raise connect_failure(exc, endpoint, seconds, tls) from exc.with_traceback(None)

    def _let_go_of_transport(self) -> None:
        """The connect failed, or was cancelled, after the transport was made: close it here.
        uvloop then closes it without a word to the protocol (no connection_lost), which left
        `wait_closed` waiting for good and a cycle through the transport."""
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.abort()
        if not self._closed.done():
            self._closed.set_result(None)

    async def _open_unix(
        self, path: str, context: ssl.SSLContext | None, hostname: str | None, seconds: float
    ) -> None:
        """Connect to the unix socket at `path`, waiting up to `seconds` for room in a full
        listen backlog, as the sync client's blocking connect waits in the kernel.

        A non-blocking connect finds no room with EAGAIN and nothing tells us when there is
        some (asyncio would take the socket for connected; uvloop fails at once), so the
        connect is made again, 1 ms apart at first, doubling up to 50 ms.
        """
        give_up = self.loop.time() + seconds
        delay = 0.001
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                try:
                    sock.connect(path)
                except (BlockingIOError, InterruptedError):  # no room in the backlog yet
                    sock.close()
                    left = give_up - self.loop.time()
                    if left <= 0:
                        raise asyncio.TimeoutError() from None
                    await asyncio.sleep(min(delay, left))
                    delay = min(2 * delay, 0.05)
                    continue
                await self.loop.create_unix_connection(
                    lambda: self, sock=sock, ssl=context, server_hostname=hostname
                )
                return
            except BaseException:
                sock.close()  # a no-op once the transport owns it
                raise

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        # A view: asyncio's TLS reads fill `buf[offset:]` of it, which a bytearray would copy.
        return self._read_view

    def buffer_updated(self, nbytes: int) -> None:
        data = bytes(self._read_view[:nbytes])  # the shared buffer takes the next read
        self._reads += 1
        if self._takes_whole and self.pending:
            # The usual case first: the whole reply to the oldest call, alone in this read.
            pending = self.pending
            seqid = next(iter(pending))
            binary = pending[seqid].binary
            if binary is not None:
                decoded = self._replies.whole_reply(data, seqid, binary)
                if decoded is not None:
                    self._deliver(seqid, decoded[0], decoded[1], None)
                    return
        try:
            if self._http_head is not None:
                self._http_received(data)
            else:
                self._replies.feed(data)
                self._deliver_replies()
        except BaseException as exc:  # a malformed reply: nothing on this connection is in step
            self._break(self._hinted(exc))

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self._http_reply is not None and self.error is None:
            try:
                self._http_reply.feed_eof()  # a body delimited by the end of the connection
                self._http_received(b"")
            except ThriftBridgeError as error:  # a reply cut short, or not HTTP: it says why
                if self.pending and not self._http_reply.started:
                    add_hint(error, no_reply_hint(self.endpoint))  # closed before replying
                self._break(error)
            except BaseException as error:
                exc = exc or error  # type: ignore[assignment]
        if self.error is None:
            reason = f": {exc}" if exc else ""
            lost = TransportError(f"the peer closed the connection{reason}")
            parser = self._http_reply
            if self.pending and not self._replies.buffered and not (parser and parser.started):
                add_hint(lost, no_reply_hint(self.endpoint))  # closed before replying
            self._break(lost)
        if not self._closed.done():
            self._closed.set_result(None)
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        # uvloop's transport keeps its protocol once closed: no cycle left for the collector.
        self.transport = None

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- calls -------------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Whether no call has or awaits this connection."""
        return self.load == 0 and not self.pending

    @property
    def paused(self) -> bool:
        """Whether the transport's write buffer is over its high-water mark."""
        return self._paused

    @property
    def usable(self) -> bool:
        """Whether the connection may take another call now."""
        return self.error is None and not self.retiring and self.load < self.endpoint.pipeline

    def send(
        self,
        call: AsyncCall,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None,
        timeout: float | None = None,
        trace: CallTrace | None = None,
    ) -> asyncio.Future[Any] | None:
        """Code and write one call's request; the future of its reply (None: oneway), due
        within `timeout` (None: the endpoint's). THeader requests carry the headers of `info`
        (middleware) and of `trace` (instrumentation); HTTP requests those of `trace`."""
        name = call.name
        table = self.methods[name]
        if self.error is not None:
            raise self.error
        fast = table.fast
        try:
            if fast is not None and not kwargs and len(args) == fast.arity:
                proto = self._call_protocol
                seqid = proto._last_seqid = (proto._last_seqid + 1) & 0x7FFFFFFF
                request = fast.request(seqid, args)
                if self._zlib:  # one compressed stream: the stack compresses, in order
                    self._stack.send_message(*request)
                    parts = self._sink.take()
                else:
                    parts = [request] if isinstance(request, bytes) else list(request)
                    if self._framed:
                        parts.insert(0, _FRAME_LENGTH(sum(map(len, parts))))
            else:
                if self._header is not None:
                    if info is not None:
                        send_headers(self._header, self.endpoint, info)
                    if trace is not None and trace.headers:
                        for key, value in trace.headers.items():
                            self._header.set_header(key.encode(), value.encode())
                self._sink.begin_call()
                getattr(self._client, f"send_{name}")(*args, **kwargs)
                seqid = self._call_protocol._last_seqid
                parts = self._sink.take()
        except Exception as exc:  # nothing was written: name the argument that did not fit
            if isinstance(exc, ThriftBridgeError):
                raise
            error = argument_error(self._client_class, self._service_name, name, args, kwargs)
            if error is None:
                raise
            raise error from exc
        head = self._http_head
        if head is not None:
            extra = budget_line(time.monotonic())
            if trace is not None and trace.headers:
                extra = header_lines(trace.headers) + extra
            if extra:
                head = with_header_lines(head, extra)
            body = b"".join(parts)
            parts = [head + b"%d\r\n\r\n" % len(body), body]
            self._http_reply = ReplyParser(self.endpoint.max_message_size)
        call.seqid = seqid
        if self.pending:
            # Calls already in flight (pipelining): gather this request with the others made
            # before the loop comes round, for one write and one wake-up of the server.
            if not self._outbox:
                self.loop.call_soon(self._flush)
            self._outbox += parts
        else:
            assert self.transport is not None
            self.transport.write(parts[0] if len(parts) == 1 else b"".join(parts))
        call.written = True
        # Over HTTP a oneway call still gets an (empty) HTTP reply, awaited like any other.
        if not table.oneway or self._http_head is not None:
            call.future = self.loop.create_future()
            self.pending[seqid] = call
            if timeout is None:
                call.deadline = self.loop.time() + self.endpoint.timeout
            else:
                call.deadline = self.loop.time() + timeout
                call.timeout = timeout
            watchdog = self._watchdog
            if watchdog is None:
                self._watch_from(call.deadline)
            elif call.deadline < self._watch_at:  # cut short by a deadline: watch it first
                watchdog.cancel()
                self._watch_from(call.deadline)
        return call.future

    async def call(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        info: Call | None,
        *,
        pinned: bool = False,
        timeout: float | None = None,
        trace: CallTrace | None = None,
    ) -> Any:
        """Run one call on this connection: its result, or what it raised.

        Cancelled, the call is abandoned and the connection keeps its share until the reply
        is drained: the caller must not release it. Anything else raised comes as a
        `CallError` (the error and the call's state), for the caller to settle.
        """
        if info is not None:
            info.endpoint = self.endpoint.redacted_url
        call = AsyncCall(self, name, self.methods[name])
        call.owns_share = not pinned  # a pinned session holds one share for all its calls
        try:
            future = self.send(call, args, kwargs, info, timeout, trace)
            if future is None:  # oneway: done once written (and out of our buffer)
                if self._paused:
                    await self.drain()
                return None
            result = await future
        except asyncio.CancelledError:
            self.abandon(call)  # the connection, not the caller, gives back the call's share
            raise
        except BaseException as exc:
            try:
                raise CallError(exc, call, self) from None
            finally:
                # The error's traceback keeps this frame: no cycle through its locals (`_steps`).
                del call
                future = None
        if info is not None and call.headers is not None:
            info.reply_headers = call.headers
        return result

    def _flush(self) -> None:
        """Write the requests gathered since the last write, at once."""
        outbox, self._outbox = self._outbox, []
        if self.transport is not None and self.error is None:
            self.transport.write(b"".join(outbox))

    async def drain(self) -> None:
        """Wait until the transport takes more data (or the connection is gone)."""
        if self._drained is None or self._drained.done():
            self._drained = self.loop.create_future()
        await asyncio.shield(self._drained)

    def abandon(self, call: AsyncCall) -> None:
        """A caller gave up on `call`: its reply, when it comes, is read and dropped, and only
        then is the call's share of the connection free (the caller does not release it)."""
        # Pending means no reply yet; the task's cancellation has usually cancelled the
        # future already, so "done" alone does not say the reply came.
        if call.future is not None and self.pending.get(call.seqid) is call:
            call.abandoned = call.cancelled = True
        elif call.owns_share:
            self.release()

    def forget_request(self) -> None:
        """Drop a request that failed while being coded (nothing was written)."""
        last = self._call_protocol._last_seqid
        self._sink.take()
        self._stack.clear_request()
        self._build_protocol()
        self._call_protocol._last_seqid = last

    def _deliver_replies(self) -> None:
        """Hand every complete reply to its call (or drop it, for a cancelled call)."""
        pending, replies = self.pending, self._replies
        while True:
            if pending:  # the oldest call: answered next when the server answers in order
                seqid = next(iter(pending))
                decoded = replies.next_reply(pending.get, seqid, pending[seqid].binary)
            else:
                decoded = replies.next_reply(pending.get)
            if decoded is None:
                break
            self._deliver(*decoded)
        if replies.deferred and not self._rechecking:
            self._rechecking = True
            self.loop.call_soon(self._recheck, self._reads, False)

    def _recheck(self, reads: int, waited: bool) -> None:
        """A decode was put off after a full read: try it once two turns of the loop pass
        with no more bytes (a read ready by then runs first), lest a reply that happened to
        end a full read wait for bytes that never come."""
        if self.error is not None or not self._replies.deferred:
            self._rechecking = False
        elif reads != self._reads or not waited:  # more bytes came, or one turn only
            self.loop.call_soon(self._recheck, self._reads, reads == self._reads)
        else:
            self._rechecking = False
            self._replies.retry()
            try:
                self._deliver_replies()
            except BaseException as exc:  # a malformed reply: nothing on this connection is in step
                self._break(self._hinted(exc))

    def _deliver(self, seqid: int, ok: bool, value: Any, headers: dict[str, str] | None) -> None:
        """One reply to the call awaiting `seqid`."""
        call = self.pending.pop(seqid)
        call.headers = headers
        if call.abandoned:
            if call.cancelled and call.owns_share:
                self.release()  # the drained call's share of the connection is free again
            elif self.retiring and not self._live():
                self.close()  # the last reply a retiring connection waited for
            return
        future = call.future
        assert future is not None
        if not future.done():
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _http_received(self, data: bytes) -> None:
        """HTTP: the reply to the one request in flight, once complete."""
        parser = self._http_reply
        if parser is None:
            raise TransportError("bytes from the server while no request was in flight")
        try:  # the server's words may quote the request, and its secrets with it
            if data:
                parser.feed(data)
            reply = parser.reply()
            if reply is None:
                return
            self._http_reply = None
            body = thrift_body(reply, self.endpoint)
        except TransportError as exc:
            raise scrubbed(exc, self.endpoint) from None
        seqid = next(iter(self.pending), None)
        if seqid is not None and self.methods[self.pending[seqid].name].oneway:
            self._deliver(seqid, True, None, None)  # the empty reply to a oneway request
        else:
            self._replies.feed_message(body)
            self._deliver_replies()
        if not reply.keep_alive:
            self.retire()

    def _hinted(self, exc: BaseException) -> BaseException:
        """A reply that could not be read, with what its first bytes say the server speaks."""
        hint = reply_hint(self._replies.head(), self.endpoint)
        if hint is None:
            return exc
        error = (
            exc if isinstance(exc, ThriftBridgeError) else ProtocolError(f"malformed reply: {exc}")
        )
        if error is not exc:
            error.__cause__ = exc
        return add_hint(error, hint)

    def _watch(self) -> None:
        """The earliest deadline came: expire the calls past theirs; watch the next one."""
        self._watchdog = None
        now = self.loop.time()
        for call in list(self.pending.values()):
            if call.deadline <= now:
                self._expire(call)
        if self.pending and self.error is None:
            self._watch_from(min(call.deadline for call in self.pending.values()))

    def _watch_from(self, deadline: float) -> None:
        """Watch the calls from `deadline` (loop time), the earliest of theirs."""
        self._watchdog = self.loop.call_at(deadline, self._watch)
        self._watch_at = deadline  # its when(), without a method call per request

    def _expire(self, call: AsyncCall) -> None:
        """`call`'s deadline passed: it times out, and the connection retires."""
        future = call.future
        if future is not None and not future.done() and not call.abandoned:
            unsent = self.transport is not None and self.transport.get_write_buffer_size() > 0
            timeout = call.timeout or self.endpoint.timeout
            error: TransportError = write_timeout(timeout) if unsent else read_timeout(timeout)
            error.endpoint = self.endpoint.redacted_url
            future.set_exception(error)
        if call.cancelled:  # a cancelled call's reply never came: its share goes with the retiring
            self.pending.pop(call.seqid, None)
            self.load -= call.owns_share
        call.abandoned = True  # a late reply is drained; none at all: the retiring closes
        self.retire()

    def release(self) -> None:
        """One call is done with this connection (or its cancelled call drained)."""
        self.load -= 1
        if self.retiring and not self._live():
            self.close()
        else:
            self.on_free(self)

    def retire(self) -> None:
        """Take no new calls; close as soon as no call is still awaited."""
        self.retiring = True
        if not self._live():
            self.close()

    def _live(self) -> bool:
        """Whether a caller still awaits a reply on this connection."""
        return any(not call.abandoned for call in self.pending.values())

    def _break(self, exc: BaseException) -> None:
        """The connection is out of step or gone: fail every awaited call, close it."""
        if self.error is None:
            # Mapped as the sync client maps a failed read (a malformed reply: ProtocolError).
            where = self.endpoint.redacted_url
            error = wrap_error(exc, where, reading=True) or TransportError(f"{exc}", endpoint=where)
            if error is not exc:
                error.__cause__ = exc
            self.error = error
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for call in list(self.pending.values()):
            if call.future is not None and not call.future.done():
                call.future.set_exception(self.error)
        self.pending.clear()
        if self.transport is not None:
            self.transport.close()
        self.on_free(self)

    def close(self) -> None:
        """Close the connection; calls still awaited fail with `TransportError`."""
        self._break(TransportError("the connection was closed"))

    async def wait_closed(self, cut_after: float) -> None:
        """Wait until the transport has closed; abort it past `cut_after` seconds or when
        cancelled (a TLS peer that never answers close_notify)."""
        transport = self.transport
        if transport is None:
            return
        try:
            await _within(asyncio.shield(self._closed), cut_after)
        except asyncio.TimeoutError:
            pass
        finally:
            if not self._closed.done():
                transport.abort()  # connection_lost follows at the loop's next turn
        await asyncio.shield(self._closed)

    def abandon_after_fork(self) -> None:
        """In a forked child: let go of the parent's socket without a byte (no FIN, no alert)."""
        self.error = TransportError("this connection belongs to the parent process")
        transport = self.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None and sock.fileno() >= 0:
            # The fd number stays taken by /dev/null until the old transport closes it, so a
            # new socket of the child can never be closed by the parent's leftovers.
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, sock.fileno())
            finally:
                os.close(null)


_connections: weakref.WeakSet[AsyncConnection] = weakref.WeakSet()


def inherited_connections() -> list[AsyncConnection]:
    """Every async connection this process holds (for the after-fork reset)."""
    return list(_connections)


async def _within(connecting: Awaitable[object], seconds: float) -> None:
    """Await `connecting` for up to `seconds`, or raise `asyncio.TimeoutError`.

    On Python 3.11 `asyncio.wait_for` runs the awaitable in a task of its own, and on time
    out waits for that task to end: two more turns of the loop each way, which a busy loop
    makes milliseconds late. `asyncio.timeout` cancels the caller's own task, in place (and
    3.12's `wait_for` is made of it); 3.9 and 3.10 have only `wait_for`.
    """
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            await connecting
    else:
        await asyncio.wait_for(connecting, seconds)
