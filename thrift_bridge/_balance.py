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
from ._fleet import Balancer, Change, Node

__all__ = [
    "BALANCERS",
    "DEFAULT_DECAY",
    "Balancer",
    "Change",
    "PeakEwmaP2C",
    "RoundRobin",
    "make_balancer",
]

K = TypeVar("K", bound=Hashable)
#: The policies `make_balancer` (and the `balancer` client setting) accept.
BALANCERS = ("p2c", "round_robin")
#: Peak EWMA's decay window in seconds: Finagle's default.
DEFAULT_DECAY = 10.0
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
    endpoint is shunned at once and tried again only as its record fades::

        PeakEwmaP2C(["a", "b"], rng=random.Random(7)).pick(time.monotonic())
    """

    name = "p2c"

    def __init__(
        self,
        keys: Iterable[K],
        *,
        decay: float = DEFAULT_DECAY,
        rng: random.Random | None = None,
        **options: Any,
    ):
        if not (isinstance(decay, (int, float)) and 0 < decay < math.inf):
            raise ValueError(f"invalid decay {decay!r} (expected seconds > 0)")
        self.decay = float(decay)
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

    def _observe(self, node: Node[K], now: float, latency: float) -> None:
        weight = math.exp(-max(0.0, now - node.stamp) / self.decay)
        # A peak is taken at once; a lower latency only pulls the average down gradually.
        node.cost = latency if latency > node.cost else node.cost * weight + latency * (1 - weight)
        node.stamp = max(node.stamp, now)

    def _choose(self, tier: list[Node[K]], now: float) -> Node[K]:
        rng = self._rng
        if all(node.weight == tier[0].weight for node in tier):
            # Finagle's draw of two distinct indices: the second skips the first's slot.
            first = rng.randrange(len(tier))
            second = rng.randrange(len(tier) - 1)
            second += second >= first
            a, b = tier[first], tier[second]
        else:
            a = rng.choices(tier, [node.weight for node in tier])[0]
            rest = [node for node in tier if node is not a]
            b = rng.choices(rest, [node.weight for node in rest])[0]
        return a if self._load(a, now) < self._load(b, now) else b

    def _describe(self, node: Node[K], now: float) -> dict[str, Any]:
        return {**super()._describe(node, now), "ewma": self._decayed(node, now)}


def make_balancer(
    policy: str,
    keys: Iterable[K],
    *,
    cooldown: float = 5.0,
    ejection: EjectionPolicy | None = None,
    on_event: Callable[[EjectionEvent], None] | None = None,
    rng: random.Random | None = None,
    decay: float = DEFAULT_DECAY,
) -> Balancer[K]:
    """A balancer by name ("p2c" or "round_robin"), with an ejector when `ejection` is given
    (its events, `EjectionEvent`, go to `on_event`)."""
    ejector: Ejector[K] | None = None
    if ejection is not None:
        ejector = Ejector(ejection, rng=rng, on_event=on_event)
    if policy == "p2c":
        return PeakEwmaP2C(keys, cooldown=cooldown, ejector=ejector, rng=rng, decay=decay)
    if policy == "round_robin":
        return RoundRobin(keys, cooldown=cooldown, ejector=ejector)
    raise ValueError(f"unknown balancer {policy!r} (expected one of: {', '.join(BALANCERS)})")
