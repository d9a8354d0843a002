"""How a call ends (`_caller`): keep or discard, retry or raise, the same on every call path."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from thrift.Thrift import TApplicationException

from thrift_bridge import AsyncClient, Client, ProtocolError, ReadTimeout, TransportError

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import BadInput
from .misbehaving import serve_misbehaving

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from thrift_bridge.testing import LoopbackServer

#: The call timeout of the matrix: the "read timeout" server never answers, so each of those
#: cases waits this long; every other call is a loopback round trip well within it.
TIMEOUT = 1.0
#: Bound on anything an async step awaits, and on polls for the loop to catch up.
BOUND = 10.0

# --- every call path x every way a call can fail ------------------------------------------

#: (id, method, positional arguments, argument names, what the caller gets, connection kept)
OUTCOMES = [
    ("read timeout", "echo_string", ("hang",), ("value",), ReadTimeout, False),
    ("reset mid-reply", "echo_string", ("reset",), ("value",), TransportError, False),
    ("malformed reply", "echo_string", ("garbage",), ("value",), ProtocolError, False),
    ("declared exception", "raise_error", (1,), ("kind",), BadInput, True),
    ("application exception", "raise_error", (3,), ("kind",), TApplicationException, True),
]


class SyncPath:
    """One way of making a call with `Client`."""

    def __init__(self, kind: str):
        self.kind = kind
        self.seen: list[type[BaseException]] = []  # what the middleware saw raised

    def layer(self, call: Any, proceed: Callable[[Any], Any]) -> Any:
        """A middleware that notes what each call raised."""
        try:
            return proceed(call)
        except BaseException as exc:
            self.seen.append(type(exc))
            raise

    def open(self, urls: list[str]) -> None:
        """Build the client this path calls through."""
        middleware = [self.layer] if self.kind == "middleware" else []
        target = urls if self.kind == "several endpoints" else urls[0]
        self.client = Client(AllTypes, target, timeout=TIMEOUT, middleware=middleware)

    def call(self, method: str, args: tuple[Any, ...], names: tuple[str, ...]) -> Any:
        """Make one call on this path."""
        if self.kind == "pinned":
            with self.client.connection() as pinned:
                return pinned.call(method, *args)
        if self.kind == "invoke":
            return self.client.invoke(method, dict(zip(names, args)))
        return getattr(self.client, method)(*args)

    def stats_when(self, ready: Callable[[dict[str, int]], bool]) -> dict[str, int]:
        """The client's stats, at once: a sync call has settled its connection on return."""
        return self.client.stats()

    def close(self) -> None:
        self.client.close()


class AsyncPath(SyncPath):
    """One way of making a call with `AsyncClient`, on an event loop of its own."""

    async def alayer(self, call: Any, proceed: Callable[[Any], Any]) -> Any:
        """A middleware that notes what each call raised."""
        try:
            return await proceed(call)
        except BaseException as exc:
            self.seen.append(type(exc))
            raise

    def open(self, urls: list[str]) -> None:
        self.loop = asyncio.new_event_loop()
        middleware = [self.alayer] if self.kind == "middleware" else []
        target = urls if self.kind == "several endpoints" else urls[0]
        self.client = AsyncClient(AllTypes, target, timeout=TIMEOUT, middleware=middleware)

    def run(self, awaitable: Any) -> Any:
        """Run `awaitable` on this path's loop, bounded."""
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, BOUND))

    def call(self, method: str, args: tuple[Any, ...], names: tuple[str, ...]) -> Any:
        async def on_the_loop() -> Any:
            if self.kind == "pinned":
                async with self.client.connection() as pinned:
                    return await pinned.call(method, *args)
            if self.kind == "invoke":
                return await self.client.invoke(method, dict(zip(names, args)))
            return await getattr(self.client, method)(*args)

        return self.run(on_the_loop())

    def stats_when(self, ready: Callable[[dict[str, int]], bool]) -> dict[str, int]:
        """The client's stats once `ready` holds: the loop reports a closed socket a few
        callbacks later (bounded wait; the stats as they are then)."""
        for _ in range(int(BOUND / 0.005)):
            if ready(self.client.stats()):
                break
            self.run(asyncio.sleep(0.005))
        return self.client.stats()

    def close(self) -> None:
        try:
            self.run(self.client.aclose())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


KINDS = ["single endpoint", "several endpoints", "middleware", "pinned", "invoke"]
PATHS = [(SyncPath, kind) for kind in KINDS] + [(AsyncPath, kind) for kind in KINDS]


@pytest.fixture
def misbehaving() -> Iterator[list[LoopbackServer]]:
    """Two misbehaving AllTypes servers (framed binary), stopped afterwards."""
    with serve_misbehaving() as one, serve_misbehaving() as two:
        yield [one, two]


@pytest.mark.parametrize(
    ("path_class", "kind"),
    PATHS,
    ids=[f"{'sync' if cls is SyncPath else 'async'} {kind}" for cls, kind in PATHS],
)
@pytest.mark.parametrize(
    ("method", "args", "names", "expected", "kept"),
    [outcome[1:] for outcome in OUTCOMES],
    ids=[outcome[0] for outcome in OUTCOMES],
)
def test_every_call_path_ends_a_failed_call_the_same_way(
    misbehaving, path_class, kind, method, args, names, expected, kept
):
    """The caller gets the same exception, the connection is kept or discarded alike, stats
    show it, and the path's next call succeeds."""
    path = path_class(kind)
    path.open([server.url for server in misbehaving])
    try:
        with pytest.raises(expected) as caught:
            path.call(method, args, names)
        assert type(caught.value) is expected
        if kind == "middleware":
            assert path.seen == [expected]  # the middleware saw what the caller got
        discarded = 0 if kept else 1
        stats = path.stats_when(lambda s: s["discarded"] == discarded and not s["in_use"])
        assert stats["discarded"] == discarded
        assert stats["open"] == (1 if kept else 0)
        assert stats["in_use"] == 0
        assert stats["retries"] == 0  # the request was sent and is not idempotent
        assert path.call("echo_string", ("next",), ("value",)) == "next"
        if kept and kind != "several endpoints":  # (there the next call is the other's turn)
            assert path.client.stats()["created"] == 1  # the same connection answered it
    finally:
        path.close()
