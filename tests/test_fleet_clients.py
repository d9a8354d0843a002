"""The fleet policies through both clients, against real servers: deadlines (and the budget
sent to THeader servers), the retry budget, ejection, and DNS discovery with dnsmasq."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from thrift.Thrift import TApplicationException

from thrift_bridge import (
    AsyncClient,
    Client,
    ConnectError,
    DeadlineExceeded,
    ProtocolError,
    ThriftBridgeError,
    Timeout,
    TransportError,
    deadline,
    parse_url,
)
from thrift_bridge.testing import HeaderCheckingProcessor, serve, serve_raw

from .aio import until
from .dnsmasq import Dnsmasq, common_port
from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler, HeldHandler
from .sockets import udp_sockets

if TYPE_CHECKING:
    from collections.abc import Iterator

BOUND = 10.0  # seconds any wait in these tests may take before it counts as hung


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


def test_time_spent_waiting_for_a_connection_comes_off_the_budget():
    """The budget sent (and the attempt's timeout) is what is left once a pooled connection
    is had, not what was left when the call began waiting for one."""
    processor = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
    held, release = threading.Event(), threading.Event()
    times: dict[str, float] = {}
    results: list[Any] = []
    with serve(processor, transport="header") as server:
        with Client(AllTypes, server.url, pool_size=1, pool_timeout=BOUND) as client:

            def hold() -> None:
                with client.connection():  # the pool's only connection
                    held.set()
                    release.wait(BOUND)

            def call() -> None:
                with deadline(5):
                    times["entered"] = time.monotonic()
                    results.append(client.add(1, 1))

            holder = threading.Thread(target=hold)
            holder.start()
            assert held.wait(BOUND)
            caller = threading.Thread(target=call)
            caller.start()
            release.wait(0.3)  # the call waits for the connection meanwhile
            times["released"] = time.monotonic()
            release.set()
            holder.join(BOUND)
            caller.join(BOUND)
    assert results == [2]
    sent = int(processor.seen[-1]["Deadline-Budget"])
    # Left when the connection was had: at most 5 s minus the time from entering the block
    # to the release (the connection came after it).
    assert sent <= math.ceil((times["entered"] + 5 - times["released"]) * 1000)


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


@pytest.mark.parametrize("how", ["theader", "http", "https"])
def test_a_servers_own_calls_inherit_the_callers_deadline(how, server_ssl_context, ca_file):
    """client --(deadline 0.5 s)--> server --> hung backend: the server's call ends with the
    caller's budget, not after its own 4 x 30 s. The budget goes in a THeader header, or an
    HTTP request header, which the loopback HTTP server reads (`budget_from_headers`)."""
    wire: dict[str, Any] = {"transport": "header"} if how == "theader" else {"scheme": how}
    options: dict[str, Any] = {}
    if how == "https":
        wire["ssl_context"] = server_ssl_context
        options["ca_certs"] = ca_file
    with (
        serve_raw(hang) as hung,
        serve(AllTypes.Processor(front := Front(hung.url)), **wire) as server,
    ):
        try:
            with Client(AllTypes, server.url, retries=0, timeout=30, **options) as client:
                # Whichever end sees the budget run out first: the caller itself, or the
                # server, whose handler's error comes back as Apache's "Internal error".
                failed = (DeadlineExceeded, TransportError, TApplicationException)
                with deadline(0.5), pytest.raises(failed):
                    client.echo_string("x")
            assert front.done.wait(BOUND)
        finally:
            front.backend.close()
    assert isinstance(front.outcome, DeadlineExceeded)


@pytest.mark.anyio
async def test_an_http_servers_own_calls_inherit_the_async_callers_deadline():
    with (
        serve_raw(hang) as hung,
        serve(AllTypes.Processor(front := Front(hung.url)), scheme="http") as server,
    ):
        try:
            async with AsyncClient(AllTypes, server.url, retries=0, timeout=30) as client:
                failed = (DeadlineExceeded, TransportError, TApplicationException)
                with deadline(0.5), pytest.raises(failed):
                    await asyncio.wait_for(client.echo_string("x"), BOUND)
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


def _serving(hosts: list[str], port: int) -> tuple[dict[str, Counting], list[Any]]:
    """A counting AllTypes server on each host, all on `port`."""
    handlers = {host: Counting() for host in hosts}
    servers = [serve(AllTypes.Processor(handlers[h]), host=h, port=port) for h in hosts]
    return handlers, servers


HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


@contextlib.contextmanager
def _named_fleet(
    dns: Dnsmasq, named: list[str] | None = None, query: str = ""
) -> Iterator[tuple[int, dict[str, Counting], str]]:
    """Counting servers on every one of HOSTS (one port), those `named` (all by default)
    being api.svc.test in `dns`: the port, the handlers by host, and the URL discovering
    them (plus `query`)."""
    port = common_port(HOSTS)
    handlers, servers = _serving(HOSTS, port)
    url = f"tcp://api.svc.test:{port}?discovery=dns&dns_server=127.0.0.1:{dns.port}{query}"
    try:
        dns.write({"api.svc.test": HOSTS if named is None else named})
        dns.reload()
        yield port, handlers, url
    finally:
        for server in servers:
            server.close()


def _members(fleet: dict[str, Any]) -> list[str]:
    return sorted(url for url, row in fleet["endpoints"].items() if not row["draining"])


def _call_until_members(client: Client, wanted: list[str]) -> None:
    """Call on (at most 500 calls, 10 ms apart) until the fleet is `wanted`: calls go on while
    the next resolution comes due."""
    for _ in range(500):
        assert client.add(1, 1) == 2
        if _members(client.fleet_stats()) == wanted:
            return
        time.sleep(0.01)
    pytest.fail(f"discovery never saw {wanted}")


def test_discovery_follows_the_dns_as_addresses_come_and_go(dns):
    options = {"balancer": "round_robin", "idempotent": {"add"}}
    with _named_fleet(dns, HOSTS[:2], "&resolve_interval=0.2") as (port, handlers, url):
        with Client(AllTypes, url, **options) as client:
            assert [client.add(i, 1) for i in range(10)] == [i + 1 for i in range(10)]
            assert _members(client.fleet_stats()) == [f"tcp://{h}:{port}" for h in HOSTS[:2]]
            dns.write({"api.svc.test": HOSTS[1:]})  # .2 is replaced by .4
            dns.reload()
            _call_until_members(client, [f"tcp://{h}:{port}" for h in HOSTS[1:]])
            before = handlers[HOSTS[0]].calls
            assert [client.add(i, 1) for i in range(20)] == [i + 1 for i in range(20)]
            stats = client.fleet_stats()
    assert handlers[HOSTS[0]].calls == before  # gone from the DNS: no new calls
    assert handlers[HOSTS[2]].calls >= 10  # new in the DNS: its share
    assert stats["discovery"][0]["targets"] == 2


@pytest.mark.anyio
async def test_the_async_client_discovers_too(dns):
    with _named_fleet(dns) as (port, handlers, url):
        async with AsyncClient(AllTypes, url, balancer="round_robin") as client:
            results = [await asyncio.wait_for(client.add(i, 1), BOUND) for i in range(30)]
            members = _members(client.fleet_stats())
    assert results == [i + 1 for i in range(30)]
    assert members == [f"tcp://{h}:{port}" for h in HOSTS]
    assert [handlers[h].calls for h in HOSTS] == [10, 10, 10]


def test_a_name_that_does_not_resolve_is_a_connect_error(dns):
    url = f"tcp://nowhere.svc.test:9090?discovery=dns&dns_server=127.0.0.1:{dns.port}"
    with Client(AllTypes, url) as client, pytest.raises(ConnectError, match=r"nowhere\.svc\.test"):
        client.add(1, 2)


def test_calls_made_while_the_first_resolution_is_out_wait_for_it(dns):
    """Many threads calling a fresh client at once: one resolves, the others wait for its
    answer instead of failing with "DNS discovery found none"."""
    with _named_fleet(dns) as (_, _, url):
        threads = 16
        start = threading.Barrier(threads)
        outcomes: list[Any] = []

        def call(client: Client) -> None:
            start.wait(BOUND)
            try:
                outcomes.append(client.add(1, 1))
            except Exception as exc:  # recorded: the assertion below names it
                outcomes.append(exc)

        for _ in range(3):  # a fresh client each round: the first resolution is the race
            with Client(AllTypes, url, pool_size=threads) as client:
                workers = [threading.Thread(target=call, args=(client,)) for _ in range(threads)]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join(BOUND)
    assert outcomes == [2] * (3 * threads)


@pytest.mark.anyio
async def test_async_calls_made_while_the_first_resolution_is_out_wait_for_it(dns):
    outcomes: list[Any] = []
    with _named_fleet(dns) as (_, _, url):
        for _ in range(3):
            async with AsyncClient(AllTypes, url) as client:
                calls = [asyncio.wait_for(client.add(1, 1), BOUND) for _ in range(32)]
                outcomes += await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes == [2] * 96


def test_a_dead_fleet_draws_on_the_budget_even_for_refused_connects():
    """Retries after a refused connect are free only while another endpoint is usable: when
    every endpoint is cooling down (the fleet is down), they are charged like any other."""
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
    urls = [f"tcp://127.0.0.1:{port}" for port in ports]
    budget = {"percent_can_retry": 0.0, "min_retries_per_sec": 0.05, "ttl": 60.0}  # 3 retries
    options = {"retries": 2, "retry_backoff": 0, "retry_budget": budget, "cooldown": 60}
    with Client(AllTypes, urls, balancer="round_robin", **options) as client:
        for _ in range(20):
            with pytest.raises(ConnectError):
                client.add(1, 2)
        retries, fleet = client.stats()["retries"], client.fleet_stats()
    # Call 1: its first retry goes to the other endpoint, still usable: free. After that both
    # are cooling down, so every retry is charged: 3 granted, then refused (18 calls).
    assert fleet["retry_budget"]["transparent"] == 1
    assert fleet["retry_budget"]["retries"] == 3
    assert fleet["retry_budget"]["refused"] == 18
    assert retries == 4  # not 2 x 20


# --- deadlines on pinned connections ----------------------------------------------------------


def test_a_pinned_call_keeps_the_deadline_in_force():
    with serve_raw(hang) as hung, Client(AllTypes, hung.url, timeout=5) as client:
        with client.connection() as pinned:
            with deadline(0.3), pytest.raises(DeadlineExceeded) as caught:
                pinned.add(1, 2)  # without the deadline: ReadTimeout after 5 s
    assert caught.value.method == "add"


def test_a_pinned_call_sends_the_remaining_budget():
    processor = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
    with serve(processor, transport="header") as server, Client(AllTypes, server.url) as client:
        with client.connection() as pinned:
            assert pinned.add(1, 1) == 2
            with deadline(5):
                assert pinned.add(2, 2) == 4
    without, within = processor.seen
    assert "Deadline-Budget" not in without
    assert 0 < int(within["Deadline-Budget"]) <= 5000


@pytest.mark.anyio
async def test_an_async_pinned_call_keeps_the_deadline_in_force():
    with serve_raw(hang) as hung:
        async with AsyncClient(AllTypes, hung.url, timeout=5) as client:
            async with client.connection() as pinned:
                with deadline(0.3), pytest.raises(DeadlineExceeded):
                    await asyncio.wait_for(pinned.add(1, 2), BOUND)


@pytest.mark.anyio
async def test_a_caller_handed_room_after_its_deadline_passed_opens_no_connection():
    """A call waits in line for the pool's only connection; the loop is busy past both calls'
    deadlines, then the first call's expiry frees room for the second: the second ends with
    DeadlineExceeded at once instead of opening a connection it has no time to use."""
    with serve_raw(hang) as hung:
        async with AsyncClient(AllTypes, hung.url, pool_size=1, timeout=5, retries=0) as client:
            loop = asyncio.get_running_loop()

            async def call(seconds: float) -> BaseException | None:
                try:
                    with deadline(seconds):
                        await asyncio.wait_for(client.add(1, 2), BOUND)
                except Exception as exc:  # returned: the assertions below name it
                    return exc
                return None

            first = asyncio.ensure_future(call(0.2))
            await until(lambda: client.stats()["in_use"] == 1, "the first call holds the pool")
            second = asyncio.ensure_future(call(0.25))
            await until(lambda: client.stats()["waits"] == 1, "the second call waits in line")
            loop.call_soon(time.sleep, 0.4)  # the loop busy past both deadlines
            errors = await asyncio.gather(first, second)
            assert [type(error) for error in errors] == [DeadlineExceeded, DeadlineExceeded]
            assert "no time left to connect" in str(errors[1].__cause__)
            assert client.stats()["created"] == 1


#: Calls under short deadlines: uvloop's millisecond clock fired a timer set to the deadline
#: early in 11 of 200 such calls (ReadTimeout, not DeadlineExceeded), before the fix.
EARLY_TIMERS = 100


@pytest.mark.anyio
async def test_a_timer_set_to_the_deadline_that_fires_early_is_still_the_deadline():
    """Pooled and pinned, every call stopped by its timer cut to the deadline raises
    DeadlineExceeded, never the endpoint's ReadTimeout (uvloop rounds timers to milliseconds
    from a clock read at the start of its loop iteration, so they may fire a moment early)."""
    seen: dict[str, int] = {}
    with serve_raw(hang) as hung:
        async with AsyncClient(AllTypes, hung.url, timeout=5, retries=0) as client:
            for i in range(EARLY_TIMERS):
                try:
                    with deadline(0.013 + (i % 7) * 0.0007):
                        if i % 2:
                            await asyncio.wait_for(client.add(1, 2), BOUND)
                        else:
                            async with client.connection() as pinned:
                                await asyncio.wait_for(pinned.add(1, 2), BOUND)
                except Exception as exc:  # counted, then checked
                    seen[type(exc).__name__] = seen.get(type(exc).__name__, 0) + 1
    assert seen == {"DeadlineExceeded": EARLY_TIMERS}


def test_a_call_waiting_on_an_endpoint_that_leaves_the_dns_goes_elsewhere(dns):
    """A call picked an endpoint and waits for its pool; the DNS drops that endpoint and its
    pool is closed: the call is picked again onto one still there, not failed (PoolClosed)."""
    held, release = threading.Event(), threading.Event()
    results: list[Any] = []
    fleet = _named_fleet(dns, HOSTS[:1], "&resolve_interval=0.2")
    with fleet as (port, handlers, url), contextlib.ExitStack() as cleanup:
        cleanup.callback(release.set)
        second = f"tcp://{HOSTS[1]}:{port}"
        with Client(AllTypes, url, pool_size=1, pool_timeout=BOUND) as client:

            def hold() -> None:
                with client.connection():  # the first endpoint's only connection
                    held.set()
                    release.wait(BOUND)

            def call() -> None:
                try:
                    results.append(client.add(1, 1))
                except Exception as exc:  # recorded: the assertion below names it
                    results.append(exc)

            holder = threading.Thread(target=hold)
            holder.start()
            assert held.wait(BOUND)
            caller = threading.Thread(target=call)
            caller.start()
            for _ in range(500):  # until the call waits in the first endpoint's line
                if client.stats()["waits"]:
                    break
                release.wait(0.01)
            dns.write({"api.svc.test": HOSTS[1:2]})
            dns.reload()
            for _ in range(500):  # calls under a short deadline make the client resolve again
                with deadline(0.05), contextlib.suppress(DeadlineExceeded):
                    client.add(2, 2)
                if _members(client.fleet_stats()) == [second]:
                    break
            else:
                pytest.fail("discovery never dropped the first endpoint")
            caller.join(BOUND)
            release.set()
            holder.join(BOUND)
    assert results == [2]
    assert handlers[HOSTS[1]].calls >= 1


# --- what the README promises of pinned connections and fleet_stats ----------------------------


def test_pinned_calls_do_not_feed_the_balancer_and_are_not_retried():
    handlers = [Counting(), Counting()]
    with (
        serve(AllTypes.Processor(handlers[0])) as one,
        serve(AllTypes.Processor(handlers[1])) as two,
    ):
        with Client(AllTypes, [one.url, two.url], idempotent={"add"}) as client:
            with client.connection() as pinned:
                assert [pinned.add(i, 1) for i in range(10)] == list(range(1, 11))
            rows = client.fleet_stats()["endpoints"]
    assert sorted(h.calls for h in handlers) == [0, 10]  # all on the pinned connection
    assert [(row["calls"], row["pending"]) for row in rows.values()] == [(0, 0), (0, 0)]
    assert all(row["ewma"] == 0.0 for row in rows.values())  # no latency recorded


def test_a_failed_pinned_call_is_not_retried():
    with serve_raw(read_and_hang_up) as failing:
        with Client(AllTypes, failing.url, idempotent={"add"}, retries=3) as client:
            with client.connection() as pinned, pytest.raises(TransportError):
                pinned.add(1, 2)
            assert client.stats()["retries"] == 0


def test_fleet_stats_has_no_budget_without_retries_or_with_the_budget_off():
    with serve(AllTypes.Processor(AllTypesHandler())) as server:
        for options in ({"retries": 0}, {"retry_budget": False}):
            with Client(AllTypes, server.url, **options) as client:
                assert client.fleet_stats()["retry_budget"] is None
        with Client(AllTypes, server.url) as client:
            assert client.add(1, 1) == 2
            budget = client.fleet_stats()["retry_budget"]
    assert set(budget) == {"deposits", "retries", "refused", "transparent", "balance"}
    assert budget["deposits"] == 1


def test_p2c_counts_the_wait_for_a_connection_in_an_endpoints_latency():
    """A call that waited in an endpoint's pool line was slow there, whatever the server's
    own time: p2c's latency record (`ewma`) counts from the pick, as Finagle's does; the
    outlier rule's `mean` is the server's time alone, from the connection to the reply."""
    handlers = [Counting(), Counting()]
    with (
        serve(AllTypes.Processor(handlers[0])) as one,
        serve(AllTypes.Processor(handlers[1])) as two,
    ):
        urls = [one.url, two.url]
        for _ in range(20):  # the call may go to the free endpoint: then try again
            with Client(AllTypes, urls, pool_size=1, pool_timeout=BOUND) as client:
                calling, done = threading.Event(), threading.Event()
                times: dict[str, float] = {}
                before = [h.calls for h in handlers]

                def call(client: Any = client, calling=calling, done=done, times=times) -> None:
                    times["calling"] = time.monotonic()
                    calling.set()
                    client.add(1, 1)
                    done.set()

                with client.connection():  # one endpoint's only connection
                    caller = threading.Thread(target=call)
                    caller.start()
                    assert calling.wait(BOUND)
                    waited = not done.wait(0.3)  # still waiting: it went to the busy one
                    released = time.monotonic()
                caller.join(BOUND)
                assert done.is_set()
                if waited:
                    where = urls[0] if handlers[0].calls > before[0] else urls[1]
                    row = client.fleet_stats()["endpoints"][where]
                    break
        else:
            pytest.fail("the call never went to the busy endpoint")
    # It waited at least until the release (0.3 s): far above the server's own time.
    assert row["ewma"] >= (released - times["calling"]) / 2
    assert 0.0 < row["mean"] < (released - times["calling"]) / 3


# --- per-endpoint THeader headers ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_each_endpoint_sends_its_own_headers_and_middleware_sees_the_shared_ones(kind):
    """Endpoints that differ on a header each send their own value; the headers they share
    are the call's, which middleware sees (and may change)."""
    one = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
    two = HeaderCheckingProcessor(AllTypes.Processor(AllTypesHandler()))
    seen: list[dict[str, str]] = []

    def watch(call, proceed):
        seen.append(dict(call.headers))
        return proceed(call)

    async def awatch(call, proceed):
        seen.append(dict(call.headers))
        return await proceed(call)

    with serve(one, transport="header") as a, serve(two, transport="header") as b:
        endpoints = [
            parse_url(a.url, headers={"x-tenant": "a", "x-app": "shop"}),
            parse_url(b.url, headers={"x-tenant": "b", "x-app": "shop"}),
        ]
        if kind == "sync":
            with Client(AllTypes, endpoints, balancer="round_robin", middleware=[watch]) as c:
                assert [c.add(i, 1) for i in range(4)] == [1, 2, 3, 4]
        else:

            async def calls() -> list[int]:
                options = {"balancer": "round_robin", "middleware": [awatch]}
                async with AsyncClient(AllTypes, endpoints, **options) as c:
                    return [await asyncio.wait_for(c.add(i, 1), BOUND) for i in range(4)]

            assert asyncio.run(calls()) == [1, 2, 3, 4]
    assert [h["x-tenant"] for h in one.seen] == ["a", "a"]
    assert [h["x-tenant"] for h in two.seen] == ["b", "b"]
    assert all(h["x-app"] == "shop" for h in one.seen + two.seen)
    assert seen == [{"x-app": "shop"}] * 4


