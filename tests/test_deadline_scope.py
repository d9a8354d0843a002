"""`deadline()` blocks: one budget for every attempt, nested, per thread and per asyncio task.

Time is a parameter: blocks are entered with an explicit `now`, and the budget is read at
explicit times, so nothing here waits on the clock.
"""

from __future__ import annotations

import asyncio
import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import thrift_bridge
from thrift_bridge import ConfigError, DeadlineExceeded, Timeout, deadline
from thrift_bridge._deadline import (
    attempt_timeout,
    budget_from_headers,
    current,
    decode_budget,
    encode_budget,
    exceeded,
    expired,
    outgoing_budget,
    remaining,
)
from thrift_bridge.generated.demo.ttypes import CustomerNotFound


def test_a_block_sets_the_budget_and_restores_none_after():
    assert remaining(100.0) is None
    with deadline(0.2, now=100.0) as block:
        assert block.at == pytest.approx(100.2)
        assert current() == pytest.approx(100.2)
        assert remaining(100.05) == pytest.approx(0.15)
        assert block.remaining(100.3) == pytest.approx(-0.1)
        assert not expired(100.1)
        assert expired(100.2)
    assert current() is None
    assert not expired(1e9)


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        pytest.param(1.0, 5.0, 101.0, id="a longer inner block keeps the outer deadline"),
        pytest.param(5.0, 1.0, 101.0, id="a shorter inner block wins"),
        pytest.param(1.0, None, 101.0, id="deadline(None) inherits"),
        pytest.param(None, 2.0, 102.0, id="inside deadline(None), its own"),
    ],
)
def test_nested_blocks_take_the_earlier_deadline(outer, inner, expected):
    with deadline(outer, now=100.0):
        before = current()
        with deadline(inner, now=100.0):
            assert current() == pytest.approx(expected)
        assert current() == before


def test_the_inner_deadline_counts_from_when_the_inner_block_starts():
    with deadline(10.0, now=0.0), deadline(3.0, now=8.0):
        assert current() == pytest.approx(10.0)  # 8 + 3 = 11 is later: the outer stands
    with deadline(10.0, now=0.0), deadline(1.0, now=8.0):
        assert current() == pytest.approx(9.0)


def test_without_now_the_block_starts_on_the_monotonic_clock():
    import time

    before = time.monotonic()
    with deadline(60.0):
        at = current()
    assert at is not None
    assert before + 60.0 <= at <= time.monotonic() + 60.0


@pytest.mark.parametrize(
    "seconds",
    [-0.001, math.nan, math.inf, pytest.param(10**5000, id="5000 digits"), True, "1", [1]],
)
def test_a_bad_budget_is_a_config_error(seconds):
    with pytest.raises(ConfigError, match="invalid deadline"):
        deadline(seconds)


def test_a_zero_budget_is_already_spent():
    with deadline(0, now=5.0):
        assert expired(5.0)
        with pytest.raises(DeadlineExceeded):
            attempt_timeout(30.0, 5.0)


def test_a_block_cannot_be_entered_twice_at_once():
    block = deadline(1.0, now=0.0)
    with block, pytest.raises(RuntimeError, match="already entered"), block:
        pass
    with block:  # once left, it may be entered again
        assert current() == pytest.approx(1.0)


def test_an_immutable_generated_exception_passes_through_unchanged():
    # contextlib's generator managers set __traceback__, which these exceptions refuse.
    error = CustomerNotFound(message="no such customer", customer_id=7)
    with pytest.raises(CustomerNotFound) as caught, deadline(1.0):
        raise error
    assert caught.value is error
    assert current() is None


def test_each_thread_sees_only_its_own_block():
    barrier = threading.Barrier(2, timeout=10)
    seen: dict[str, object] = {}

    def worker(name: str, seconds: float) -> None:
        with deadline(seconds, now=0.0):
            barrier.wait()  # both blocks are open at once
            seen[name] = current()
            barrier.wait()
        seen[name + " after"] = current()

    threads = [
        threading.Thread(target=worker, args=("a", 1.0)),
        threading.Thread(target=worker, args=("b", 2.0)),
    ]
    with deadline(0.5, now=0.0):  # the main thread's block is not the workers'
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert seen == {"a": 1.0, "b": 2.0, "a after": None, "b after": None}


