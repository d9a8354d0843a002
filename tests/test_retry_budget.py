"""The retry budget: Finagle's 20 % of calls plus 10 retries a second over 10 s, time explicit."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrift_bridge import ConfigError
from thrift_bridge._budget import RetryBudget, RetryBudgetPolicy


def take_all(budget: RetryBudget, now: float) -> int:
    """Withdraw until refused; how many retries were granted."""
    granted = 0
    while budget.try_withdraw(now):
        granted += 1
    return granted


def test_finagle_defaults():
    assert RetryBudgetPolicy() == RetryBudgetPolicy(
        percent_can_retry=0.2, min_retries_per_sec=10, ttl=10
    )


def test_a_new_budget_holds_the_reserve_of_ten_a_second_over_the_window():
    budget = RetryBudget()
    assert budget.balance(0.0) == 100
    assert take_all(budget, 0.0) == 100
    assert budget.balance(0.0) == 0
    assert not budget.try_withdraw(5.0)  # still inside the 10 s window: exhausted


def test_every_five_calls_earn_one_retry():
    budget = RetryBudget()
    for _ in range(500):
        budget.deposit(1.0)
    assert budget.balance(1.0) == 100 + 100
    assert take_all(budget, 1.0) == 200


def test_withdrawals_expire_after_the_window_and_the_reserve_refills():
    budget = RetryBudget()
    assert take_all(budget, 0.0) == 100
    assert budget.balance(9.9) == 0
    assert budget.balance(11.0) == 100  # a slice after ttl, every withdrawal has expired


def test_deposits_expire_after_the_window():
    budget = RetryBudget()
    for _ in range(50):
        budget.deposit(0.0)
    assert budget.balance(0.5) == 110
    assert budget.balance(10.0) == 100  # the deposits of slice 0 are gone at t = 10 s


def test_a_budget_without_reserve_or_percentage_never_allows_a_retry():
    budget = RetryBudget(RetryBudgetPolicy(percent_can_retry=0, min_retries_per_sec=0))
    for _ in range(100):
        budget.deposit(0.0)
    assert not budget.try_withdraw(0.0)


def test_only_the_reserve_without_a_percentage():
    budget = RetryBudget(RetryBudgetPolicy(percent_can_retry=0, min_retries_per_sec=1, ttl=5))
    for _ in range(100):
        budget.deposit(0.0)
    assert take_all(budget, 0.0) == 5


def test_a_retry_that_never_reached_a_server_is_free():
    budget = RetryBudget(RetryBudgetPolicy(min_retries_per_sec=0))
    assert not budget.may_retry(0.0, reached_server=True)  # nothing deposited: none left
    assert budget.may_retry(0.0, reached_server=False)  # a failed connect: transparent
    budget.deposit(0.0)
    budget.deposit(0.0)
    assert budget.balance(0.0) == 0  # two calls earn 0.4 of a retry
    stats = budget.stats(0.0)
    assert stats == {"deposits": 2, "retries": 0, "refused": 1, "transparent": 1, "balance": 0}


def test_a_caller_whose_clock_read_lags_another_still_counts():
    budget = RetryBudget()
    budget.deposit(5.0)
    budget.deposit(4.9)  # read the clock first, took the lock second
    assert budget.stats(5.0)["deposits"] == 2
    assert budget.balance(5.0) == 100


def test_concurrent_withdrawals_never_overdraw():
    budget = RetryBudget()
    granted = []
    barrier = threading.Barrier(4, timeout=10)

    def worker() -> None:
        barrier.wait()
        granted.append(sum(budget.try_withdraw(1.0) for _ in range(50)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sum(granted) == 100


@pytest.mark.parametrize(
    "fields",
    [
        {"percent_can_retry": -0.1},
        {"percent_can_retry": 1001},
        {"min_retries_per_sec": -1},
        {"ttl": 0.5},
        {"ttl": 61},
        {"ttl": True},
        {"ttl": "10"},
    ],
)
def test_policy_fields_are_checked(fields):
    with pytest.raises(ConfigError, match="invalid retry_budget"):
        RetryBudgetPolicy(**fields)


# Each step: advance the clock by some milliseconds, then a call (deposit) or a retry.
STEPS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=2500), st.booleans()), min_size=1, max_size=400
)


@settings(max_examples=200, deadline=None)
@given(
    STEPS,
    st.sampled_from([0.0, 0.05, 0.2, 0.3, 1.0, 2.5]),
    st.sampled_from([0, 1, 10]),
    st.sampled_from([1, 2, 10]),
)
def test_retries_never_exceed_the_share_of_calls_plus_the_reserve(steps, percent, per_second, ttl):
    """For every retry granted at t: retries in (t - ttl, t] <= percent * calls in that
    interval + per_second * ttl (the rule stated in the module doc)."""
    budget = RetryBudget(
        RetryBudgetPolicy(percent_can_retry=percent, min_retries_per_sec=per_second, ttl=ttl)
    )
    clock_ms = 0
    calls: list[int] = []
    retries: list[int] = []
    window_ms = ttl * 1000
    for advance, is_call in steps:
        clock_ms += advance
        now = clock_ms / 1000
        if is_call:
            budget.deposit(now)
            calls.append(clock_ms)
        elif budget.try_withdraw(now):
            retries.append(clock_ms)
            recent_retries = sum(1 for t in retries if t > clock_ms - window_ms)
            recent_calls = sum(1 for t in calls if t > clock_ms - window_ms)
            assert recent_retries <= percent * recent_calls + per_second * ttl + 1e-9
