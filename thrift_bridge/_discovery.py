"""DNS discovery, the part without I/O: when to resolve, what an answer means, which endpoints.

A URL opts in with ``discovery=dns`` (one endpoint per A/AAAA address of its host, on its
port) or ``discovery=srv`` (its host is an SRV name, ``_thrift._tcp.example``: one endpoint
per address of each record's target, on the record's port, with its priority and weight).
`_resolver` asks the DNS (the only I/O); this module decides the rest, for both shells:

- `Discovery` schedules one name: resolved at once, then every `resolve_interval` (30 s, as
  gRPC), sooner after a failed connect but never twice within `min_interval` (5 s); a failed
  or empty answer keeps the last good set (never zero endpoints) and is retried after 1 s,
  doubling up to the interval. `claim` hands each due resolution to exactly one caller.
- `address_targets` / `srv_targets` turn answers into sorted `Target` values (RFC 2782:
  the lowest priority first, weights shared by a target's addresses, weight 0 a token share).
- `expand` makes one `Endpoint` per target: the address as host, and for TLS the DNS name as
  `server_hostname`, so certificates are still checked against the name.

The shell turns `Discovery.members()` into ``balancer.update(...)``, whose `Change` (added,
removed, draining) says which pools to open and close.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from ._options import DEFAULT_RESOLVE_INTERVAL

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ._endpoint import Endpoint

__all__ = [
    "MIN_RESOLVE_INTERVAL",
    "SRV_ZERO_WEIGHT",
    "Discovery",
    "Target",
    "address_targets",
    "expand",
    "srv_targets",
]

#: The least time between two resolutions of a name, however many connects fail.
MIN_RESOLVE_INTERVAL = 5.0
#: The weight an SRV record of weight 0 counts as: RFC 2782 gives it "a very small chance".
SRV_ZERO_WEIGHT = 0.01
_FIRST_RETRY = 1.0  # seconds before retrying a failed resolution; doubles each time
_CLAIM_TIMEOUT = 60.0  # a claim never reported back (its resolver died) expires after this


@dataclasses.dataclass(frozen=True, order=True)
class Target:
    """One address to call: where, under which DNS name, and its SRV priority and weight."""

    host: str  #: an IPv4 or IPv6 address
    port: int
    name: str  #: the DNS name it was found under (TLS checks certificates against it)
    priority: int = 0  #: lower is preferred (SRV)
    weight: float = 1.0  #: its share among targets of the same priority


def address_targets(name: str, addresses: Iterable[str], port: int) -> list[Target]:
    """One target per distinct address of `name`, sorted."""
    return sorted({Target(address, port, name) for address in addresses})


def srv_targets(
    records: Iterable[tuple[int, int, int, str]], addresses: Mapping[str, Sequence[str]]
) -> list[Target]:
    """Targets from SRV records ``(priority, weight, port, target)`` and the addresses of each
    target name; a target without addresses (or ``.``, "no service") is left out."""
    found: dict[tuple[str, int], Target] = {}
    for priority, weight, port, target in records:
        name = target.rstrip(".")
        hosts = sorted(set(addresses.get(name, ())))
        if not name or not hosts:
            continue
        share = max(float(weight), SRV_ZERO_WEIGHT) / len(hosts)  # a name's weight, split
        for host in hosts:
            old = found.get((host, port))
            if old is None or priority < old.priority:
                found[(host, port)] = Target(host, port, name, priority, share)
            elif priority == old.priority:  # listed twice: both shares count
                found[(host, port)] = dataclasses.replace(old, weight=old.weight + share)
    return sorted(found.values())


def expand(endpoint: Endpoint, targets: Iterable[Target]) -> dict[Endpoint, Target]:
    """One endpoint per target, each as `endpoint` at the target's address and port."""
    members = {}
    for target in targets:
        fields: dict[str, Any] = {
            "host": target.host,
            "port": target.port,
            "discovery": None,
            "dns_server": None,
            "resolve_interval": DEFAULT_RESOLVE_INTERVAL,
        }
        if endpoint.tls and endpoint.server_hostname is None:
            fields["server_hostname"] = target.name
        members[dataclasses.replace(endpoint, **fields)] = target
    return members


