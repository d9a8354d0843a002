"""The fleet policies through both clients, against real servers: deadlines (and the budget
sent to THeader servers), the retry budget, ejection, and DNS discovery with dnsmasq."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from typing import Any

import pytest
from thrift.Thrift import TApplicationException

from thrift_bridge import (
    AsyncClient,
    Client,
    ConnectError,
    DeadlineExceeded,
    ProtocolError,
    Timeout,
    TransportError,
    deadline,
)
from thrift_bridge.testing import HeaderCheckingProcessor, serve, serve_raw

from .dnsmasq import Dnsmasq
from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler

BOUND = 10.0  # seconds any wait in these tests may take before it counts as hung


@pytest.fixture
def anyio_backend():
    return "asyncio"


def hang(conn: socket.socket) -> None:
    """A server that reads requests and never answers (until the test stops it)."""
    while conn.recv(65536):
        pass


def read_and_hang_up(conn: socket.socket) -> None:
    """A server that takes one request, then closes the connection without a reply."""
    conn.recv(65536)


class Counting(AllTypesHandler):
    """AllTypes whose `add` counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def add(self, a: int, b: int) -> int:
        self.calls += 1
        return a + b


# --- deadlines -------------------------------------------------------------------------------


def test_a_deadline_spans_every_retry_against_a_hung_server():
    with serve_raw(hang) as hung:
        # Without the deadline: 4 attempts of 30 s each. With it, one budget for them all.
        options = {"timeout": 30, "retries": 3, "retry_backoff": 0, "idempotent": {"add"}}
        with Client(AllTypes, hung.url, **options) as client:
            with deadline(0.3), pytest.raises(DeadlineExceeded, match=r"0\.3s budget") as caught:
                client.add(1, 2)
    assert isinstance(caught.value, Timeout)
    assert caught.value.method == "add"


@pytest.mark.anyio
async def test_a_deadline_spans_every_retry_in_the_async_client():
    with serve_raw(hang) as hung:
        options = {"timeout": 30, "retries": 3, "retry_backoff": 0, "idempotent": {"add"}}
        async with AsyncClient(AllTypes, hung.url, **options) as client:
            with deadline(0.3), pytest.raises(DeadlineExceeded):
                await asyncio.wait_for(client.add(1, 2), BOUND)


def test_no_time_left_sends_nothing():
    handler = Counting()
    with serve(AllTypes.Processor(handler)) as server, Client(AllTypes, server.url) as client:
        with deadline(0), pytest.raises(DeadlineExceeded):
            client.add(1, 2)
        assert client.stats()["created"] == 0  # not even a connection
        assert client.add(1, 2) == 3  # outside the block: as before
    assert handler.calls == 1


def test_a_deadline_longer_than_the_call_changes_nothing():
    with serve(AllTypes.Processor(AllTypesHandler())) as server, Client(AllTypes, server.url) as c:
        with deadline(30):
            assert [c.add(i, 1) for i in range(5)] == [1, 2, 3, 4, 5]
        assert c.stats()["discarded"] == 0


def test_the_remaining_budget_travels_in_a_theader_header():
    processor = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
    with serve(processor, transport="header") as server, Client(AllTypes, server.url) as client:
        assert client.add(1, 1) == 2
        with deadline(5):
            assert client.add(2, 2) == 4
    without, within = processor.seen
    assert "Deadline-Budget" not in without
    assert 0 < int(within["Deadline-Budget"]) <= 5000  # whole milliseconds


class Front(AllTypesHandler):
    """A THeader service whose `echo_string` calls a hung backend through thrift-bridge."""

    def __init__(self, backend_url: str):
        super().__init__()
        self.backend = Client(
            AllTypes, backend_url, timeout=30, retries=3, retry_backoff=0, idempotent={"add"}
        )
        self.outcome: BaseException | None = None
        self.done = threading.Event()

    def echo_string(self, value: object) -> object:
        try:
            self.backend.add(1, 2)
        except BaseException as exc:  # recorded for the test, then the caller gets an error
            self.outcome = exc
            raise
        finally:
            self.done.set()
        return value