def test_an_endpoint_that_left_the_dns_is_counted_until_its_last_call_ends(dns):
    """An endpoint the DNS dropped while a call was on it drains: its call stays counted in
    stats() and fleet_stats() (by its URL) through later DNS changes, until it ends."""
    port = common_port(HOSTS)
    held = HeldHandler()
    servers = [
        serve(AllTypes.Processor(held if h == HOSTS[0] else AllTypesHandler()), host=h, port=port)
        for h in HOSTS
    ]
    leaving = f"tcp://{HOSTS[0]}:{port}"
    answers: list[str] = []
    try:
        dns.write({"api.svc.test": HOSTS[:1]})
        dns.reload()
        url = (
            f"tcp://api.svc.test:{port}?discovery=dns&dns_server=127.0.0.1:{dns.port}"
            "&resolve_interval=0.2"
        )
        with Client(AllTypes, url, balancer="round_robin") as client:
            worker = threading.Thread(target=lambda: answers.append(client.slow_echo("held", 0)))
            worker.start()
            try:
                assert held.started.wait(BOUND)  # a call in flight on the first endpoint
                for named in (HOSTS[1:2], HOSTS[1:]):  # it leaves; then another one comes
                    dns.write({"api.svc.test": named})
                    dns.reload()
                    _call_until_members(client, [f"tcp://{h}:{port}" for h in named])
                stats, fleet = client.stats(), client.fleet_stats()
            finally:
                held.release.set()
                worker.join(BOUND)
    finally:
        for server in servers:
            server.close()
    assert answers == ["held"]
    assert stats["in_use"] == 1  # the draining endpoint's call
    assert fleet["endpoints"][leaving]["draining"] is True
    assert fleet["endpoints"][leaving]["pending"] == 1