class Discovery:
    """When to resolve one discovered URL, and the targets it resolved to last.

    Thread-safe, no I/O, time is a parameter. The shell, before picking an endpoint::

        if discovery.claim(now):                      # due, and no one else resolving
            try:
                targets = resolve(discovery.endpoint)  # _resolver: blocking or awaited
            except ConnectError as exc:
                discovery.failed(now, str(exc))
            else:
                if discovery.resolved(now, targets):   # the set changed
                    act_on(balancer.update(...discovery.members()...))
    """

    def __init__(self, endpoint: Endpoint, *, min_interval: float = MIN_RESOLVE_INTERVAL):
        if endpoint.discovery is None:
            raise ValueError(f"{endpoint} does not ask for discovery (discovery=dns or srv)")
        #: The URL as given: its host is the name to resolve.
        self.endpoint = endpoint
        self.interval = endpoint.resolve_interval
        self.min_interval = min(min_interval, self.interval)
        #: The last good answer (empty until the first one).
        self.targets: tuple[Target, ...] = ()
        self._lock = threading.Lock()
        self._next = -math.inf  # due at once
        self._last_attempt = -math.inf
        self._claimed_at: float | None = None
        self._failures = 0
        self._last_error: str | None = None
        _discoveries.add(self)

    def claim(self, now: float) -> bool:
        """Whether the caller should resolve now (True for one caller per due resolution)."""
        with self._lock:
            if now < self._next:
                return False
            if self._claimed_at is not None and now - self._claimed_at < _CLAIM_TIMEOUT:
                return False
            self._claimed_at = self._last_attempt = now
            return True

    @property
    def resolving(self) -> bool:
        """Whether a caller has claimed a resolution and not reported it yet."""
        with self._lock:
            return self._claimed_at is not None

    def resolved(self, now: float, targets: Iterable[Target]) -> bool:
        """Report an answer; whether the set of targets changed. An empty answer counts as
        a failure: the last good set stays."""
        found = tuple(sorted(set(targets)))
        if not found:
            self.failed(now, f"no addresses for {self.endpoint.host}")
            return False
        with self._lock:
            self._claimed_at = None
            self._failures = 0
            self._last_error = None
            self._next = now + self.interval
            changed = found != self.targets
            self.targets = found
            return changed

    def failed(self, now: float, error: str) -> None:
        """Report a failed resolution: keep the last set, retry after a growing pause."""
        with self._lock:
            self._claimed_at = None
            self._failures += 1
            self._last_error = error
            pause = min(self.interval, _FIRST_RETRY * 2 ** min(self._failures - 1, 30))
            self._next = now + pause

    def unclaim(self) -> None:
        """A claimed resolution ended with no answer (its task was cancelled): not a failure,
        and the next caller may claim it at once."""
        with self._lock:
            self._claimed_at = None

    def connect_failed(self, now: float) -> None:
        """An endpoint of this name refused a connect: resolve again soon (rate-limited)."""
        with self._lock:
            self._next = min(self._next, max(now, self._last_attempt + self.min_interval))

    def members(self) -> dict[Endpoint, Target]:
        """The endpoints of the last good answer (see `expand`)."""
        return expand(self.endpoint, self.targets)

    def stats(self, now: float) -> dict[str, Any]:
        """Name, kind, target count, seconds until the next resolution, whether a lookup is
        out, failures in a row and the last error."""
        with self._lock:
            return {
                "name": self.endpoint.host,
                "discovery": self.endpoint.discovery,
                "targets": len(self.targets),
                "next_in": max(0.0, self._next - now),
                "resolving": self._claimed_at is not None,
                "failures": self._failures,
                "last_error": self._last_error,
            }


_discoveries: weakref.WeakSet[Discovery] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child has none of its parent's threads: a lookup one of them had claimed
    (the sync client looks up in a thread of its own) would never be reported, and the name
    would wait for the claim to expire. Claims, and the locks, start afresh."""
    for discovery in list(_discoveries):
        discovery._lock = threading.Lock()
        discovery._claimed_at = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
