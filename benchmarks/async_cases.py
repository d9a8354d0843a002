"""The asyncio rows of `make bench`: `AsyncClient` against the sync `Client`, thriftpy2's aio
client, and the shortcut of running the sync client in threads (`asyncio.to_thread`).

A case here is a block: ``block(n)`` makes `n` 16 B echo calls and returns (async ones on an
event loop the block runs itself), so sync and async cases are timed alike and paired by round.
Sequential blocks await one call after another; task blocks spread `n` calls over `TASKS`
tasks sharing the client (or each owning one, for thriftpy2, which cannot share).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.cases import SMALL, Context, Unavailable
from benchmarks.servers import ROOT

Block = Callable[[int], None]
TASKS = 256

#: Row names, used by the targets in `benchmarks/run.py`.
SYNC = "sync `Client` (reference)"
ASYNC = "`AsyncClient`, asyncio loop"
ASYNC_UVLOOP = "`AsyncClient`, uvloop"
TP2_AIO = "thriftpy2 `make_aio_client`, asyncio loop"
TO_THREAD = "`asyncio.to_thread(sync Client call)`"
TASKS_OURS = f"{TASKS} tasks share one `AsyncClient` (pool 8)"
TASKS_OURS_UVLOOP = f"{TASKS} tasks share one `AsyncClient` (pool 8), uvloop"
TASKS_TP2 = f"{TASKS} tasks, a thriftpy2 aio client each"
TASKS_TO_THREAD = f"{TASKS} tasks, `to_thread` over one sync `Client` (pool 8)"
PIPELINE_1 = f"{TASKS} tasks, one connection, pipeline=1"
PIPELINE_16 = f"{TASKS} tasks, one connection, pipeline=16"
#: The floors: a client costing nothing on asyncio's loop (a bare `asyncio.Protocol` writing a
#: pre-encoded request and cutting replies by their known size, matched in order).
ASYNC_FLOOR = "floor: bare asyncio Protocol, pre-encoded request, asyncio loop"
PIPELINE_FLOOR_1 = f"floor: {TASKS} tasks, bare asyncio Protocol, one connection, pipeline=1"
PIPELINE_FLOOR_16 = f"floor: {TASKS} tasks, bare asyncio Protocol, one connection, pipeline=16"
SEQUENTIAL_ROWS = (SYNC, ASYNC, ASYNC_UVLOOP, TP2_AIO, TO_THREAD, ASYNC_FLOOR)
TASK_ROWS = (
    TASKS_OURS,
    TASKS_OURS_UVLOOP,
    TASKS_TP2,
    TASKS_TO_THREAD,
    PIPELINE_1,
    PIPELINE_16,
    PIPELINE_FLOOR_1,
    PIPELINE_FLOOR_16,
)


class AsyncContext:
    """Event loops and async clients for the blocks, closed together by `close()`."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self._loops: dict[str, asyncio.AbstractEventLoop] = {}
        self._clients: dict[str, tuple[asyncio.AbstractEventLoop, Any]] = {}

    def loop(self, kind: str = "asyncio") -> asyncio.AbstractEventLoop:
        """A loop of `kind` (asyncio or uvloop), made once."""
        if kind not in self._loops:
            if kind == "uvloop":
                try:
                    import uvloop
                except ImportError as exc:
                    raise Unavailable(f"uvloop is not installed ({exc})") from exc
                self._loops[kind] = uvloop.new_event_loop()
            else:
                self._loops[kind] = asyncio.new_event_loop()
        return self._loops[kind]

    def ours(self, kind: str = "asyncio", pool_size: int = 8, pipeline: int = 1) -> Any:
        """An `AsyncClient` on the bench server's binary endpoint (one per loop and shape)."""
        from thrift_bridge import AsyncClient

        key = f"ours {kind} {pool_size} {pipeline}"
        if key not in self._clients:
            url = f"{self.ctx.servers.url('binary')}?pipeline={pipeline}"
            client = AsyncClient(self.ctx.bench_module(), url, pool_size=pool_size)
            self._clients[key] = (self.loop(kind), client)
        return self._clients[key][1]

    def thriftpy2(self, key: str) -> Any:
        """One thriftpy2 aio client (its own connection) with its binary protocol."""
        try:
            import thriftpy2
            from thriftpy2.contrib.aio.rpc import make_client
        except ImportError as exc:
            raise Unavailable(
                f"thriftpy2 is not installed ({exc}); pip install -e '.[bench]'"
            ) from exc
        key = f"thriftpy2 {key}"
        if key not in self._clients:
            module = sys.modules.get("bench_thrift") or thriftpy2.load(
                str(ROOT / "idl" / "bench.thrift"), module_name="bench_thrift"
            )
            servers, loop = self.ctx.servers, self.loop()
            client = loop.run_until_complete(
                make_client(module.Bench, servers.host, servers.ports["binary"], timeout=30000)
            )
            self._clients[key] = (loop, client)
        return self._clients[key][1]

    def floor(self, pipeline: int) -> _FloorClient:
        """A zero-cost client on one connection of its own (one per `pipeline`)."""
        key = f"floor {pipeline}"
        if key not in self._clients:
            servers, loop = self.ctx.servers, self.loop()
            client = loop.run_until_complete(
                _FloorClient.connect(servers.host, servers.ports["binary"], pipeline)
            )
            self._clients[key] = (loop, client)
        return self._clients[key][1]

    def close(self) -> None:
        """Close every client on its loop, then the loops."""
        for loop, client in self._clients.values():
            with contextlib.suppress(Exception):  # a peer's close may fail; keep cleaning up
                if hasattr(client, "aclose"):
                    loop.run_until_complete(client.aclose())
                else:
                    client.close()
        self._clients.clear()
        for loop in self._loops.values():
            loop.close()
        self._loops.clear()