# --- calls that never went out count for nothing in ejection ---------------------------------

#: Ejection on the first failure: any call wrongly counted as one shows as an ejection.
EAGER = {"consecutive_failures": 1, "success_rate": 0.99, "min_calls": 1}


def _untouched(rows: dict[str, Any]) -> None:
    """Every endpoint row as if nothing had failed there: alive, no failure recorded."""
    for url, row in rows.items():
        assert row["state"] == "alive", (url, row)
        assert row["consecutive_failures"] == 0, (url, row)
        assert row["ejections"] == 0, (url, row)
        assert row["success_rate"] in (None, 1.0), (url, row)  # None: no call counted
        assert row["pending"] == 0, (url, row)


def test_pool_timeouts_and_spent_deadlines_count_for_nothing_in_ejection():
    """Both endpoints' only connection pinned: calls fail with PoolTimeout, or under
    deadline(0) before anything is sent; with ejection at the first failure, no endpoint
    is ejected or marked as failing."""
    from thrift_bridge import PoolTimeout

    with serve(AllTypes.Processor(Counting())) as one, serve(AllTypes.Processor(Counting())) as two:
        options = {"pool_size": 1, "pool_timeout": 0.01, "retries": 0, "ejection": EAGER}
        with Client(AllTypes, [one.url, two.url], balancer="round_robin", **options) as client:
            with client.connection() as first, client.connection() as second:
                assert first.add(1, 1) == 2
                assert second.add(1, 1) == 2
                for _ in range(6):
                    with pytest.raises(PoolTimeout):
                        client.add(1, 2)
                    with deadline(0), pytest.raises(DeadlineExceeded):
                        client.add(1, 2)
                held = client.fleet_stats()
            assert [client.add(i, 1) for i in range(4)] == [1, 2, 3, 4]
            after = client.fleet_stats()
    assert held["panic"] is False
    _untouched(held["endpoints"])
    assert [row["calls"] for row in held["endpoints"].values()] == [0, 0]
    _untouched(after["endpoints"])
    assert sorted(row["calls"] for row in after["endpoints"].values()) == [2, 2]


