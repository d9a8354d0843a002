"""The fleet policies as settings: `balancer`, `retry_budget`, `ejection` (client options),
`discovery`, `resolve_interval`, `dns_server` (endpoint options), and max_lifetime's jitter.
Validated at construction; the clients do not act on them yet."""

from __future__ import annotations

import random

import pytest

from thrift_bridge import AsyncClient, Client, ClientSettings, ConfigError, parse_url
from thrift_bridge._budget import RetryBudgetPolicy
from thrift_bridge._ejection import EjectionPolicy
from thrift_bridge._settings import CLIENT_OPTIONS, lifetime_with_jitter
from thrift_bridge.adapters import ClientRegistry

from .generated.calculator import Calculator


def test_the_defaults_are_finagles():
    settings = ClientSettings()
    assert settings.balancer == "p2c"
    assert settings.retry_budget == RetryBudgetPolicy(0.2, 10, 10.0)
    assert settings.ejection == EjectionPolicy(5, 0.8, 30.0, 5, 5.0, 300.0)
    assert {"balancer", "retry_budget", "ejection"} <= set(CLIENT_OPTIONS)


@pytest.mark.parametrize(
    ("options", "field", "expected"),
    [
        ({"balancer": "ROUND_ROBIN"}, "balancer", "round_robin"),
        ({"retry_budget": False}, "retry_budget", None),
        ({"retry_budget": None}, "retry_budget", None),
        ({"retry_budget": True}, "retry_budget", RetryBudgetPolicy()),
        ({"retry_budget": {"ttl": 5}}, "retry_budget", RetryBudgetPolicy(ttl=5.0)),
        ({"ejection": False}, "ejection", None),
        ({"ejection": {"consecutive_failures": 3}}, "ejection", EjectionPolicy(3)),
        ({"ejection": EjectionPolicy(window=10)}, "ejection", EjectionPolicy(window=10.0)),
    ],
)
def test_policy_settings_take_a_flag_a_mapping_or_a_value(options, field, expected):
    assert getattr(ClientSettings.from_options(options), field) == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"balancer": "least_conn"}, "unknown balancer 'least_conn'"),
        ({"balancer": 1}, "unknown balancer 1"),
        ({"retry_budget": "yes"}, "invalid retry_budget 'yes'"),
        ({"retry_budget": {"percent": 0.1}}, r"unknown retry_budget field\(s\) \['percent'\]"),
        ({"retry_budget": {"ttl": 0}}, "invalid retry_budget ttl 0"),
        ({"ejection": 5}, "invalid ejection 5"),
        ({"ejection": {"success_rate": 2}}, "invalid ejection success_rate 2"),
    ],
)
def test_bad_policy_settings_fail_at_construction(options, message):
    with pytest.raises(ConfigError, match=message):
        Client(Calculator, "tcp://127.0.0.1:9090", **options)


def test_the_client_and_the_registry_hand_the_policies_to_the_settings():
    with Client(Calculator, "tcp://127.0.0.1:9090", balancer="round_robin", ejection=False) as c:
        assert (c.settings.balancer, c.settings.ejection) == ("round_robin", None)
    registry = ClientRegistry(
        {
            "calc": {
                "service": "tests.generated.calculator.Calculator",
                "url": "tcp://127.0.0.1:9090",
                "retry_budget": {"percent_can_retry": 0.1},
            }
        }
    )
    try:
        assert registry["calc"].settings.retry_budget == RetryBudgetPolicy(0.1)
    finally:
        registry.close()
    with pytest.raises(ConfigError, match="unknown balancer"):
        ClientRegistry(
            {"calc": {"service": "tests.generated.calculator.Calculator", "balancer": "x"}}
        )


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("tcp://api.test:9090?discovery=dns", {"discovery": "dns", "resolve_interval": 30.0}),
        ("tcps://_thrift._tcp.api.test?discovery=SRV", {"discovery": "srv", "dns_server": None}),
        ("tcp://h?discovery=dns&resolve_interval=5s", {"resolve_interval": 5.0}),
        ("tcp://h?discovery=dns&dns_server=127.0.0.1", {"dns_server": "127.0.0.1:53"}),
        ("tcp://h?discovery=dns&resolve_interval=250ms", {"resolve_interval": 0.25}),
        ("tcp://h?discovery=srv&resolve_interval=2s", {"resolve_interval": 2.0}),
        ("tcp://h?discovery=dns&dns_server=10.0.0.2:5353", {"dns_server": "10.0.0.2:5353"}),
        ("tcp://h?discovery=dns&dns_server=[::1]:5300", {"dns_server": "[::1]:5300"}),
        ("tcp://h:1", {"discovery": None, "dns_server": None}),
    ],
)
def test_discovery_endpoint_options(url, fields):
    endpoint = parse_url(url)
    for name, value in fields.items():
        assert getattr(endpoint, name) == value
    assert parse_url(endpoint.url) == endpoint  # the URL round-trips


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("tcp://h?discovery=consul", "unknown discovery 'consul'"),
        ("http://h/?discovery=dns", "option 'discovery' does not apply to http"),
        ("unix:///tmp/s?discovery=dns", "option 'discovery' does not apply to unix"),
        ("tcp://h?resolve_interval=10", "resolve_interval applies only with discovery"),
        ("tcp://h?dns_server=127.0.0.1", "dns_server applies only with discovery"),
        ("tcp://h?discovery=dns&resolve_interval=0", "invalid resolve_interval"),
        ("tcp://h?discovery=dns&dns_server=ns.example", "invalid dns_server 'ns.example'"),
        ("tcp://h?discovery=dns&dns_server=127.0.0.1:99999", "invalid dns_server"),
        ("tcp://h?discovery=dns&dns_server=300.1.1.1", "invalid dns_server"),
    ],
)
def test_bad_discovery_options(url, message):
    with pytest.raises(ConfigError, match=message):
        parse_url(url)


def test_max_lifetime_jitter_stays_within_ten_percent():
    rng = random.Random(4)
    lifetimes = [lifetime_with_jitter(600.0, rng) for _ in range(2000)]
    assert all(540.0 <= value <= 660.0 for value in lifetimes)
    assert min(lifetimes) < 550.0 < 650.0 < max(lifetimes)  # spread, not a constant


def test_stats_have_every_counter_before_any_endpoint_is_known():
    """A discovering client before its first answer, and an async client before its first
    call, count the same counters as any other client (all zero), and say nothing of a fleet."""
    pytest.importorskip("dns")
    url = "tcp://api.svc.test:9090?discovery=dns&dns_server=127.0.0.1:9"
    counters = {"open", "idle", "in_use", "created", "reused", "discarded", "waits", "timeouts"}
    with Client(Calculator, url) as client, Client(Calculator, "tcp://127.0.0.1:9") as single:
        assert client.stats() == dict.fromkeys(counters | {"retries"}, 0)
        assert single.stats().keys() == client.stats().keys()
        assert client.fleet_stats()["endpoints"] == {}
    pending = AsyncClient(Calculator, "tcp://127.0.0.1:9")
    assert pending.stats() == dict.fromkeys(counters | {"retries"}, 0)
    assert pending.fleet_stats() == {
        "balancer": None,
        "panic": False,
        "endpoints": {},
        "retry_budget": None,
        "discovery": [],
    }
