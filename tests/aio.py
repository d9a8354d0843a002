"""Helpers for async tests: bounded awaits and bounded waits for a condition."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

#: Bound on any single await that could hang if the client were wrong.
BOUND = 10.0


def bounded(awaitable: Awaitable[Any]) -> Awaitable[Any]:
    """`awaitable`, failing the test instead of hanging."""
    return asyncio.wait_for(awaitable, BOUND)


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Yield to the loop until `predicate()` holds (bounded in rounds and time)."""
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")