@pytest.mark.anyio
async def test_async_calls_that_never_went_out_count_for_nothing_in_ejection():
    """AsyncClient: PoolTimeout, deadline(0), and calls cancelled while waiting in the pool
    line: no endpoint is ejected or marked as failing."""
    from thrift_bridge import PoolTimeout

    with serve(AllTypes.Processor(Counting())) as one, serve(AllTypes.Processor(Counting())) as two:
        options = {"pool_size": 1, "pool_timeout": 0.01, "retries": 0, "ejection": EAGER}
        urls = [one.url, two.url]
        async with AsyncClient(AllTypes, urls, balancer="round_robin", **options) as client:
            async with client.connection() as first, client.connection() as second:
                assert await first.add(1, 1) == 2
                assert await second.add(1, 1) == 2
                for _ in range(6):
                    with pytest.raises(PoolTimeout):
                        await asyncio.wait_for(client.add(1, 2), BOUND)
                    with deadline(0), pytest.raises(DeadlineExceeded):
                        await asyncio.wait_for(client.add(1, 2), BOUND)
                held = client.fleet_stats()
            assert [await client.add(i, 1) for i in range(4)] == [1, 2, 3, 4]
            after = client.fleet_stats()
        # Cancelled in the pool line: a client whose calls wait (long pool_timeout).
        options = {**options, "pool_timeout": BOUND}
        async with AsyncClient(AllTypes, urls, balancer="round_robin", **options) as client:
            async with client.connection(), client.connection():
                waiting = [asyncio.ensure_future(client.add(1, 2)) for _ in range(6)]
                for _ in range(int(BOUND / 0.005)):  # until every call waits in a line
                    if client.stats()["waits"] >= len(waiting):
                        break
                    await asyncio.sleep(0.005)
                assert client.stats()["waits"] >= len(waiting)
                for task in waiting:
                    task.cancel()
                outcomes = await asyncio.gather(*waiting, return_exceptions=True)
                cancelled = client.fleet_stats()
            assert [await client.add(i, 1) for i in range(4)] == [1, 2, 3, 4]
            after_cancel = client.fleet_stats()
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
    for fleet in (held, after, cancelled, after_cancel):
        assert fleet["panic"] is False
        _untouched(fleet["endpoints"])
    for fleet in (held, cancelled):
        assert [row["calls"] for row in fleet["endpoints"].values()] == [0, 0]
    for fleet in (after, after_cancel):
        assert sorted(row["calls"] for row in fleet["endpoints"].values()) == [2, 2]


