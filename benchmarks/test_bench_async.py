"""The asyncio rows of `make bench`, each run once at a small size (a smoke check)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from benchmarks import async_cases as ac
from benchmarks import cases as c

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def async_context(bench_context: c.Context) -> Iterator[ac.AsyncContext]:
    actx = ac.AsyncContext(bench_context)
    try:
        yield actx
    finally:
        actx.close()


ROWS = [
    *((ac.sequential_blocks, name) for name in ac.SEQUENTIAL_ROWS),
    *((ac.task_blocks, name) for name in ac.TASK_ROWS),
]


def test_the_row_lists_name_every_row(async_context: ac.AsyncContext) -> None:
    assert tuple(ac.sequential_blocks(async_context)) == ac.SEQUENTIAL_ROWS
    assert tuple(ac.task_blocks(async_context)) == ac.TASK_ROWS


@pytest.mark.parametrize(("table", "name"), ROWS, ids=[name for _, name in ROWS])
def test_every_async_row_runs(async_context: ac.AsyncContext, table, name) -> None:
    try:
        block = table(async_context)[name]()
    except c.Unavailable as exc:
        pytest.skip(str(exc))
    block(ac.TASKS + 3)  # every task calls once, three of them twice


@pytest.mark.parametrize("n", [0, 1, 5, 256, 1000])
def test_a_task_block_makes_exactly_n_calls(n: int) -> None:
    made = 0

    async def call() -> None:
        nonlocal made
        made += 1
        await asyncio.sleep(0)

    asyncio.run(ac._tasks([call] * 7, n))
    assert made == n
