"""Retry budget: retries may add only a fraction of the calls, plus a small reserve. No I/O.

Finagle's ``RetryBudget`` with its defaults: over any 10 s (`ttl`), retries may add 20 %
(`percent_can_retry`) of the calls made in that time, plus 10 per second
(`min_retries_per_sec`) so that a client just started, or a quiet one, can still retry. Every
call deposits once (`deposit`), every retry withdraws (`try_withdraw`); deposits and
withdrawals both expire after `ttl`. When the backends fail, the retries of one process stay a
bounded extra load instead of multiplying it (the blog post "Retry budgets", Finagle 2016).

As in Finagle the accounts are kept in integers: a deposit is worth 1000 units, a withdrawal
``1000 / percent_can_retry`` rounded up (5000), and the reserve is ``min_retries_per_sec * ttl``
withdrawals.
The window is cut into 10 slices; a deposit expires with its slice's start plus `ttl` (never
later than `ttl` after it was made) and a withdrawal a slice later (never sooner), so the
slices can only make the budget stricter than the exact rule: for every retry granted at `t`,
the retries granted in ``(t - ttl, t]`` are at most ``percent_can_retry`` times the calls
deposited in that interval plus ``min_retries_per_sec * ttl``.

**Retries that never reached a server do not withdraw.** A call whose connect failed (or whose
connection broke before a byte of the request was written) cost no server any work, so trying
another endpoint cannot amplify load on the backends, which is what the budget guards. gRPC
makes the same call for its "transparent" retries (gRFC A6), which skip retry throttling.
Such retries are still bounded by the retry policy's count and the deadline, and the endpoint
that refused sits out (cooldown, ejection). They are free only while they have somewhere to
go: when no endpoint the call has not tried is usable (every one cooling down or ejected: the
fleet looks down, or there is only one), the caller passes ``reached_server=True`` and the
retry withdraws like any other, so a dead fleet costs at most ``1 + percent_can_retry``
attempts per call plus the reserve (measured in `make bench-fleet`). `may_retry(now,
reached_server=...)` applies the budget.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import deque
from typing import Any

from ._exceptions import ConfigError, shown

__all__ = ["RetryBudget", "RetryBudgetPolicy"]

_SCALE = 1000  # units per deposit: lets percent_can_retry be a fraction in integer accounts
_SLICES = 10  # the window's resolution, as Finagle's WindowedAdder


def _number(name: str, value: object, low: float, high: float) -> float:
    """A number in [low, high] as a float, or `ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(
            f"invalid retry_budget {name} {shown(value)} (expected {low:g} to {high:g})"
        )
    return float(value)


@dataclasses.dataclass(frozen=True)
class RetryBudgetPolicy:
    """How much retrying a client may add: Finagle's defaults.

    ::

        RetryBudgetPolicy(percent_can_retry=0.1, min_retries_per_sec=5, ttl=10.0)
    """

    percent_can_retry: float = 0.2
    min_retries_per_sec: float = 10.0
    ttl: float = 10.0

    def __post_init__(self) -> None:
        """Check every field (Finagle's bounds: ttl from 1 s to 60 s)."""
        for name, low, high in (
            ("percent_can_retry", 0.0, 1000.0),
            ("min_retries_per_sec", 0.0, 1e6),
            ("ttl", 1.0, 60.0),
        ):
            object.__setattr__(self, name, _number(name, getattr(self, name), low, high))


class RetryBudget:
    """A thread-safe, time-windowed token bucket of retries (see the module doc).

    ::

        budget = RetryBudget()
        budget.deposit(now)                                  # once per call
        if budget.may_retry(now, reached_server=True): ...   # before each retry
    """

    def __init__(self, policy: RetryBudgetPolicy | None = None):
        self.policy = policy = policy or RetryBudgetPolicy()
        percent = policy.percent_can_retry
        # Finagle: without a percentage, calls earn nothing and a retry costs one unit. A
        # retry's price is rounded up (Finagle truncates) so the stated bound always holds.
        self._deposit = _SCALE if percent > 0 else 0
        self._withdrawal = math.ceil(_SCALE / percent) if percent > 0 else 1
        self._reserve = int(policy.min_retries_per_sec * policy.ttl * self._withdrawal)
        self._width = policy.ttl / _SLICES
        # [slice index, units deposited, units withdrawn, calls deposited], oldest first.
        self._slices: deque[list[int]] = deque()
        self._current: list[int] = [-1, 0, 0, 0]  # the slice deposits go to (see `deposit`)
        self._lock = threading.Lock()
        self._counts = {"retries": 0, "refused": 0, "transparent": 0}
        self._expired_deposits = 0  # calls deposited in slices dropped since

    def _slice(self, now: float) -> list[int]:
        """The current slice (lock held), after dropping those that no longer count at all."""
        index = math.floor(now / self._width)
        slices = self._slices
        while slices and slices[0][0] <= index - _SLICES - 1:
            self._expired_deposits += slices.popleft()[3]
        if slices and slices[-1][0] >= index:
            return slices[-1]  # a caller whose `now` was read a moment before another's
        current = [index, 0, 0, 0]
        slices.append(current)
        return current

    def _units(self, index: int) -> int:
        """The balance in units (lock held): deposits count ttl, withdrawals a slice longer."""
        total = self._reserve
        for start, deposited, withdrawn, _calls in self._slices:
            if start > index - _SLICES:
                total += deposited
            total -= withdrawn
        return total

    def deposit(self, now: float) -> None:
        """Credit one call (made at `now`), once per call whatever its attempts.

        Every call pays this, so within the current slice it takes no lock: the GIL keeps
        each step whole, and a deposit lost to a race between two threads only makes the
        budget stricter (a slice's counters only ever grow; a new slice is made under lock).
        """
        current = self._current
        if current[0] == now // self._width:
            current[1] += self._deposit
            current[3] += 1
            return
        with self._lock:
            current = self._current = self._slice(now)
            current[1] += self._deposit
            current[3] += 1

    def try_withdraw(self, now: float) -> bool:
        """Take one retry from the budget if it holds one; False leaves it untouched."""
        with self._lock:
            current = self._slice(now)
            if self._units(current[0]) < self._withdrawal:
                self._counts["refused"] += 1
                return False
            current[2] += self._withdrawal
            self._counts["retries"] += 1
            return True

    def may_retry(self, now: float, *, reached_server: bool) -> bool:
        """Whether a retry may go ahead: free when the failed attempt never reached a server
        (nothing of the request was written), else taken from the budget."""
        if reached_server:
            return self.try_withdraw(now)
        with self._lock:
            self._counts["transparent"] += 1
        return True

    def balance(self, now: float) -> int:
        """How many retries the budget would allow at `now`."""
        with self._lock:
            return max(0, self._units(self._slice(now)[0]) // self._withdrawal)

    def stats(self, now: float) -> dict[str, Any]:
        """Counters (deposits, retries, refused, transparent) and the `balance` at `now`."""
        balance = self.balance(now)
        with self._lock:
            deposits = self._expired_deposits + sum(calls for *_, calls in self._slices)
            return {"deposits": deposits, **self._counts, "balance": balance}
