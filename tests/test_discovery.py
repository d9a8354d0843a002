"""DNS discovery without the DNS: the schedule, SRV arithmetic, the endpoints it makes, and
the diff a balancer reports for the shell. Time is a parameter."""

from __future__ import annotations

import os
import threading

import pytest

from thrift_bridge import parse_url
from thrift_bridge._balance import RoundRobin
from thrift_bridge._discovery import (
    SRV_ZERO_WEIGHT,
    Discovery,
    Target,
    address_targets,
    expand,
    srv_targets,
)
from thrift_bridge._fleet import Change

DNS_URL = "tcp://api.svc.test:9090?discovery=dns&resolve_interval=30"


def targets(*hosts: str, port: int = 9090) -> list[Target]:
    return address_targets("api.svc.test", hosts, port)


def test_a_name_is_resolved_at_once_then_every_interval():
    discovery = Discovery(parse_url(DNS_URL))
    assert discovery.claim(0.0)
    assert not discovery.claim(0.0)  # one resolver at a time
    assert discovery.resolved(0.2, targets("127.0.0.2", "127.0.0.3"))
    assert not discovery.claim(30.1)
    assert discovery.claim(30.2)
    assert not discovery.resolved(30.3, targets("127.0.0.3", "127.0.0.2"))  # same set


def test_only_one_of_many_threads_claims_a_due_resolution():
    discovery = Discovery(parse_url(DNS_URL))
    barrier = threading.Barrier(8, timeout=10)
    wins = []

    def worker() -> None:
        barrier.wait()
        wins.append(discovery.claim(1.0))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(wins) == [False] * 7 + [True]


def test_a_claim_never_reported_back_expires():
    discovery = Discovery(parse_url(DNS_URL))
    assert discovery.claim(0.0)
    assert not discovery.claim(59.0)
    assert discovery.claim(60.0)


def test_a_claim_given_up_is_no_failure_and_may_be_claimed_at_once():
    discovery = Discovery(parse_url(DNS_URL))
    assert discovery.claim(0.0)
    discovery.unclaim()  # its task was cancelled
    stats = discovery.stats(0.0)
    assert (stats["resolving"], stats["failures"], stats["last_error"]) == (False, 0, None)
    assert discovery.claim(0.0)


def test_a_failed_or_empty_answer_keeps_the_last_set_and_retries_sooner_each_time_doubling():
    discovery = Discovery(parse_url(DNS_URL))
    discovery.claim(0.0)
    discovery.resolved(0.0, targets("127.0.0.2"))
    assert discovery.claim(30.0)
    discovery.failed(30.0, "timed out")
    assert discovery.targets == tuple(targets("127.0.0.2"))
    assert not discovery.claim(30.9)
    assert discovery.claim(31.0)  # 1 s later
    assert not discovery.resolved(31.0, [])  # empty counts as failed: still the old set
    assert discovery.targets == tuple(targets("127.0.0.2"))
    assert not discovery.claim(32.9)
    assert discovery.claim(33.0)  # 2 s later
    stats = discovery.stats(33.0)
    assert (stats["failures"], stats["last_error"]) == (2, "no addresses for api.svc.test")


def test_failure_pauses_stop_growing_at_the_interval():
    discovery = Discovery(parse_url("tcp://h:1?discovery=dns&resolve_interval=4"))
    now = 0.0
    pauses = []
    for _ in range(6):
        assert discovery.claim(now)
        discovery.failed(now, "refused")
        pause = discovery.stats(now)["next_in"]
        pauses.append(pause)
        now += pause
    assert pauses == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


def test_a_failed_connect_asks_for_an_early_resolution_at_most_every_five_seconds():
    discovery = Discovery(parse_url(DNS_URL))
    discovery.claim(0.0)
    discovery.resolved(0.0, targets("127.0.0.2"))
    discovery.connect_failed(2.0)
    assert not discovery.claim(4.9)
    assert discovery.claim(5.0)  # 5 s after the last resolution, not 30
    discovery.resolved(5.0, targets("127.0.0.2"))
    discovery.connect_failed(20.0)
    assert discovery.claim(20.0)  # the last one was long enough ago: at once