def _message(obj: Any, name: str, kind: int) -> bytes:
    """`obj` as one binary-protocol message (sequence id 0), as Apache's codec writes it."""
    from thrift.protocol.TBinaryProtocol import TBinaryProtocol
    from thrift.transport.TTransport import TMemoryBuffer

    out = TMemoryBuffer()
    proto = TBinaryProtocol(out)
    proto.writeMessageBegin(name, kind, 0)
    obj.write(proto)
    proto.writeMessageEnd()
    return out.getvalue()


class _FloorClient(asyncio.BufferedProtocol):
    """The floor of an asyncio client: a pre-encoded echo request written, its reply cut by
    its known size and handed to the oldest caller (the server answers in order); up to
    `pipeline` calls in flight, the rest waiting in line; requests made while others are in
    flight written together when the loop comes round, as `AsyncClient` writes them. Reads
    land in a buffer of its own (asyncio's own reads allocate 256 KiB each, which glibc may
    serve with mmap and munmap per read: see `_async._connection`)."""

    def __init__(self, pipeline: int):
        from benchmarks.generated.bench import Bench

        self.request = _message(Bench.echo_args(SMALL), "echo", 1)
        self.reply_size = len(_message(Bench.echo_result(success=SMALL), "echo", 2))
        self.room = pipeline
        self.line: collections.deque[asyncio.Future[None]] = collections.deque()
        self.waiting: collections.deque[asyncio.Future[bytes]] = collections.deque()
        self.outbox: list[bytes] = []
        self.unread = b""
        self.view = memoryview(bytearray(256 * 1024))
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = self.loop.create_future()

    @classmethod
    async def connect(cls, host: str, port: int, pipeline: int) -> _FloorClient:
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(lambda: cls(pipeline), host, port)
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        unread, size = self.unread + self.view[:nbytes], self.reply_size
        whole = len(unread) // size
        for i in range(whole):
            self.waiting.popleft().set_result(unread[i * size : (i + 1) * size])
        self.unread = unread[whole * size :]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set_result(None)
        for future in self.waiting:
            if not future.done():
                future.set_exception(ConnectionError(f"the bench server closed: {exc}"))

    def _flush(self) -> None:
        outbox, self.outbox = self.outbox, []
        assert self.transport is not None
        self.transport.write(b"".join(outbox))

    async def echo(self, value: str) -> bytes:
        if self.room == 0 or self.line:
            waiter = self.loop.create_future()
            self.line.append(waiter)
            await waiter
        else:
            self.room -= 1
        assert self.transport is not None
        if self.waiting:
            if not self.outbox:
                self.loop.call_soon(self._flush)
            self.outbox.append(self.request)
        else:
            self.transport.write(self.request)
        reply = self.loop.create_future()
        self.waiting.append(reply)
        try:
            return await reply
        finally:
            if self.line:
                self.line.popleft().set_result(None)  # room handed over
            else:
                self.room += 1

    async def aclose(self) -> None:
        """Close the connection and wait until the transport has."""
        if self.transport is not None:
            self.transport.close()
            await self.closed


