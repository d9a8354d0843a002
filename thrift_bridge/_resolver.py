"""DNS lookups for discovery: the only I/O of it, through dnspython (the ``dns`` extra).

Why dnspython: the standard library's ``getaddrinfo`` answers A/AAAA only, through the system
resolver, blocking a thread, and cannot ask a chosen server; discovery also needs SRV records
(priorities, weights, ports), a resolver address per URL (``dns_server=``) and, for the asyncio
client, lookups that do not block the loop. dnspython is the maintained pure-Python DNS
toolkit that does all of it, typed, with ``dns.asyncresolver`` beside ``dns.resolver`` so one
plan serves both shells; it has no dependencies of its own.

`resolve` blocks (the sync shell calls it from the one caller whose `Discovery.claim` won);
`resolve_async` awaits dnspython's asyncio resolver (the async shell runs it in a task while
calls go on with the last good set), on UDP sockets of `_dns_udp` that a cancellation never
leaves open. Both walk the same plan of queries and return sorted
`Target` values; DNS errors become `ConnectError` here, where the I/O happens.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ._discovery import Target, address_targets, srv_targets
from ._exceptions import ConfigError, ConnectError

if TYPE_CHECKING:
    from ._endpoint import Endpoint

__all__ = ["DEFAULT_DNS_TIMEOUT", "ensure_available", "resolve", "resolve_async"]

#: Seconds one resolution may take in all (every query and retry of it).
DEFAULT_DNS_TIMEOUT = 5.0

# One step of a plan: (name, record type, whether a missing name is an error).
_Query = tuple[str, str, bool]
_Plan = Generator[_Query, Any, list[Target]]
_ADDRESS_TYPES = (1, 28)  # the record types A (RFC 1035) and AAAA (RFC 3596)


def _addresses(answer: Any) -> list[str]:
    """The addresses in an A or AAAA answer (none when the name has none of that type)."""
    if answer is None or answer.rrset is None:
        return []
    return [record.address for record in answer.rrset]


def _plan(endpoint: Endpoint) -> _Plan:
    """The queries discovery of `endpoint` needs, each answer sent back in; the targets."""
    name = endpoint.host
    if endpoint.discovery == "dns":
        found = _addresses((yield name, "A", True))
        found += _addresses((yield name, "AAAA", True))
        return address_targets(name, found, endpoint.port)
    answer = yield name, "SRV", True
    rrset = answer.rrset if answer is not None else None
    records = [(r.priority, r.weight, r.port, r.target.to_text().rstrip(".")) for r in rrset or ()]
    known: dict[str, list[str]] = {}
    if answer is not None:  # servers often send the targets' addresses along
        for rrset in answer.response.additional:
            if rrset.rdtype in _ADDRESS_TYPES:
                target = rrset.name.to_text().rstrip(".")
                known.setdefault(target, []).extend(record.address for record in rrset)
    for target in sorted({record[3] for record in records} - set(known) - {""}):
        addresses = _addresses((yield target, "A", False))
        known[target] = addresses + _addresses((yield target, "AAAA", False))
    return srv_targets(records, known)


def _configure(kind: Any, endpoint: Endpoint, timeout: float) -> tuple[Any, bool]:
    """A resolver of `kind` asking the endpoint's `dns_server` (or the system's), within
    `timeout`; and whether to apply the system's search domains."""
    resolver = kind(configure=endpoint.dns_server is None)
    if endpoint.dns_server is not None:
        host, _, port = endpoint.dns_server.rpartition(":")
        resolver.nameservers = [host.strip("[]")]
        resolver.port = int(port)
    resolver.lifetime = timeout
    resolver.cache = None  # discovery resolves on its own schedule: no stale answers
    return resolver, endpoint.dns_server is None


def _dns() -> Any:
    """dnspython's modules, or a `ConfigError` saying how to install them."""
    try:
        import dns.asyncresolver
        import dns.exception
        import dns.resolver
    except ImportError:
        raise ConfigError(
            "discovery=dns and discovery=srv need dnspython: pip install 'thrift-bridge[dns]'"
        ) from None
    return dns


def _error(exc: Exception, endpoint: Endpoint) -> ConnectError:
    """Our error for a failed lookup of `endpoint`'s name."""
    where = f" at {endpoint.dns_server}" if endpoint.dns_server else ""
    dns = _dns()
    if isinstance(exc, dns.resolver.NXDOMAIN):
        problem = "does not exist"
    elif isinstance(exc, dns.exception.Timeout):
        problem = "could not be resolved in time"
    else:
        problem = f"could not be resolved ({exc})"
    return ConnectError(
        f"DNS name {endpoint.host!r}{where} {problem}", endpoint=endpoint.redacted_url
    )


class _Walk:
    """One resolution: the plan's next query (None when done), answers and errors fed in."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self._plan = _plan(endpoint)
        self.targets: list[Target] = []
        self.query: _Query | None = next(self._plan)

    def answered(self, answer: Any) -> None:
        """Feed the answer to `query` (None: the name has no such records)."""
        try:
            self.query = self._plan.send(answer)
        except StopIteration as done:
            self.targets, self.query = list(done.value), None

    def failed(self, exc: Exception) -> None:
        """Feed a failed query: fine for a missing SRV target, else raise ours."""
        assert self.query is not None
        if not self.query[2] and isinstance(exc, _dns().resolver.NXDOMAIN):
            self.answered(None)
            return
        raise _error(exc, self.endpoint) from exc


def ensure_available() -> None:
    """Raise `ConfigError` now (at construction) when dnspython is missing."""
    _dns()


def resolve(endpoint: Endpoint, timeout: float = DEFAULT_DNS_TIMEOUT) -> list[Target]:
    """The targets of a discovered endpoint, asked of the DNS now (blocking)."""
    dns = _dns()
    walk = _Walk(endpoint)
    try:
        resolver, search = _configure(dns.resolver.Resolver, endpoint, timeout)
        while walk.query is not None:
            name, rdtype, _ = walk.query
            try:
                answer = resolver.resolve(name, rdtype, raise_on_no_answer=False, search=search)
            except dns.exception.DNSException as exc:
                walk.failed(exc)
            else:
                walk.answered(answer)
    except dns.exception.DNSException as exc:  # no usable system resolver configuration
        raise _error(exc, endpoint) from exc
    return walk.targets


async def resolve_async(endpoint: Endpoint, timeout: float = DEFAULT_DNS_TIMEOUT) -> list[Target]:
    """The targets of a discovered endpoint, asked of the DNS without blocking the loop."""
    dns = _dns()
    from ._dns_udp import backend  # UDP sockets that a cancelled lookup always closes

    walk = _Walk(endpoint)
    try:
        resolver, search = _configure(dns.asyncresolver.Resolver, endpoint, timeout)
        while walk.query is not None:
            name, rdtype, _ = walk.query
            try:
                answer = await resolver.resolve(
                    name, rdtype, raise_on_no_answer=False, search=search, backend=backend
                )
            except dns.exception.DNSException as exc:
                walk.failed(exc)
            else:
                walk.answered(answer)
    except dns.exception.DNSException as exc:
        raise _error(exc, endpoint) from exc
    return walk.targets
