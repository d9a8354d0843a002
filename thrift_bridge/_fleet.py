"""A balancer's members and their availability; the policies that choose are in `_balance`.

Endpoints are named by stable keys (any hashable value: the client's `Endpoint` values, or
indices), so a set that changes under DNS discovery never renumbers calls in flight. Every
method takes `now` (monotonic seconds): the sync and async shells pass ``time.monotonic()``,
tests pass what they like. One lock guards each balancer; an `Ejector` it consults has its
own, always taken after the balancer's, and ejection events run outside both. No I/O.

Choosing, in order: members not draining; minus those cooling down after a failed connect
(`cooldown`) and those the ejector rests; if that leaves none, all of them (Envoy's panic
mode: never zero endpoints); minus `avoid` (where this call already failed) unless nothing
else is left; the lowest `priority` among those (SRV priorities: backups only when every
primary is out); then the policy. `pick` counts the call as outstanding on its endpoint at
once, so concurrent picks see each other, and every pick ends with exactly one `finished`,
`connect_failed` or `abandoned`.

Wiring, per attempt (sync and async alike)::

    key = balancer.pick(now, avoid)            # counts the call; a probe if ejected before
    connect fails (nothing written)  -> balancer.connect_failed(key, now)
    pool timeout, deadline or cancel
      before a byte was written      -> balancer.abandoned(key, now)
    a reply, a declared exception or
      TApplicationException          -> balancer.finished(key, now, latency, ok=True, service)
    a wire failure (TransportError)  -> balancer.finished(key, now, latency, ok=False, service)

(`latency` from the pick, `service` from when the attempt got its connection.)
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Collection, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ._ejection import Ejector

__all__ = ["Balancer", "Change", "Node"]

K = TypeVar("K", bound=Hashable)


@dataclasses.dataclass(frozen=True)
class Change(Generic[K]):
    """What an `update` did to the members, for the shell to act on.

    `added`: open a pool. `removed`: gone with no call in flight, close its pool. `draining`:
    gone with calls in flight; no new calls go there, close its pool too (`ConnectionPool.close`
    closes idle connections now and busy ones as their calls end); the balancer forgets it
    when its last call ends.
    """

    added: tuple[K, ...] = ()
    removed: tuple[K, ...] = ()
    draining: tuple[K, ...] = ()


class Node(Generic[K]):
    """One member's state (guarded by the balancer's lock)."""

    __slots__ = (
        "cost",
        "current",
        "down_until",
        "draining",
        "key",
        "mass",
        "mean",
        "pending",
        "priority",
        "seen",
        "stamp",
        "weight",
    )

    def __init__(self, key: K, weight: float, priority: int):
        self.key = key
        self.weight = weight
        self.priority = priority
        self.pending = 0  # calls out
        self.down_until = -math.inf  # cooling down after a failed connect until then
        self.draining = False
        self.current = 0.0  # smooth weighted round robin's running score
        self.cost = 0.0  # peak EWMA of latency, seconds (0: nothing measured yet)
        self.stamp = -math.inf  # when `cost` was last brought up to date
        self.mean = 0.0  # plain EWMA of service times, seconds, times `mass` (p2c's outliers)
        self.mass = 0.0  # the weight `mean` holds so far (1 - e^(-time observed / decay))
        self.seen = -math.inf  # when the last reply was observed


def _check_member(key: Hashable, weight: float, priority: int) -> None:
    """A weight > 0 and a whole priority, or ValueError."""
    if not (isinstance(weight, (int, float)) and 0 < weight < math.inf):
        raise ValueError(f"invalid weight {weight!r} for {key!r} (expected a number > 0)")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValueError(f"invalid priority {priority!r} for {key!r} (expected a whole number)")


class Balancer(Generic[K]):
    """Members, outstanding calls, cooldown, ejection and panic mode; subclasses choose."""

    name = ""

    def __init__(
        self,
        keys: Iterable[K],
        *,
        cooldown: float = 5.0,
        ejector: Ejector[K] | None = None,
        weights: Mapping[K, float] | None = None,
        priorities: Mapping[K, int] | None = None,
    ):
        self.cooldown = cooldown
        self.ejector = ejector
        self._nodes: dict[K, Node[K]] = {}
        self._lock = threading.Lock()
        #: Whether every member has the same weight (no SRV weights): kept by `update`.
        self._uniform = True
        keys = list(keys)
        if keys:  # none yet: a client whose endpoints all wait for their first DNS answer
            self.update(keys, weights, priorities)

    @property
    def keys(self) -> tuple[K, ...]:
        """The members calls may go to (draining ones left out), in the order given."""
        with self._lock:
            return tuple(key for key, node in self._nodes.items() if not node.draining)

    def draining(self) -> tuple[K, ...]:
        """The members left out of the fleet that still have calls in flight."""
        with self._lock:
            return tuple(key for key, node in self._nodes.items() if node.draining)

    def pick(self, now: float, avoid: Collection[K] = ()) -> K:
        """The endpoint for the next attempt, counted as outstanding there (see the module doc)."""
        with self._lock:
            members = [node for node in self._nodes.values() if not node.draining]
            if not members:
                raise LookupError("no endpoints to pick from yet (discovery has found none)")
            usable = self._usable(members, now) or members  # none usable: panic, use them all
            if avoid:
                usable = [node for node in usable if node.key not in avoid] or usable
            best = min(node.priority for node in usable)
            tier = [node for node in usable if node.priority == best]
            node = tier[0] if len(tier) == 1 else self._choose(tier, now)
            node.pending += 1
            if self.ejector is not None:
                self.ejector.claim(node.key, now)
            return node.key

    def cooling(self, now: float) -> list[K]:
        """The members sitting out their cooldown after a failed connect at `now`."""
        with self._lock:
            return [key for key, node in self._nodes.items() if node.down_until > now]

    def usable_besides(self, now: float, avoid: Collection[K]) -> bool:
        """Whether a member other than `avoid` is usable (neither draining, cooling down nor
        ejected): False when the fleet looks down (panic mode) or nothing else is left."""
        with self._lock:
            members = [n for n in self._nodes.values() if not n.draining and n.key not in avoid]
            return bool(self._usable(members, now))

    def _usable(self, members: list[Node[K]], now: float) -> list[Node[K]]:
        """Members neither cooling down nor resting in the ejector (lock held)."""
        ejector = self.ejector
        return [
            node
            for node in members
            if node.down_until <= now and (ejector is None or ejector.is_usable(node.key, now))
        ]

    def _choose(self, tier: list[Node[K]], now: float) -> Node[K]:
        """The policy's choice among two or more candidates (lock held)."""
        raise NotImplementedError

    def _observe(self, node: Node[K], now: float, latency: float, service: float) -> None:
        """Take a call's latency (from its pick) and service time (from its connection) into
        account (lock held); round robin ignores them."""

    def _end(
        self,
        key: K,
        now: float,
        latency: float | None,
        service: float | None = None,
        *,
        cool: bool = False,
    ) -> bool:
        """End one outstanding call on `key` (cooling it down when `cool`); whether the key
        is still a member."""
        with self._lock:
            node = self._nodes.get(key)
            if node is None:
                return False
            node.pending = max(0, node.pending - 1)
            if latency is not None:
                latency = max(0.0, latency)
                service = latency if service is None else min(latency, max(0.0, service))
                self._observe(node, now, latency, service)
            if cool:
                node.down_until = now + self.cooldown
            if node.draining:
                if node.pending == 0:
                    del self._nodes[key]
                    if self.ejector is not None:
                        self.ejector.forget(key)
                return False
            return True

    def finished(
        self, key: K, now: float, latency: float, ok: bool, service: float | None = None
    ) -> None:
        """A call on `key` ended `latency` seconds after its pick, `service` (default:
        `latency`) after it got its connection; `ok`: the server answered."""
        if self._end(key, now, latency, service) and self.ejector is not None:
            self.ejector.record(key, now, ok, now - latency)

    def connect_failed(self, key: K, now: float) -> None:
        """No connection to `key` could be opened: it sits out `cooldown` seconds."""
        if self._end(key, now, None, None, cool=True) and self.ejector is not None:
            self.ejector.record(key, now, False)

    def abandoned(self, key: K, now: float) -> None:
        """The picked attempt never ran (pool timeout, deadline, cancelled): no verdict on `key`."""
        if self._end(key, now, None) and self.ejector is not None:
            self.ejector.release(key)

    def update(
        self,
        keys: Iterable[K],
        weights: Mapping[K, float] | None = None,
        priorities: Mapping[K, int] | None = None,
    ) -> Change[K]:
        """Make `keys` the members (with optional SRV weights and priorities); what changed.
        An empty `keys` is refused: a fleet never shrinks to nothing."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            raise ValueError("a balancer needs at least one endpoint")
        weights, priorities = weights or {}, priorities or {}
        added, removed, draining = [], [], []
        with self._lock:
            for key in wanted:
                weight, priority = weights.get(key, 1.0), priorities.get(key, 0)
                _check_member(key, weight, priority)
                node = self._nodes.get(key)
                if node is None:
                    self._nodes[key] = Node(key, float(weight), priority)
                    added.append(key)
                    continue
                if node.draining:  # back before its last call ended: its pool was closed
                    node.draining = False
                    added.append(key)
                node.weight, node.priority = float(weight), priority
            gone = set(self._nodes) - set(wanted)
            for key, node in list(self._nodes.items()):
                if key not in gone or node.draining:
                    continue
                if node.pending:
                    node.draining = True
                    draining.append(key)
                else:
                    del self._nodes[key]
                    removed.append(key)
            self._uniform = len({node.weight for node in self._nodes.values()}) <= 1
        if self.ejector is not None:
            for key in removed:
                self.ejector.forget(key)
        return Change(tuple(added), tuple(removed), tuple(draining))

    def stats(self, now: float) -> dict[str, Any]:
        """``panic`` (no member usable), and per member: ``pending``, ``weight``,
        ``priority``, ``draining``, ``cooling_until``, p2c's ``ewma`` and ``mean``, and the
        ejection state."""
        with self._lock:
            members = [node for node in self._nodes.values() if not node.draining]
            panic = not self._usable(members, now)
            nodes = {key: self._describe(node, now) for key, node in self._nodes.items()}
        if self.ejector is not None:
            for key, row in nodes.items():
                row.update(self.ejector.state(key, now))
        return {"policy": self.name, "panic": panic, "endpoints": nodes}

    def _describe(self, node: Node[K], now: float) -> dict[str, Any]:
        """One member's row for `stats` (lock held)."""
        return {
            "pending": node.pending,
            "weight": node.weight,
            "priority": node.priority,
            "draining": node.draining,
            "cooling_until": node.down_until if node.down_until > now else None,
        }
