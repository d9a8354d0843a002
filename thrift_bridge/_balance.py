"""Which endpoint the next call goes to: round robin, or p2c over peak EWMA. No I/O.

The policies choose among the candidates `_fleet.Balancer` leaves them (members neither
draining, cooling down nor ejected, at the best priority; see its module doc for the order,
panic mode and the calls a shell makes around each attempt). `make_balancer` builds one by
the name the `balancer` client setting holds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from ._ejection import EjectionEvent, EjectionPolicy, Ejector
from ._exceptions import shown
from ._fleet import Balancer, Change, Node

__all__ = [
    "BALANCERS",
    "DEFAULT_DECAY",
    "DEFAULT_OUTLIER_RATIO",
    "Balancer",
    "Change",
    "PeakEwmaP2C",
    "RoundRobin",
    "check_outlier_ratio",
    "make_balancer",
]

K = TypeVar("K", bound=Hashable)
#: The policies `make_balancer` (and the `balancer` client setting) accept.
BALANCERS = ("p2c", "round_robin")
#: Peak EWMA's decay window in seconds: Finagle's default.
DEFAULT_DECAY = 10.0
#: p2c passes over a candidate whose mean service time is more than this many times the
#: other's and the median's, whatever their calls out (None: Finagle's rule alone).
DEFAULT_OUTLIER_RATIO: float | None = 2.0
#: The load of an endpoint with a call out and no latency measured yet (Finagle's penalty):
#: it gets one call at a time until its first reply says how fast it is.
_PENALTY = 1e12


class RoundRobin(Balancer[K]):
    """Turns over the usable members, in proportion to their weights (smooth weighted RR).

    A member that sits out has its share spread evenly over the others rather than handed
    to its neighbour (nginx's smooth weighted round robin; equal weights take turns)::

        RoundRobin(["a", "b", "c"], cooldown=5.0).pick(time.monotonic())
    """

    name = "round_robin"

    def _choose(self, tier: list[Node[K]], now: float) -> Node[K]:
        total = 0.0
        chosen = tier[0]
        for node in tier:
            node.current += node.weight
            total += node.weight
            if node.current > chosen.current:
                chosen = node
        chosen.current -= total
        return chosen


class PeakEwmaP2C(Balancer[K]):
    """Power of two choices over least load, the load being outstanding calls weighted by a
    peak-EWMA of latency (Finagle's ``Balancers.p2cPeakEwma``, decay window 10 s).

    Two distinct candidates are drawn at random (in proportion to their weights) and the one
    with the lower ``cost * (pending + 1) / weight`` wins. ``cost`` jumps to any latency above
    it and otherwise decays towards what is observed with time constant `decay`, so a slow
    endpoint is shunned at once and tried again only as its record fades.

    One rule on top of Finagle's (`outlier_ratio`, default 2; None turns it off): when one
    candidate's ``mean`` service time is more than `outlier_ratio` times both the other's and
    the median of the tier's, the other wins whatever their calls out. Finagle's product reads
    calls out as a queue, but a server works on its calls at once and the latencies it was
    measured by already include the wait the calls out cause, so under many concurrent callers
    an endpoint several times slower with no call out looks as cheap as a healthy one with
    many. ``mean`` is a plain EWMA of service times (from the connection to the reply, the wait
    in the pool's line left out: calls out already stand for that), each weighted by the time
    since the reply before (the first by its own duration), time constant `decay`; the peaks
    Finagle's ``cost`` keeps for seconds would make healthy endpoints look like outliers, and
    the median keeps one unusually fast endpoint from making outliers of all the others.

    Seen from a pick, an endpoint's ``mean`` fades towards zero with the time since its last
    reply, so an outlier gets a call again after ``decay * ln(mean / (outlier_ratio *
    median))`` seconds without one (5.4 s for 24 ms against 7 ms peers), and leaves the rule
    for good once replies taking ``x`` have pulled ``mean`` to ``outlier_ratio * median``:
    ``decay * ln((mean - x) / (outlier_ratio * median - x))`` seconds after it became fast
    (8.9 s for 24 ms back to 7 ms)::

        PeakEwmaP2C(["a", "b"], rng=random.Random(7)).pick(time.monotonic())
    """

    name = "p2c"

    def __init__(
        self,
        keys: Iterable[K],
        *,
        decay: float = DEFAULT_DECAY,
        outlier_ratio: float | None = DEFAULT_OUTLIER_RATIO,
        rng: random.Random | None = None,
        **options: Any,
    ):
        if not (isinstance(decay, (int, float)) and 0 < decay < math.inf):
            raise ValueError(f"invalid decay {decay!r} (expected seconds > 0)")
        self.decay = float(decay)
        self.outlier_ratio = check_outlier_ratio(outlier_ratio)
        self._rng = rng or random.Random()
        super().__init__(keys, **options)

    def _decayed(self, node: Node[K], now: float) -> float:
        """`node.cost` decayed to `now` (towards zero, as if zero latency had been seen)."""
        return node.cost * math.exp(-max(0.0, now - node.stamp) / self.decay)

    def _load(self, node: Node[K], now: float) -> float:
        """The cost of sending one more call to `node` (lock held; brings `cost` to `now`)."""
        if now > node.stamp:
            node.cost, node.stamp = self._decayed(node, now), now
        if node.cost == 0.0 and node.pending:
            return _PENALTY + node.pending
        return node.cost * (node.pending + 1) / node.weight

    def _standing(self, node: Node[K], now: float) -> float:
        """`node`'s mean service time faded by the time since its last reply (0.0: none yet)."""
        if node.mass == 0.0:
            return 0.0
        return node.mean / node.mass * math.exp(-max(0.0, now - node.seen) / self.decay)

    def _observe(self, node: Node[K], now: float, latency: float, service: float) -> None:
        weight = math.exp(-max(0.0, now - node.stamp) / self.decay)
        # A peak is taken at once; a lower latency only pulls the average down gradually.
        node.cost = latency if latency > node.cost else node.cost * weight + latency * (1 - weight)
        node.stamp = max(node.stamp, now)
        # The outlier rule's mean: each reply weighs the time since the last (the first: its
        # own duration); `mass` is the weight held so far, so an early reply is no bias.
        gap = service if node.mass == 0.0 else max(0.0, now - node.seen)
        weight = math.exp(-gap / self.decay)
        node.mean = node.mean * weight + service * (1 - weight)
        node.mass = node.mass * weight + (1 - weight)
        node.seen = max(node.seen, now)

    def _outlier(self, slow: float, fast: float, tier: list[Node[K]], now: float) -> bool:
        """Whether mean service time `slow` is an outlier beside `fast` and the tier's median."""
        ratio = self.outlier_ratio
        if ratio is None or not slow > ratio * fast > 0.0:
            return False
        means = sorted(m for m in (self._standing(node, now) for node in tier) if m > 0.0)
        return slow > ratio * means[(len(means) - 1) // 2]

    def _choose(self, tier: list[Node[K]], now: float) -> Node[K]:
        rng = self._rng
        if self._uniform:
            # Finagle's draw of two distinct indices: the second skips the first's slot
            # (`random()` scaled: randrange's checks cost more than the draw).
            size = len(tier)
            first = int(rng.random() * size)
            second = int(rng.random() * (size - 1))
            second += second >= first
            a, b = tier[first], tier[second]
        else:
            a = rng.choices(tier, [node.weight for node in tier])[0]
            rest = [node for node in tier if node is not a]
            b = rng.choices(rest, [node.weight for node in rest])[0]
        ratio = self.outlier_ratio
        if ratio is not None:
            mean_a, mean_b = self._standing(a, now), self._standing(b, now)
            # `_outlier`'s own first test, here: it rarely passes, and a call costs more.
            if mean_a > ratio * mean_b > 0.0 and self._outlier(mean_a, mean_b, tier, now):
                return b
            if mean_b > ratio * mean_a > 0.0 and self._outlier(mean_b, mean_a, tier, now):
                return a
        return a if self._load(a, now) < self._load(b, now) else b

    def _describe(self, node: Node[K], now: float) -> dict[str, Any]:
        return {
            **super()._describe(node, now),
            "ewma": self._decayed(node, now),
            "mean": self._standing(node, now),
        }


def check_outlier_ratio(value: object) -> float | None:
    """`value` as p2c's `outlier_ratio` (a number > 1, or None for none), or ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 < value < math.inf:
        raise ValueError(f"invalid outlier_ratio {shown(value)} (expected a number > 1, or None)")
    try:
        return float(value)
    except OverflowError:  # an int past float's range
        raise ValueError(
            f"invalid outlier_ratio {shown(value)} (expected a number > 1 that a "
            "float holds, or None)"
        ) from None


def make_balancer(
    policy: str,
    keys: Iterable[K],
    *,
    cooldown: float = 5.0,
    ejection: EjectionPolicy | None = None,
    on_event: Callable[[EjectionEvent], None] | None = None,
    rng: random.Random | None = None,
    decay: float = DEFAULT_DECAY,
    outlier_ratio: float | None = DEFAULT_OUTLIER_RATIO,
) -> Balancer[K]:
    """A balancer by name ("p2c" or "round_robin"), with an ejector when `ejection` is given
    (its events, `EjectionEvent`, go to `on_event`); `decay` and `outlier_ratio` are p2c's."""
    ejector: Ejector[K] | None = None
    if ejection is not None:
        ejector = Ejector(ejection, rng=rng, on_event=on_event)
    if policy == "p2c":
        return PeakEwmaP2C(
            keys,
            cooldown=cooldown,
            ejector=ejector,
            rng=rng,
            decay=decay,
            outlier_ratio=outlier_ratio,
        )
    if policy == "round_robin":
        return RoundRobin(keys, cooldown=cooldown, ejector=ejector)
    raise ValueError(f"unknown balancer {policy!r} (expected one of: {', '.join(BALANCERS)})")