async def _sequential(call: Callable[[], Awaitable[object]], n: int) -> None:
    for _ in range(n):
        await call()


async def _tasks(calls: list[Callable[[], Awaitable[object]]], n: int) -> None:
    """Exactly `n` calls, spread evenly over one task per call function."""
    share, extra = divmod(n, len(calls))

    async def worker(call: Callable[[], Awaitable[object]], count: int) -> None:
        for _ in range(count):
            await call()

    await asyncio.gather(
        *(worker(call, share + (i < extra)) for i, call in enumerate(calls) if share or i < extra)
    )


def _on(loop: asyncio.AbstractEventLoop, run: Callable[[int], Awaitable[None]]) -> Block:
    return lambda n: loop.run_until_complete(run(n))


def sequential_blocks(actx: AsyncContext) -> dict[str, Callable[[], Block]]:
    """Row name -> a factory of its block: one awaited call after another."""
    ctx = actx.ctx

    def sync() -> Block:
        client = ctx.ours()

        def block(n: int) -> None:
            for _ in range(n):
                client.echo(SMALL)

        return block

    def ours(kind: str) -> Callable[[], Block]:
        def make() -> Block:
            loop, client = actx.loop(kind), actx.ours(kind)
            return _on(loop, lambda n: _sequential(lambda: client.echo(SMALL), n))

        return make

    def thriftpy2() -> Block:
        client = actx.thriftpy2("sequential")
        return _on(actx.loop(), lambda n: _sequential(lambda: client.echo(SMALL), n))

    def to_thread() -> Block:
        client = ctx.ours()
        call = client.echo
        return _on(actx.loop(), lambda n: _sequential(lambda: _to_thread(call, SMALL), n))

    def floor() -> Block:
        client = actx.floor(1)
        return _on(actx.loop(), lambda n: _sequential(lambda: client.echo(SMALL), n))

    return {
        SYNC: sync,
        ASYNC: ours("asyncio"),
        ASYNC_UVLOOP: ours("uvloop"),
        TP2_AIO: thriftpy2,
        TO_THREAD: to_thread,
        ASYNC_FLOOR: floor,
    }


def task_blocks(actx: AsyncContext) -> dict[str, Callable[[], Block]]:
    """Row name -> a factory of its block: `TASKS` tasks calling at once."""
    ctx = actx.ctx

    def ours(kind: str, pool_size: int = 8, pipeline: int = 1) -> Callable[[], Block]:
        def make() -> Block:
            loop, client = actx.loop(kind), actx.ours(kind, pool_size, pipeline)
            calls = [lambda: client.echo(SMALL)] * TASKS
            return _on(loop, lambda n: _tasks(calls, n))

        return make

    def floor(pipeline: int) -> Callable[[], Block]:
        def make() -> Block:
            client = actx.floor(pipeline)
            calls = [lambda: client.echo(SMALL)] * TASKS
            return _on(actx.loop(), lambda n: _tasks(calls, n))

        return make

    def thriftpy2() -> Block:
        clients = [actx.thriftpy2(f"task {i}") for i in range(TASKS)]
        calls = [lambda c=c: c.echo(SMALL) for c in clients]
        return _on(actx.loop(), lambda n: _tasks(calls, n))

    def to_thread() -> Block:
        client = ctx.ours(pool_size=8)
        calls = [lambda: _to_thread(client.echo, SMALL)] * TASKS
        return _on(actx.loop(), lambda n: _tasks(calls, n))

    return {
        TASKS_OURS: ours("asyncio"),
        TASKS_OURS_UVLOOP: ours("uvloop"),
        TASKS_TP2: thriftpy2,
        TASKS_TO_THREAD: to_thread,
        PIPELINE_1: ours("asyncio", pool_size=1, pipeline=1),
        PIPELINE_16: ours("asyncio", pool_size=1, pipeline=16),
        PIPELINE_FLOOR_1: floor(1),
        PIPELINE_FLOOR_16: floor(16),
    }


def _to_thread(call: Callable[[str], object], arg: str) -> Awaitable[object]:
    """`asyncio.to_thread(call, arg)`, the shortcut a user without an async client takes."""
    return asyncio.to_thread(call, arg)
