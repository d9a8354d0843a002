"""DNS discovery against a real DNS server: dnsmasq on a loopback port, serving A and SRV
records for 127.0.0.x addresses from a hosts file the tests rewrite and reload (SIGHUP).

dnsmasq is started and stopped by PID; readiness and reloads are awaited on its log lines,
never on the clock. Without dnsmasq the tests skip, except under CI=true, where they fail
(the Makefile's sysdeps target installs dnsmasq-base)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from thrift_bridge import ConnectError, parse_url
from thrift_bridge._balance import RoundRobin
from thrift_bridge._discovery import Discovery, Target
from thrift_bridge._resolver import resolve, resolve_async

from .dnsmasq import Dnsmasq

pytest.importorskip("dns.resolver", reason="the dns extra (dnspython) is not installed")

SRV = [
    "_thrift._tcp.svc.test,a.svc.test,9091,10,60",
    "_thrift._tcp.svc.test,b.svc.test,9092,10,20",
    "_thrift._tcp.svc.test,c.svc.test,9093,20,10",  # a backup
]
RECORDS = {
    "api.svc.test": ["127.0.0.2", "127.0.0.3", "127.0.0.4"],
    "a.svc.test": ["127.0.0.5", "127.0.0.6"],
    "b.svc.test": ["127.0.0.7"],
    "c.svc.test": ["127.0.0.8"],
}


@pytest.fixture
def dns_server(tmp_path):
    server = Dnsmasq(tmp_path, SRV)
    server.write(RECORDS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def url(server: Dnsmasq, name: str, kind: str = "dns") -> str:
    return f"tcp://{name}:9090?discovery={kind}&dns_server=127.0.0.1:{server.port}"


def test_a_name_with_several_addresses_is_one_target_per_address(dns_server):
    targets = resolve(parse_url(url(dns_server, "api.svc.test")))
    assert targets == [
        Target("127.0.0.2", 9090, "api.svc.test"),
        Target("127.0.0.3", 9090, "api.svc.test"),
        Target("127.0.0.4", 9090, "api.svc.test"),
    ]


def test_srv_records_give_ports_priorities_and_weights(dns_server):
    targets = resolve(parse_url(url(dns_server, "_thrift._tcp.svc.test", "srv")))
    assert targets == [
        Target("127.0.0.5", 9091, "a.svc.test", 10, 30.0),
        Target("127.0.0.6", 9091, "a.svc.test", 10, 30.0),
        Target("127.0.0.7", 9092, "b.svc.test", 10, 20.0),
        Target("127.0.0.8", 9093, "c.svc.test", 20, 10.0),
    ]


def test_the_asyncio_resolver_gives_the_same_answers(dns_server):
    for name, kind in (("api.svc.test", "dns"), ("_thrift._tcp.svc.test", "srv")):
        endpoint = parse_url(url(dns_server, name, kind))
        assert asyncio.run(resolve_async(endpoint)) == resolve(endpoint)


def test_an_answer_too_long_for_udp_comes_over_tcp_on_both_resolvers(dns_server):
    # 300 addresses: some 4.8 KB, past what a UDP answer may carry, so the answer comes
    # truncated and dnspython asks again over TCP (the async resolver's UDP sockets are ours).
    hosts = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(300)]
    dns_server.write({**RECORDS, "big.svc.test": hosts})
    dns_server.reload()
    endpoint = parse_url(url(dns_server, "big.svc.test"))
    found = resolve(endpoint)
    assert sorted(t.host for t in found) == sorted(hosts)
    assert asyncio.run(resolve_async(endpoint)) == found


def test_a_record_change_is_picked_up_after_a_reload(dns_server):
    endpoint = parse_url(url(dns_server, "api.svc.test") + "&resolve_interval=30")
    discovery = Discovery(endpoint)
    assert discovery.claim(0.0)
    discovery.resolved(0.0, resolve(endpoint))
    balancer = RoundRobin(discovery.members())
    before = {member.host: member for member in discovery.members()}

    dns_server.write({**RECORDS, "api.svc.test": ["127.0.0.3", "127.0.0.4", "127.0.0.9"]})
    dns_server.reload()
    assert not discovery.claim(29.0)
    assert discovery.claim(30.0)
    assert discovery.resolved(30.0, resolve(endpoint))
    change = balancer.update(discovery.members())
    after = {member.host: member for member in discovery.members()}
    assert change.added == (after["127.0.0.9"],)
    assert change.removed == (before["127.0.0.2"],)
    assert sorted(m.host for m in balancer.keys) == ["127.0.0.3", "127.0.0.4", "127.0.0.9"]


def test_an_srv_target_moving_is_picked_up_after_a_reload(dns_server):
    endpoint = parse_url(url(dns_server, "_thrift._tcp.svc.test", "srv"))
    first = resolve(endpoint)
    dns_server.write({**RECORDS, "b.svc.test": ["127.0.0.10"]})
    dns_server.reload()
    moved = resolve(endpoint)
    assert [t for t in first if t.name == "b.svc.test"] == [
        Target("127.0.0.7", 9092, "b.svc.test", 10, 20.0)
    ]
    assert [t for t in moved if t.name == "b.svc.test"] == [
        Target("127.0.0.10", 9092, "b.svc.test", 10, 20.0)
    ]


def test_an_unknown_name_is_a_connect_error(dns_server):
    with pytest.raises(
        ConnectError, match=r"'nope\.svc\.test' at 127\.0\.0\.1:[0-9]+ does not exist"
    ):
        resolve(parse_url(url(dns_server, "nope.svc.test")))


def test_an_srv_target_without_addresses_is_left_out(tmp_path):
    server = Dnsmasq(
        tmp_path, ["_x._tcp.svc.test,gone.svc.test,9000", "_x._tcp.svc.test,b.svc.test,9001"]
    )
    server.write(RECORDS)
    server.start()
    try:
        targets = resolve(parse_url(url(server, "_x._tcp.svc.test", "srv")))
    finally:
        server.stop()
    assert [(t.host, t.port) for t in targets] == [("127.0.0.7", 9001)]


def test_a_silent_server_is_a_connect_error_within_the_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        endpoint = parse_url(f"tcp://api.svc.test?discovery=dns&dns_server=127.0.0.1:{port}")
        with pytest.raises(ConnectError, match="could not be resolved in time"):
            resolve(endpoint, timeout=0.3)