# --- a DNS outage through the clients -----------------------------------------------------------

#: Calls made across a DNS outage, and the least time they span (past the 1 s retry pause).
OUTAGE_CALLS, OUTAGE_SPAN = 50, 1.3


def _outage(dns: Dnsmasq, how: str) -> None:
    """Take the name away: stop the DNS server, or serve an empty record set."""
    if how == "stopped":
        dns.stop()
    else:
        dns.write({})
        dns.reload()


OUTAGES = pytest.mark.parametrize("how", ["stopped", "empty"])


def _kept_through_the_outage(
    results: list[int],
    elapsed: float,
    before: list[str],
    fleet: dict[str, Any],
    handlers: dict[str, Counting],
    port: int,
) -> None:
    """Every call across the outage answered (the paced ones, then those made until a
    failed lookup showed), on the endpoints found before, and fleet_stats() says so."""
    calls = len(results)
    assert results[:OUTAGE_CALLS] == [i + 1 for i in range(OUTAGE_CALLS)]
    assert results[OUTAGE_CALLS:] == [2] * (calls - OUTAGE_CALLS)
    assert elapsed >= 1.0
    assert before == [f"tcp://{h}:{port}" for h in HOSTS]
    assert _members(fleet) == before
    (found,) = fleet["discovery"]
    assert found["targets"] == len(HOSTS)
    assert found["failures"] >= 1, found
    assert "api.svc.test" in (found["last_error"] or ""), found
    assert sum(h.calls for h in handlers.values()) == 6 + calls


