"""Ejection (failure accrual): rest a failing endpoint, then let one probe call bring it back.

Finagle's hybrid failure accrual with its defaults. An endpoint is ejected after 5 failures in
a row (`consecutive_failures`), or when fewer than 80 % of its calls (`success_rate`) in the
last 30 s (`window`) succeeded, counted once it had at least 5 calls there (`min_calls`). It
rests 5 s the first time; each ejection after a failed probe rests longer, with Finagle's
"equal jitter" (the n-th lies in ``[5 * 2**(n-2), 5 * 2**(n-1))`` seconds), up to 300 s
(`max_ejection`). When its time is up, the next call sent there is its probe and no other
call goes there meanwhile: success revives it with a clean slate, failure ejects it again.

Outcomes come in the order calls end, not the order they were sent. A success sent before the
last failure was is older news (many callers: a reply already on its way when the server
died): it counts toward the success rate, but neither ends a run of failures nor revives.

What counts as a failure is the shell's to say (see the wiring guide in `_balance`): a failed
connect or a broken call, not an exception the server declared. This module never drops the
last endpoint: the balancer that consults it falls back to all of them when none is usable
(Envoy's panic mode). Thread-safe, no I/O, time is a parameter; events (ejected, revived) go
to `on_event` outside the lock, so a callback may log or read `state()`.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any, Generic, Literal, TypeVar

from ._exceptions import ConfigError, shown

__all__ = ["EjectionEvent", "EjectionPolicy", "Ejector", "ejection_backoff"]

K = TypeVar("K", bound=Hashable)
_SLICES = 10  # the success-rate window's resolution


def _check(name: str, value: object, *, whole: bool, low: float, high: float) -> Any:
    """A number in [low, high] (a whole one when `whole`), or `ConfigError`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (whole and not isinstance(value, int))
        or not low <= value <= high
    ):
        kind = "a whole number" if whole else "a number"
        raise ConfigError(
            f"invalid ejection {name} {shown(value)} (expected {kind} {low:g} to {high:g})"
        )
    return value if whole else float(value)


@dataclasses.dataclass(frozen=True)
class EjectionPolicy:
    """When an endpoint is taken out of rotation and for how long: Finagle's defaults.

    A rule is off at 0 (`consecutive_failures=0`, `success_rate=0`)::

        EjectionPolicy(consecutive_failures=3, base_ejection=1.0)
    """

    consecutive_failures: int = 5
    success_rate: float = 0.8
    window: float = 30.0
    min_calls: int = 5
    base_ejection: float = 5.0
    max_ejection: float = 300.0

    def __post_init__(self) -> None:
        """Check every field; `max_ejection` may not be below `base_ejection`."""
        _check("consecutive_failures", self.consecutive_failures, whole=True, low=0, high=1e6)
        _check("min_calls", self.min_calls, whole=True, low=1, high=1e9)
        for name, low, high in (
            ("success_rate", 0.0, 1.0),
            ("window", 1.0, 3600.0),
            ("base_ejection", 0.001, 86400.0),
            ("max_ejection", 0.001, 86400.0),
        ):
            object.__setattr__(
                self, name, _check(name, getattr(self, name), whole=False, low=low, high=high)
            )
        if self.max_ejection < self.base_ejection:
            raise ConfigError(
                f"invalid ejection max_ejection {self.max_ejection:g} "
                f"(expected at least base_ejection, {self.base_ejection:g})"
            )


def ejection_backoff(policy: EjectionPolicy, ejections: int, rng: random.Random) -> float:
    """How long the `ejections`-th ejection in a row lasts (1 first): Finagle's equalJittered."""
    base, cap = policy.base_ejection, policy.max_ejection
    if ejections <= 1:
        return base
    half = base * 2.0 ** min(ejections - 2, 62)  # half the exponential growth is kept...
    return min(cap, half + rng.uniform(0.0, half))  # ...the other half is jitter


@dataclasses.dataclass(frozen=True)
class EjectionEvent:
    """An endpoint was ejected (until `until`) or revived; for the shell to log."""

    kind: Literal["ejected", "revived"]
    key: Hashable
    at: float  #: monotonic seconds
    reason: str
    until: float | None = None  #: when a probe may go (ejected only)
    ejections: int = 0  #: ejections in a row, this one included


class _Health:
    """One endpoint's record (guarded by the ejector's lock)."""

    __slots__ = ("consecutive", "ejections", "failed_sent", "probing", "slices", "until")

    def __init__(self) -> None:
        self.consecutive = 0
        self.failed_sent = -math.inf  # when the last failed call was sent (its pick)
        self.slices: deque[list[int]] = deque()  # [slice index, successes, failures]
        self.until: float | None = None  # None: in rotation
        self.ejections = 0
        self.probing = False  # the probe call is out


