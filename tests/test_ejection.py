"""Ejection: Finagle's hybrid failure accrual, equal-jittered rests, one probe revives."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thrift_bridge import ConfigError
from thrift_bridge._ejection import EjectionEvent, EjectionPolicy, Ejector, ejection_backoff


def ejector(**policy: object) -> tuple[Ejector[str], list[EjectionEvent]]:
    """An ejector with a seeded RNG, and the list its events land in."""
    events: list[EjectionEvent] = []
    return Ejector(EjectionPolicy(**policy), rng=random.Random(1), on_event=events.append), events


def fail(target: Ejector[str], key: str, times: int, now: float) -> None:
    for _ in range(times):
        target.record(key, now, ok=False)


def test_finagle_defaults():
    assert EjectionPolicy() == EjectionPolicy(
        consecutive_failures=5,
        success_rate=0.8,
        window=30.0,
        min_calls=5,
        base_ejection=5.0,
        max_ejection=300.0,
    )


def test_five_failures_in_a_row_eject_for_five_seconds():
    target, events = ejector()
    fail(target, "a", 4, now=100.0)
    assert target.is_usable("a", 100.0)
    target.record("a", 100.0, ok=False)
    assert not target.is_usable("a", 100.0)
    assert not target.is_usable("a", 104.999)
    assert target.state("a", 101.0) == {
        "state": "ejected",
        "until": 105.0,
        "consecutive_failures": 5,
        "success_rate": 0.0,
        "calls": 5,
        "ejections": 1,
    }
    assert events == [EjectionEvent("ejected", "a", 100.0, "5 consecutive failures", 105.0, 1)]


def test_a_success_breaks_the_run_of_failures():
    target, events = ejector(success_rate=0)
    for _ in range(10):
        fail(target, "a", 4, now=0.0)
        target.record("a", 0.0, ok=True)
    assert target.is_usable("a", 0.0)
    assert events == []


def test_a_success_sent_before_the_last_failure_does_not_break_the_run():
    """Outcomes come in the order calls end: a reply already on its way when the server died
    is older news than the failures recorded before it."""
    target, events = ejector(success_rate=0)
    for sent in (10.0, 10.1, 10.2, 10.3):
        target.record("a", 10.5, ok=False, sent=sent)
    target.record("a", 10.6, ok=True, sent=9.9)  # sent before those failures were
    assert target.state("a", 10.6)["consecutive_failures"] == 4
    assert target.state("a", 10.6)["calls"] == 5  # it still counts toward the success rate
    target.record("a", 10.7, ok=False, sent=10.4)
    assert [e.kind for e in events] == ["ejected"]
    target.record("a", 10.8, ok=True, sent=10.35)  # still older news: no revival
    assert not target.is_usable("a", 10.8)
    assert target.state("a", 10.8)["state"] == "ejected"


def test_a_success_sent_after_the_last_failure_breaks_the_run():
    target, _ = ejector(success_rate=0)
    for sent in (10.0, 10.1, 10.2, 10.3):
        target.record("a", 10.5, ok=False, sent=sent)
    target.record("a", 10.6, ok=True, sent=10.3)  # sent with the last failure: news enough
    assert target.state("a", 10.6)["consecutive_failures"] == 0


def test_a_success_rate_under_80_percent_over_the_window_ejects():
    target, events = ejector()
    for ok in (True, False, True, False):  # never two failures in a row
        target.record("a", 10.0, ok)
    assert target.is_usable("a", 10.0)  # 4 calls: under min_calls, no verdict yet
    target.record("a", 10.0, ok=False)
    assert not target.is_usable("a", 10.0)
    assert events[0].reason == "success rate 40% < 80% over 30s (5 calls)"


def test_a_success_rate_of_80_percent_or_more_is_fine():
    target, events = ejector()
    for _ in range(10):
        for ok in (True, True, True, True, False):
            target.record("a", 0.0, ok)
    assert target.is_usable("a", 0.0)
    assert target.state("a", 0.0)["success_rate"] == pytest.approx(0.8)
    assert events == []


def test_calls_older_than_the_window_no_longer_count():
    target, events = ejector(consecutive_failures=0)
    for _ in range(20):
        target.record("a", 0.0, ok=True)
    fail(target, "a", 4, now=15.0)
    assert target.is_usable("a", 15.0)  # 20 of 24 succeeded
    target.record("a", 40.0, ok=False)  # the successes at t=0 have left the 30 s window
    assert not target.is_usable("a", 40.0)
    assert "success rate 0%" in events[0].reason


def test_rules_at_zero_are_off():
    target, events = ejector(consecutive_failures=0, success_rate=0)
    fail(target, "a", 100, now=0.0)
    assert target.is_usable("a", 0.0)
    assert events == []


def test_the_next_call_after_the_rest_is_the_one_probe_and_success_revives():
    target, events = ejector()
    fail(target, "a", 5, now=0.0)
    assert target.is_usable("a", 5.0)  # rest over: a probe may go
    target.claim("a", 5.0)
    assert not target.is_usable("a", 5.0)  # the probe is out: no second call meanwhile
    assert target.state("a", 5.0)["state"] == "probing"
    target.record("a", 5.2, ok=True)
    assert target.is_usable("a", 5.2)
    assert target.state("a", 5.2) == {
        "state": "alive",
        "until": None,
        "consecutive_failures": 0,
        "success_rate": None,
        "calls": 0,
        "ejections": 0,
    }
    assert [e.kind for e in events] == ["ejected", "revived"]
    assert events[1].reason == "a call succeeded after 1 ejection(s)"


def test_a_failed_probe_ejects_again_for_longer():
    target, events = ejector()
    fail(target, "a", 5, now=0.0)
    target.claim("a", 5.0)
    target.record("a", 5.1, ok=False)
    second = events[-1]
    assert (second.kind, second.reason, second.ejections) == ("ejected", "the probe call failed", 2)
    assert second.until is not None
    assert 5.1 + 5.0 <= second.until < 5.1 + 10.0
    assert not target.is_usable("a", 5.2)


def test_an_abandoned_probe_frees_the_slot_for_another():
    target, _ = ejector()
    fail(target, "a", 5, now=0.0)
    target.claim("a", 6.0)
    assert not target.is_usable("a", 6.0)
    target.release("a")
    assert target.is_usable("a", 6.0)


def test_calls_during_the_rest_in_panic_mode():
    target, events = ejector()
    fail(target, "a", 5, now=0.0)
    target.claim("a", 1.0)  # everything is ejected: the balancer sends calls anyway
    target.record("a", 1.0, ok=False)
    assert target.state("a", 1.0)["until"] == 5.0  # a failure does not extend the rest
    target.record("a", 2.0, ok=True)  # an answer is proof of life
    assert target.is_usable("a", 2.0)
    assert [e.kind for e in events] == ["ejected", "revived"]


def test_the_event_hook_runs_outside_the_lock():
    seen = []

    def hook(event: EjectionEvent) -> None:
        seen.append(target.state(event.key, event.at)["state"])  # would deadlock under the lock

    target: Ejector[str] = Ejector(EjectionPolicy(), on_event=hook)
    fail(target, "a", 5, now=0.0)
    assert seen == ["ejected"]


def test_forget_drops_the_record():
    target, _ = ejector()
    fail(target, "a", 5, now=0.0)
    target.forget("a")
    assert target.is_usable("a", 0.0)
    assert target.state("a", 0.0)["state"] == "alive"


def test_rests_grow_with_equal_jitter_up_to_the_cap():
    target, events = ejector()
    fail(target, "a", 5, now=0.0)
    now = 0.0
    for _ in range(12):  # every probe fails
        until = events[-1].until
        assert until is not None
        now = until
        target.claim("a", now)
        target.record("a", now, ok=False)
    rests = [round(e.until - e.at, 9) for e in events if e.until is not None]
    assert rests[0] == 5.0
    for n, rest in enumerate(rests[1:], start=2):
        low = min(5.0 * 2 ** (n - 2), 300.0)
        high = min(5.0 * 2 ** (n - 1), 300.0)
        assert low <= rest <= high, (n, rest)
    assert rests[-1] == 300.0


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_every_rest_lies_within_its_equal_jitter_bounds(n, seed):
    policy = EjectionPolicy()
    rest = ejection_backoff(policy, n, random.Random(seed))
    if n == 1:
        assert rest == 5.0
    else:
        half = 5.0 * 2.0 ** min(n - 2, 62)
        assert min(half, 300.0) <= rest <= min(2 * half, 300.0)


@pytest.mark.parametrize(
    "fields",
    [
        {"consecutive_failures": -1},
        {"consecutive_failures": 2.5},
        {"success_rate": 1.5},
        {"window": 0},
        {"min_calls": 0},
        {"base_ejection": 0},
        {"max_ejection": True},
        {"base_ejection": 10.0, "max_ejection": 5.0},
    ],
)
def test_policy_fields_are_checked(fields):
    with pytest.raises(ConfigError, match="invalid ejection"):
        EjectionPolicy(**fields)