@OUTAGES
def test_a_dns_outage_keeps_the_last_endpoints(dns, how, caplog):
    """resolve_interval=0.2, then the DNS goes (stopped, or no records): calls over more than
    a second all answer on the endpoints found before; fleet_stats() shows the failures."""
    with _named_fleet(dns, query="&resolve_interval=0.2") as (port, handlers, url):
        with Client(AllTypes, url, balancer="round_robin") as client:
            assert [client.add(i, 1) for i in range(6)] == [i + 1 for i in range(6)]
            before = _members(client.fleet_stats())
            _outage(dns, how)
            started, results = time.monotonic(), []
            for i in range(OUTAGE_CALLS):  # paced to span the outage's first retries
                results.append(client.add(i, 1))
                pause = started + OUTAGE_SPAN * (i + 1) / OUTAGE_CALLS - time.monotonic()
                time.sleep(max(0.0, pause))
            elapsed = time.monotonic() - started
            for _ in range(int(BOUND / 0.01)):  # a stopped server: the lookup times out (5 s)
                fleet = client.fleet_stats()
                if fleet["discovery"][0]["failures"]:
                    break
                results.append(client.add(1, 1))
                time.sleep(0.01)
    _kept_through_the_outage(results, elapsed, before, fleet, handlers, port)
    assert "DNS discovery of api.svc.test failed" in caplog.text