def test_a_servers_own_calls_inherit_the_callers_deadline():
    """client --(deadline 0.5 s)--> THeader server --> hung backend: the server's call ends
    with the caller's budget, not after its own 4 x 30 s."""
    with (
        serve_raw(hang) as hung,
        serve(AllTypes.Processor(front := Front(hung.url)), transport="header") as server,
    ):
        try:
            with Client(AllTypes, server.url, retries=0, timeout=30) as client:
                # Whichever end sees the budget run out first: the caller itself, or the
                # server, whose handler's error comes back as Apache's "Internal error".
                failed = (DeadlineExceeded, TransportError, TApplicationException)
                with deadline(0.5), pytest.raises(failed):
                    client.echo_string("x")
            assert front.done.wait(BOUND)
        finally:
            front.backend.close()
    assert isinstance(front.outcome, DeadlineExceeded)


# --- the retry budget ----------------------------------------------------------------------


def test_the_retry_budget_caps_retries_against_a_failing_server(caplog):
    caplog.set_level(logging.DEBUG, logger="thrift_bridge")
    budget = {"percent_can_retry": 0.0, "min_retries_per_sec": 0.05, "ttl": 60.0}  # 3 retries
    options = {"retries": 2, "retry_backoff": 0, "idempotent": {"add"}, "retry_budget": budget}
    with serve_raw(read_and_hang_up) as failing, Client(AllTypes, failing.url, **options) as c:
        for _ in range(20):
            with pytest.raises(TransportError):
                c.add(1, 2)
        stats, fleet = c.stats(), c.fleet_stats()
    assert stats["retries"] == 3  # not 2 x 20: the budget held
    # Call 1 retried twice, call 2 once (then refused), calls 3 to 20 refused at once.
    assert fleet["retry_budget"]["refused"] == 19
    assert "the retry budget is spent" in caplog.text


def test_retries_after_a_failed_connect_cost_no_budget(closed_port):
    budget = {"percent_can_retry": 0.0, "min_retries_per_sec": 0.05, "ttl": 60.0}
    handler = Counting()
    with serve(AllTypes.Processor(handler)) as server:
        urls = [f"tcp://127.0.0.1:{closed_port}", server.url]
        options = {"retries": 1, "retry_backoff": 0, "retry_budget": budget, "cooldown": 0}
        with Client(AllTypes, urls, balancer="round_robin", **options) as client:
            assert [client.add(i, 1) for i in range(10)] == [i + 1 for i in range(10)]
            fleet = client.fleet_stats()
    assert handler.calls == 10
    assert fleet["retry_budget"]["transparent"] >= 5  # every other call met the closed port
    assert fleet["retry_budget"]["refused"] == 0


# --- ejection --------------------------------------------------------------------------------


@pytest.mark.parametrize("balancer", ["p2c", "round_robin"])
def test_a_failing_endpoint_is_ejected_and_its_calls_go_elsewhere(balancer, caplog):
    caplog.set_level(logging.WARNING, logger="thrift_bridge")
    handler = Counting()
    with serve_raw(read_and_hang_up) as bad, serve(AllTypes.Processor(handler)) as good:
        options = {"retries": 1, "retry_backoff": 0, "idempotent": {"add"}}
        with Client(AllTypes, [bad.url, good.url], balancer=balancer, **options) as client:
            assert [client.add(i, 1) for i in range(40)] == [i + 1 for i in range(40)]
            states = client.fleet_stats()["endpoints"]
    assert handler.calls == 40  # every call answered: none failed
    bad_state = states[bad.url]
    assert bad_state["calls"] <= 5  # 5 failures in a row eject; p2c may stop sooner
    if balancer == "round_robin":  # round robin keeps coming back until it is ejected
        assert bad_state["state"] == "ejected"
        assert f"ejected {bad.url}" in caplog.text
    else:  # p2c's latency and failure penalty steer away before the fifth failure
        assert states[good.url]["calls"] >= 40


@pytest.mark.anyio
async def test_the_async_client_ejects_too():
    handler = Counting()
    with serve_raw(read_and_hang_up) as bad, serve(AllTypes.Processor(handler)) as good:
        options = {"retries": 1, "retry_backoff": 0, "idempotent": {"add"}}
        urls = [bad.url, good.url]
        async with AsyncClient(AllTypes, urls, balancer="round_robin", **options) as client:
            for i in range(40):
                assert await asyncio.wait_for(client.add(i, 1), BOUND) == i + 1
            states = client.fleet_stats()["endpoints"]
    assert handler.calls == 40
    assert states[bad.url]["state"] == "ejected"


