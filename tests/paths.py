"""The call paths of `Client` and `AsyncClient`, driven alike from a synchronous test.

Each path makes a call its own way (one endpoint or several, through middleware, on a pinned
connection, with `invoke`); an `AsyncPath` runs its client on an event loop of its own.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import thrift_bridge
from thrift_bridge import AsyncClient, Client

from .generated.alltypes import AllTypes

if TYPE_CHECKING:
    from collections.abc import Callable

#: Bound on anything an async step awaits, and on polls for the loop to catch up.
BOUND = 10.0
#: Every way a call is made, on either client.
KINDS = ["single endpoint", "several endpoints", "middleware", "pinned", "invoke"]


def public_type(exc: BaseException) -> type[BaseException]:
    """The most derived class of `exc` a caller can name: one of thrift_bridge's exports, or
    a class from outside thrift_bridge (the IDL's, Thrift's)."""
    for cls in type(exc).__mro__:
        if not cls.__module__.startswith("thrift_bridge") or cls.__name__ in thrift_bridge.__all__:
            return cls
    raise AssertionError(f"{exc!r} has no public class")  # pragma: no cover - object is one


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
            self.seen.append(public_type(exc))
            raise

    def open(self, urls: list[str], **options: Any) -> None:
        """Build the client this path calls through (to every URL given)."""
        middleware = [self.layer] if self.kind == "middleware" else []
        target = urls if len(urls) > 1 else urls[0]
        self.client = Client(AllTypes, target, middleware=middleware, **options)

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
            self.seen.append(public_type(exc))
            raise

    def open(self, urls: list[str], **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        middleware = [self.alayer] if self.kind == "middleware" else []
        target = urls if len(urls) > 1 else urls[0]
        self.client = AsyncClient(AllTypes, target, middleware=middleware, **options)

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