@OUTAGES
@pytest.mark.anyio
async def test_a_dns_outage_keeps_the_last_endpoints_of_the_async_client(dns, how, caplog):
    with _named_fleet(dns, query="&resolve_interval=0.2") as (port, handlers, url):
        async with AsyncClient(AllTypes, url, balancer="round_robin") as client:
            assert [await client.add(i, 1) for i in range(6)] == [i + 1 for i in range(6)]
            before = _members(client.fleet_stats())
            _outage(dns, how)
            started, results = time.monotonic(), []
            for i in range(OUTAGE_CALLS):
                results.append(await asyncio.wait_for(client.add(i, 1), BOUND))
                pause = started + OUTAGE_SPAN * (i + 1) / OUTAGE_CALLS - time.monotonic()
                await asyncio.sleep(max(0.0, pause))
            elapsed = time.monotonic() - started
            for _ in range(int(BOUND / 0.01)):  # a stopped server: the lookup times out (5 s)
                fleet = client.fleet_stats()
                if fleet["discovery"][0]["failures"]:
                    break
                results.append(await asyncio.wait_for(client.add(1, 1), BOUND))
                await asyncio.sleep(0.01)
    _kept_through_the_outage(results, elapsed, before, fleet, handlers, port)
    assert "DNS discovery of api.svc.test failed" in caplog.text