def test_when_every_endpoint_fails_they_are_all_still_used():
    """Panic mode: ejecting everything would leave nothing; calls keep going to all."""
    with serve_raw(read_and_hang_up) as one, serve_raw(read_and_hang_up) as two:
        urls = [one.url, two.url]
        with Client(AllTypes, urls, retries=0, balancer="round_robin") as client:
            for _ in range(20):
                with pytest.raises((TransportError, ProtocolError)):  # reached a server
                    client.add(1, 2)
            fleet = client.fleet_stats()
    assert fleet["panic"] is True
    assert [row["state"] for row in fleet["endpoints"].values()] == ["ejected", "ejected"]
    assert all(row["pending"] == 0 for row in fleet["endpoints"].values())


# --- DNS discovery ---------------------------------------------------------------------------


@pytest.fixture
def dns(tmp_path):
    server = Dnsmasq(tmp_path, [])
    server.write({})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _free_port(hosts: list[str]) -> int:
    """A port free on every one of `hosts` just now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((hosts[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for host in hosts[1:]:
                with socket.socket() as other:
                    other.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every address")


def _serving(hosts: list[str], port: int) -> tuple[dict[str, Counting], list[Any]]:
    """A counting AllTypes server on each host, all on `port`."""
    handlers = {host: Counting() for host in hosts}
    servers = [serve(AllTypes.Processor(handlers[h]), host=h, port=port) for h in hosts]
    return handlers, servers


HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


def _members(fleet: dict[str, Any]) -> list[str]:
    return sorted(url for url, row in fleet["endpoints"].items() if not row["draining"])


def test_discovery_follows_the_dns_as_addresses_come_and_go(dns):
    port = _free_port(HOSTS)
    handlers, servers = _serving(HOSTS, port)
    try:
        dns.write({"api.svc.test": HOSTS[:2]})
        dns.reload()
        url = (
            f"tcp://api.svc.test:{port}?discovery=dns&dns_server=127.0.0.1:{dns.port}"
            "&resolve_interval=0.2"
        )
        options = {"balancer": "round_robin", "idempotent": {"add"}}
        with Client(AllTypes, url, **options) as client:
            assert [client.add(i, 1) for i in range(10)] == [i + 1 for i in range(10)]
            assert _members(client.fleet_stats()) == [f"tcp://{h}:{port}" for h in HOSTS[:2]]
            dns.write({"api.svc.test": HOSTS[1:]})  # .2 is replaced by .4
            dns.reload()
            wanted = [f"tcp://{h}:{port}" for h in HOSTS[1:]]
            for _ in range(500):  # calls go on while the next resolution comes due
                assert client.add(1, 1) == 2
                if _members(client.fleet_stats()) == wanted:
                    break
                time.sleep(0.01)
            else:
                pytest.fail(f"discovery never saw {wanted}")
            before = handlers[HOSTS[0]].calls
            assert [client.add(i, 1) for i in range(20)] == [i + 1 for i in range(20)]
            stats = client.fleet_stats()
    finally:
        for server in servers:
            server.close()
    assert handlers[HOSTS[0]].calls == before  # gone from the DNS: no new calls
    assert handlers[HOSTS[2]].calls >= 10  # new in the DNS: its share
    assert stats["discovery"][0]["targets"] == 2


@pytest.mark.anyio
async def test_the_async_client_discovers_too(dns):
    port = _free_port(HOSTS)
    handlers, servers = _serving(HOSTS, port)
    try:
        dns.write({"api.svc.test": HOSTS})
        dns.reload()
        url = f"tcp://api.svc.test:{port}?discovery=dns&dns_server=127.0.0.1:{dns.port}"
        async with AsyncClient(AllTypes, url, balancer="round_robin") as client:
            results = [await asyncio.wait_for(client.add(i, 1), BOUND) for i in range(30)]
            members = _members(client.fleet_stats())
    finally:
        for server in servers:
            server.close()
    assert results == [i + 1 for i in range(30)]
    assert members == [f"tcp://{h}:{port}" for h in HOSTS]
    assert [handlers[h].calls for h in HOSTS] == [10, 10, 10]


def test_a_name_that_does_not_resolve_is_a_connect_error(dns):
    url = f"tcp://nowhere.svc.test:9090?discovery=dns&dns_server=127.0.0.1:{dns.port}"
    with Client(AllTypes, url) as client, pytest.raises(ConnectError, match=r"nowhere\.svc\.test"):
        client.add(1, 2)