def test_asyncio_tasks_inherit_the_block_they_start_in_and_keep_their_own_to_themselves():
    async def child(name: str, seconds: float, log: dict[str, object]) -> None:
        log[name + " start"] = current()
        with deadline(seconds, now=0.0):
            await asyncio.sleep(0)  # let the sibling run inside its own block
            log[name] = current()
        log[name + " end"] = current()

    async def main() -> dict[str, object]:
        log: dict[str, object] = {}
        with deadline(3.0, now=0.0):
            await asyncio.gather(child("a", 1.0, log), child("b", 2.0, log))
            log["parent"] = current()
        log["parent after"] = current()
        return log

    assert asyncio.run(main()) == {
        "a start": 3.0,
        "b start": 3.0,
        "a": 1.0,
        "b": 2.0,
        "a end": 3.0,
        "b end": 3.0,
        "parent": 3.0,
        "parent after": None,
    }


def test_attempt_timeout_is_the_timeout_cut_to_the_budget_left():
    assert attempt_timeout(30.0, 0.0) == 30.0  # no deadline: the endpoint's timeout
    with deadline(2.0, now=10.0):
        assert attempt_timeout(30.0, 10.5) == pytest.approx(1.5)
        assert attempt_timeout(1.0, 10.5) == 1.0
        with pytest.raises(DeadlineExceeded) as caught:
            attempt_timeout(30.0, 12.25, method="add", endpoint="tcp://h:1")
    error = caught.value
    assert isinstance(error, Timeout)
    assert (error.method, error.endpoint) == ("add", "tcp://h:1")
    assert "deadline exceeded" in str(error)
    assert "2s budget" in str(error)
    assert "0.250s ago" in str(error)


def test_exceeded_builds_the_error_for_a_timeout_the_deadline_caused():
    with deadline(0.2, now=0.0):
        error = exceeded(0.2, method="get")
    assert isinstance(error, DeadlineExceeded)
    assert str(error) == (
        "deadline exceeded: the 0.2s budget of the enclosing deadline() block ran out "
        "(method 'get')"
    )
    assert str(exceeded(0.0)) == "deadline exceeded"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "200"), (0.2001, "201"), (0.0001, "1"), (0.0, "1"), (12.5, "12500")],
)
def test_the_budget_header_is_whole_milliseconds_rounded_up(seconds, text):
    assert encode_budget(seconds) == text


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("200", 0.2),
        (b"150", 0.15),
        (" 100 ", 0.1),
        ("2.5", 0.0025),
        ("0", 0.0),
        ("-5", None),
        ("abc", None),
        ("nan", None),
        ("inf", None),
        (b"\xff", None),
        ("", None),
    ],
)
def test_decoding_the_budget_header(value, seconds):
    assert decode_budget(value) == (None if seconds is None else pytest.approx(seconds))


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_a_budget_survives_the_header_rounded_up_to_the_millisecond(seconds):
    decoded = decode_budget(encode_budget(seconds))
    assert decoded is not None
    assert seconds - 1e-9 <= decoded <= max(seconds, 0.001) + 0.001


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({b"Deadline-Budget": b"250"}, 0.25),
        ({b"deadline-budget": b"40"}, 0.04),
        ({"DEADLINE-BUDGET": "1000"}, 1.0),
        ({b"Trace": b"1"}, None),
        ({"Deadline-Budget": "soon"}, None),
        ({}, None),
    ],
)
def test_a_server_reads_the_budget_from_theader_headers(headers, seconds):
    assert budget_from_headers(headers) == (None if seconds is None else pytest.approx(seconds))


def test_a_server_runs_its_handler_under_the_callers_budget():
    with deadline(budget_from_headers({b"Deadline-Budget": b"120"}), now=50.0):
        assert remaining(50.0) == pytest.approx(0.12)
    with deadline(budget_from_headers({}), now=50.0):  # none sent: no deadline
        assert remaining(50.0) is None


def test_deadline_is_public():
    assert thrift_bridge.deadline is deadline
    assert thrift_bridge.DeadlineExceeded is DeadlineExceeded


def test_a_request_carries_what_the_deadline_leaves_in_whole_milliseconds():
    assert outgoing_budget(50.0) is None  # no deadline: no header
    with deadline(0.25, now=50.0):
        assert outgoing_budget(50.0) == "250"
        assert outgoing_budget(50.1004) == "150"  # rounded up
        assert outgoing_budget(51.0) == "1"  # passed: the least there is