@contextlib.contextmanager
def _paused(dns: Dnsmasq) -> Iterator[None]:
    """dnsmasq stopped in its tracks (SIGSTOP): queries wait unanswered until the block ends."""
    assert dns.process is not None
    os.kill(dns.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(dns.process.pid, signal.SIGCONT)


def _lookup(client: Client | AsyncClient) -> dict[str, Any]:
    return client.fleet_stats()["discovery"][0]


def _call_until_a_lookup_is_out(client: Client) -> None:
    """Call on, 10 ms apart (bounded in count and time), until a call left a lookup out."""
    give_up = time.monotonic() + BOUND
    for _ in range(int(BOUND / 0.01)):
        assert client.add(1, 1) == 2
        if _lookup(client)["resolving"]:
            return
        if time.monotonic() > give_up:
            break
        time.sleep(0.01)
    pytest.fail("no lookup stayed out beside the calls")


def _until_answered(client: Client) -> dict[str, Any]:
    """The name's stats once its lookup is no longer out (bounded in count and time)."""
    give_up = time.monotonic() + BOUND
    for _ in range(int(BOUND / 0.01)):
        found = _lookup(client)
        if not found["resolving"] or time.monotonic() > give_up:
            return found
        time.sleep(0.01)
    return _lookup(client)


def test_no_call_waits_for_a_later_lookup(dns):
    """Once endpoints are known, a due lookup runs in a thread of its own: with the DNS
    server paused (a lookup then takes its 5 s timeout to fail), calls go on answering
    while the lookup is out, and none of them saw it end."""
    with _named_fleet(dns, query="&resolve_interval=0.2") as (_, _, url):
        with Client(AllTypes, url, balancer="round_robin") as client:
            assert client.add(1, 1) == 2
            with _paused(dns):
                _call_until_a_lookup_is_out(client)
                results = [client.add(i, 1) for i in range(20)]
                during = _lookup(client)
                threads = {t.name for t in threading.enumerate()}
            after = _until_answered(client)  # once the server goes on
    assert results == [i + 1 for i in range(20)]
    assert (during["resolving"], during["failures"]) == (True, 0), during
    assert "thrift-bridge DNS" in threads
    assert (after["resolving"], after["failures"], after["targets"]) == (False, 0, 3), after


async def _call_async_until_a_lookup_is_out(client: AsyncClient) -> None:
    """`_call_until_a_lookup_is_out`, awaited."""
    give_up = time.monotonic() + BOUND
    for _ in range(int(BOUND / 0.01)):
        assert await asyncio.wait_for(client.add(1, 1), BOUND) == 2
        if _lookup(client)["resolving"] or time.monotonic() > give_up:
            return
        await asyncio.sleep(0.01)


@pytest.mark.anyio
async def test_no_async_call_waits_for_a_later_lookup(dns):
    """As `test_no_call_waits_for_a_later_lookup`, for `AsyncClient` (a lookup is a task)."""
    with _named_fleet(dns, query="&resolve_interval=0.2") as (_, _, url):
        async with AsyncClient(AllTypes, url, balancer="round_robin") as client:
            assert await client.add(1, 1) == 2
            with _paused(dns):
                await _call_async_until_a_lookup_is_out(client)
                results = [await asyncio.wait_for(client.add(i, 1), BOUND) for i in range(20)]
                during = _lookup(client)
    assert results == [i + 1 for i in range(20)]
    assert (during["resolving"], during["failures"]) == (True, 0), during


@pytest.mark.anyio
async def test_an_async_client_closed_with_a_lookup_out_ends_it(dns):
    """aclose() with a lookup out (the DNS server paused) cancels it and waits until it has
    ended, so that the loop closing next finds none of its sockets."""
    with _named_fleet(dns, query="&resolve_interval=0.2") as (_, _, url):
        client = AsyncClient(AllTypes, url, balancer="round_robin")
        try:
            assert await client.add(1, 1) == 2
            with _paused(dns):
                await _call_async_until_a_lookup_is_out(client)
                assert _lookup(client)["resolving"]
                await asyncio.wait_for(client.aclose(), BOUND)
                assert not _lookup(client)["resolving"]
        finally:
            await client.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("turns", range(6))
async def test_a_lookup_cancelled_at_any_turn_of_the_loop_leaves_no_socket(dns, turns):
    """aclose() cancels the first lookup `turns` turns of the loop after a call started it
    (the DNS server paused): before its socket is made, as it is made, or while it waits for
    the answer. No UDP socket is left open (uvloop's own datagram endpoint, cancelled while
    it was being made, stayed open and could leave uvloop's loop.close() waiting for good)."""
    with _named_fleet(dns) as (_, _, url):
        before = udp_sockets()
        client = AsyncClient(AllTypes, url)
        with _paused(dns):
            call = asyncio.ensure_future(client.add(1, 1))
            for _ in range(turns):
                await asyncio.sleep(0)
            await asyncio.wait_for(client.aclose(), BOUND)
            with pytest.raises(ThriftBridgeError):
                await asyncio.wait_for(call, BOUND)
        assert udp_sockets() == before


def test_a_lookup_answered_after_close_opens_no_pool(dns):
    """A lookup out when the client closes, answered after with a new address: the closed
    client opens no pool for it."""
    with _named_fleet(dns, named=HOSTS[:1], query="&resolve_interval=0.2") as (port, _, url):
        client = Client(AllTypes, url)
        with client:
            assert client.add(1, 1) == 2
            dns.write({"api.svc.test": HOSTS[:2]})
            dns.reload()
            with _paused(dns):
                _call_until_a_lookup_is_out(client)
                client.close()
            _until_answered(client)
            fleet = client.fleet_stats()
    assert fleet["discovery"][0]["targets"] == 2, fleet["discovery"]
    assert _members(fleet) == [f"tcp://{HOSTS[0]}:{port}"]


@contextlib.contextmanager
def _silent_dns() -> Iterator[str]:
    """The URL of a name whose DNS server (a bound UDP socket) never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        yield f"tcp://api.svc.test:9090?discovery=dns&dns_server=127.0.0.1:{silent.getsockname()[1]}"


#: A generous bound on a call under deadline(0.3) whose DNS never answers (the lookup's own
#: timeout is 5 s): only "well before 5 s" is asserted; the time itself is in the message.
SILENT_BOUND = 3.0


def test_a_silent_dns_server_gives_way_to_the_deadline():
    with _silent_dns() as url, Client(AllTypes, url) as client:
        started = time.monotonic()
        with deadline(0.3), pytest.raises(DeadlineExceeded):
            client.add(1, 2)
        elapsed = time.monotonic() - started
    assert elapsed < SILENT_BOUND, f"the first call took {elapsed:.2f}s"


@pytest.mark.anyio
async def test_a_silent_dns_server_gives_way_to_the_deadline_in_the_async_client():
    with _silent_dns() as url:
        async with AsyncClient(AllTypes, url) as client:
            started = time.monotonic()
            with deadline(0.3), pytest.raises(DeadlineExceeded):
                await asyncio.wait_for(client.add(1, 2), BOUND)
            elapsed = time.monotonic() - started
    assert elapsed < SILENT_BOUND, f"the first call took {elapsed:.2f}s"