def test_discovery_needs_a_discovered_url():
    with pytest.raises(ValueError, match="does not ask for discovery"):
        Discovery(parse_url("tcp://h:1"))


def test_srv_records_honour_priorities_and_weights():
    records = [
        (10, 60, 9091, "a.svc.test."),
        (10, 20, 9092, "b.svc.test."),
        (20, 0, 9093, "c.svc.test."),
        (10, 10, 9094, "gone.svc.test."),  # no addresses: left out
        (0, 0, 0, "."),  # "no service here"
    ]
    addresses = {
        "a.svc.test": ["127.0.0.2", "127.0.0.3"],
        "b.svc.test": ["127.0.0.4"],
        "c.svc.test": ["127.0.0.5"],
    }
    assert srv_targets(records, addresses) == [
        Target("127.0.0.2", 9091, "a.svc.test", 10, 30.0),  # a's 60 shared by 2 addresses
        Target("127.0.0.3", 9091, "a.svc.test", 10, 30.0),
        Target("127.0.0.4", 9092, "b.svc.test", 10, 20.0),
        Target("127.0.0.5", 9093, "c.svc.test", 20, SRV_ZERO_WEIGHT),
    ]


def test_one_address_listed_twice_keeps_the_better_priority_and_adds_equal_shares():
    addresses = {"a.test": ["127.0.0.2"]}
    assert srv_targets([(1, 5, 9000, "a.test"), (0, 3, 9000, "a.test")], addresses) == [
        Target("127.0.0.2", 9000, "a.test", 0, 3.0)
    ]
    assert srv_targets([(0, 5, 9000, "a.test"), (0, 3, 9000, "a.test")], addresses) == [
        Target("127.0.0.2", 9000, "a.test", 0, 8.0)
    ]


def test_each_address_becomes_an_endpoint_and_tls_still_checks_the_name():
    endpoint = parse_url("tcps://api.svc.test:9443?discovery=dns&protocol=compact&timeout=2")
    members = expand(endpoint, targets("127.0.0.2", "::1", port=9443))
    urls = sorted(member.url for member in members)
    assert urls == [
        "tcps://127.0.0.2:9443?protocol=compact&timeout=2.0&server_hostname=api.svc.test",
        "tcps://[::1]:9443?protocol=compact&timeout=2.0&server_hostname=api.svc.test",
    ]
    plain = expand(parse_url(DNS_URL), targets("127.0.0.2"))
    assert [member.url for member in plain] == ["tcp://127.0.0.2:9090"]
    pinned = parse_url("tcps://api.svc.test?discovery=dns&server_hostname=other.test")
    assert {m.server_hostname for m in expand(pinned, targets("127.0.0.2"))} == {"other.test"}


def test_a_changed_answer_is_a_diff_the_shell_acts_on():
    discovery = Discovery(parse_url(DNS_URL))
    discovery.claim(0.0)
    discovery.resolved(0.0, targets("127.0.0.2", "127.0.0.3", "127.0.0.4"))
    balancer = RoundRobin(discovery.members())
    old = {member.host: member for member in discovery.members()}
    busy = balancer.pick(0.0)  # a call is out on 127.0.0.2
    assert discovery.claim(30.0)
    assert discovery.resolved(30.0, targets("127.0.0.3", "127.0.0.4", "127.0.0.5"))
    members = discovery.members()
    change = balancer.update(members, {m: t.weight for m, t in members.items()})
    new = {member.host: member for member in members}
    assert busy == old["127.0.0.2"]
    assert change == Change(added=(new["127.0.0.5"],), draining=(old["127.0.0.2"],))


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_lookup_claimed_before_a_fork_is_claimed_afresh_in_the_child():
    """A parent's thread had claimed a lookup (the sync client looks up in a thread of its
    own): the child, which has no such thread, claims it at once rather than after the
    claim's 60 s expiry; the parent's claim stands."""
    discovery = Discovery(parse_url(DNS_URL))
    assert discovery.claim(0.0)
    pid = os.fork()
    if pid == 0:  # the child: exit 0 when it could claim, and the claim shows
        code = 1
        try:
            code = 0 if discovery.claim(1.0) and discovery.stats(1.0)["resolving"] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not discovery.claim(1.0)