class Ejector(Generic[K]):
    """Failure accrual over endpoints named by any hashable key (see the module doc).

    ::

        ejector = Ejector(EjectionPolicy(), on_event=log_it)
        ejector.record(key, now, ok=False)       # after every call
        ejector.is_usable(key, now)              # when choosing
    """

    def __init__(
        self,
        policy: EjectionPolicy | None = None,
        *,
        rng: random.Random | None = None,
        on_event: Callable[[EjectionEvent], None] | None = None,
    ):
        self.policy = policy or EjectionPolicy()
        self._rng = rng or random.Random()
        self._on_event = on_event
        self._width = self.policy.window / _SLICES
        self._health: dict[K, _Health] = {}
        #: The keys ejected (resting or probing): any other key is usable without a look at
        #: its record, so the usual call takes no lock here (a set read is atomic).
        self._resting: set[K] = set()
        self._lock = threading.Lock()

    def is_usable(self, key: K, now: float) -> bool:
        """Whether a call may go to `key`: in rotation, or its rest is over and no probe is out."""
        if key not in self._resting:
            return True
        with self._lock:
            health = self._health.get(key)
            return (
                health is None
                or health.until is None
                or (now >= health.until and not health.probing)
            )

    def claim(self, key: K, now: float) -> None:
        """A call is going to `key`: if its rest is over, this call is its probe."""
        if key not in self._resting:
            return
        with self._lock:
            health = self._health.get(key)
            if health is not None and health.until is not None and now >= health.until:
                health.probing = True

    def release(self, key: K) -> None:
        """A claimed call ended without a verdict (abandoned): a probe may go again."""
        if key not in self._resting:
            return
        with self._lock:
            health = self._health.get(key)
            if health is not None:
                health.probing = False

    def record(self, key: K, now: float, ok: bool, sent: float | None = None) -> None:
        """The outcome of a call to `key` sent at `sent` (default: `now`) that ended at
        `now`; may eject or revive it."""
        with self._lock:
            health = self._health.setdefault(key, _Health())
            event = self._judge(key, health, now, ok, now if sent is None else sent)
        if event is not None and self._on_event is not None:
            self._on_event(event)

    def _judge(
        self, key: K, health: _Health, now: float, ok: bool, sent: float
    ) -> EjectionEvent | None:
        """Apply one outcome (lock held); the event it caused, if any."""
        stale = ok and sent < health.failed_sent  # sent before the last failure was
        if health.until is not None:
            if stale:
                return None  # not the probe, and no news of the endpoint since its ejection
            probe_over = health.probing or now >= health.until
            health.probing = False
            if ok:  # the probe (or a call in panic mode) got an answer: back in rotation
                self._health[key] = _Health()  # a clean slate, as Finagle's revive
                self._resting.discard(key)
                reason = f"a call succeeded after {health.ejections} ejection(s)"
                return EjectionEvent("revived", key, now, reason)
            if probe_over:
                return self._eject(key, health, now, "the probe call failed")
            return None  # a panic-mode call failing during the rest: the rest stands
        slices = health.slices
        index = math.floor(now / self._width)
        while slices and slices[0][0] <= index - _SLICES:
            slices.popleft()
        if not slices or slices[-1][0] < index:
            slices.append([index, 0, 0])
        slices[-1][1 if ok else 2] += 1
        if ok:
            if not stale:
                health.consecutive = 0
            return None
        health.failed_sent = max(health.failed_sent, sent)
        health.consecutive += 1
        policy = self.policy
        if policy.consecutive_failures and health.consecutive >= policy.consecutive_failures:
            return self._eject(key, health, now, f"{health.consecutive} consecutive failures")
        calls = sum(s[1] + s[2] for s in slices)
        rate = sum(s[1] for s in slices) / calls
        if calls >= policy.min_calls and rate < policy.success_rate:
            return self._eject(
                key,
                health,
                now,
                f"success rate {rate:.0%} < {policy.success_rate:.0%} "
                f"over {policy.window:g}s ({calls} calls)",
            )
        return None

    def _eject(self, key: K, health: _Health, now: float, reason: str) -> EjectionEvent:
        """Take `key` out of rotation for its next backoff (lock held)."""
        health.ejections += 1
        health.until = now + ejection_backoff(self.policy, health.ejections, self._rng)
        health.probing = False
        self._resting.add(key)
        return EjectionEvent("ejected", key, now, reason, health.until, health.ejections)

    def forget(self, key: K) -> None:
        """Drop `key`'s record (it left the fleet)."""
        with self._lock:
            self._health.pop(key, None)
            self._resting.discard(key)

    def state(self, key: K, now: float) -> dict[str, Any]:
        """`key`'s state for stats: ``state`` (alive, ejected, probing), ``until``,
        ``consecutive_failures``, ``success_rate`` and ``calls`` over the window, ``ejections``."""
        with self._lock:
            health = self._health.get(key) or _Health()
            index = math.floor(now / self._width)
            live = [s for s in health.slices if s[0] > index - _SLICES]
            calls = sum(s[1] + s[2] for s in live)
            if health.until is None:
                state = "alive"
            elif now < health.until and not health.probing:
                state = "ejected"
            else:
                state = "probing"  # the next call is the probe, or the probe is out
            return {
                "state": state,
                "until": health.until,
                "consecutive_failures": health.consecutive,
                "success_rate": sum(s[1] for s in live) / calls if calls else None,
                "calls": calls,
                "ejections": health.ejections,
            }
