"""Balancers (`_balance`): round robin and p2c over peak EWMA, with cooldown, ejection,
priorities, panic mode and a changing membership, driven directly (time is a parameter; the RNG
is seeded); then round robin and cooldown through both clients against real servers."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrift_bridge import Client, ConfigError, ConnectError
from thrift_bridge._balance import PeakEwmaP2C, RoundRobin, make_balancer
from thrift_bridge._ejection import EjectionPolicy, Ejector
from thrift_bridge._fleet import Change
from thrift_bridge.testing import serve

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler
from .paths import AsyncPath, SyncPath, public_type


def p2c(keys: list[str], **options: object) -> PeakEwmaP2C[str]:
    return PeakEwmaP2C(keys, rng=random.Random(3), **options)  # type: ignore[arg-type]


def picks(balancer: RoundRobin[str] | PeakEwmaP2C[str], n: int, now: float = 0.0) -> list[str]:
    """`n` picks, each finished at once (so none stays outstanding)."""
    out = []
    for _ in range(n):
        key = balancer.pick(now)
        balancer.abandoned(key, now)
        out.append(key)
    return out


# --- round robin ------------------------------------------------------------------------


def test_round_robin_takes_turns():
    assert picks(RoundRobin(["a", "b", "c"]), 6) == ["a", "b", "c", "a", "b", "c"]


def test_round_robin_follows_weights_smoothly():
    balancer = RoundRobin(["a", "b"], weights={"a": 3, "b": 1})
    assert picks(balancer, 8) == ["a", "a", "b", "a", "a", "a", "b", "a"]


def test_a_failed_connect_sits_out_the_cooldown_and_its_share_is_spread_evenly():
    balancer = RoundRobin(["a", "b", "c"], cooldown=5.0)
    key = balancer.pick(0.0)
    balancer.connect_failed(key, 0.0)
    during = Counter(picks(balancer, 30, now=4.9))
    assert during == {"b": 15, "c": 15}
    assert "a" in picks(balancer, 3, now=5.0)


def test_avoid_skips_where_the_call_just_failed_unless_nothing_else_is_left():
    balancer = RoundRobin(["a", "b"])
    assert {balancer.pick(0.0, avoid={"a"}) for _ in range(4)} == {"b"}
    single = RoundRobin(["a"])
    assert single.pick(0.0, avoid={"a"}) == "a"


# --- p2c over peak EWMA -------------------------------------------------------------------


def test_p2c_prefers_the_endpoint_with_fewer_calls_out():
    balancer = p2c(["a", "b"])
    for key, other in (("a", "b"), ("b", "a")):  # one call each: the same latency
        balancer.pick(0.0, avoid={other})
        balancer.finished(key, 0.0, 0.010, ok=True)
    balancer.pick(0.0, avoid={"b"})
    balancer.pick(0.0, avoid={"b"})  # two calls out on a, none on b
    assert [balancer.pick(0.0) for _ in range(2)] == ["b", "b"]  # 0.03 vs 0.01, then 0.02


def test_p2c_prefers_the_faster_endpoint():
    balancer = p2c(["fast", "slow"])
    for key, latency in (("fast", 0.010), ("slow", 0.030)):
        assert balancer.pick(0.0, avoid={"slow" if key == "fast" else "fast"}) == key
        balancer.finished(key, 0.0, latency, ok=True)
    assert Counter(picks(balancer, 20, now=0.0)) == {"fast": 20}


def test_a_new_endpoint_gets_one_call_at_a_time_until_it_is_measured():
    balancer = p2c(["a", "b"])
    balancer.finished(balancer.pick(0.0, avoid={"b"}), 0.0, 0.5, ok=True)  # a: slow but known
    assert balancer.pick(0.0) == "b"  # unmeasured and idle: load 0 wins
    assert balancer.pick(0.0) == "a"  # b has a call out and no latency yet: the penalty
    assert balancer.pick(0.0) == "a"


def test_peak_ewma_jumps_to_a_peak_and_decays_with_a_ten_second_window():
    balancer = p2c(["a"])
    balancer.finished(balancer.pick(0.0), 0.0, 0.030, ok=True)
    ewma = balancer.stats(0.0)["endpoints"]["a"]["ewma"]
    assert ewma == pytest.approx(0.030)
    assert balancer.stats(10.0)["endpoints"]["a"]["ewma"] == pytest.approx(0.030 / math.e)
    assert balancer.stats(20.0)["endpoints"]["a"]["ewma"] == pytest.approx(0.030 / math.e**2)
    balancer.finished(balancer.pick(10.0), 10.0, 0.100, ok=True)  # a peak is taken at once
    assert balancer.stats(10.0)["endpoints"]["a"]["ewma"] == pytest.approx(0.100)


def test_a_lower_latency_pulls_the_average_down_only_gradually():
    balancer = p2c(["a"])
    balancer.finished(balancer.pick(0.0), 0.0, 0.100, ok=True)
    balancer.finished(balancer.pick(1.0), 1.0, 0.010, ok=True)
    weight = math.exp(-1.0 / 10.0)
    expected = 0.100 * weight + 0.010 * (1 - weight)
    assert balancer.stats(1.0)["endpoints"]["a"]["ewma"] == pytest.approx(expected)


def test_p2c_weights_share_traffic_in_proportion():
    balancer = p2c(["a", "b", "c"], weights={"a": 4, "b": 1, "c": 1})
    for key in ("a", "b", "c"):
        balancer.finished(balancer.pick(0.0, avoid={"a", "b", "c"} - {key}), 0.0, 0.01, ok=True)
    shares: Counter[str] = Counter()
    for _ in range(3000):  # two calls out at a time
        first, second = balancer.pick(0.0), balancer.pick(0.0)
        shares.update([first, second])
        balancer.finished(first, 0.0, 0.01, ok=True)
        balancer.finished(second, 0.0, 0.01, ok=True)
    assert shares["a"] > 2 * (shares["b"] + shares["c"]) * 0.8


@pytest.mark.parametrize("decay", [0, -1, math.inf, "10"])
def test_a_bad_decay_is_refused(decay):
    with pytest.raises(ValueError, match="invalid decay"):
        PeakEwmaP2C(["a"], decay=decay)


def test_the_bound_is_the_fade_of_the_mean_to_twice_the_median():
    balancer = p2c(["a", "b", "slow"])
    for key, service in (("a", 0.007), ("b", 0.007), ("slow", 0.024)):
        others = {"a", "b", "slow"} - {key}
        balancer.finished(balancer.pick(0.0, avoid=others), 0.0, service, ok=True)
    bound = 10.0 * math.log(0.024 / (2 * 0.007))

    def picks_with_peers_busy(now: float) -> Counter[str]:
        for key in ("a", "b"):  # peers reply again (their means stay 7 ms) and hold calls
            balancer.finished(
                balancer.pick(now, avoid={"slow", "ab".replace(key, "")}), now, 0.007, ok=True
            )
            for _ in range(8):
                balancer.pick(now, avoid={"slow", "ab".replace(key, "")})
        chosen = Counter(picks(balancer, 200, now))
        for key in ("a", "b"):
            for _ in range(8):
                balancer.abandoned(key, now)
        return chosen

    assert picks_with_peers_busy(bound - 0.01)["slow"] == 0
    assert picks_with_peers_busy(bound + 0.01)["slow"] > 0


def test_the_outlier_rule_reads_service_times_not_the_wait_in_the_pools_line():
    balancer = p2c(["a"])
    balancer.finished(balancer.pick(0.0), 0.0, 0.050, ok=True, service=0.005)
    row = balancer.stats(0.0)["endpoints"]["a"]
    assert row["ewma"] == pytest.approx(0.050)  # Finagle's cost: the whole latency
    assert row["mean"] == pytest.approx(0.005)
    balancer.finished(balancer.pick(10.0), 10.0, 0.015, ok=True, service=0.015)
    # Each reply weighs the time since the one before (10 s), the first its own 5 ms.
    first, second = (1 - math.exp(-0.005 / 10)) * math.exp(-1.0), 1 - math.exp(-1.0)
    mean = (0.005 * first + 0.015 * second) / (first + second)
    assert balancer.stats(10.0)["endpoints"]["a"]["mean"] == pytest.approx(mean)
    assert balancer.stats(20.0)["endpoints"]["a"]["mean"] == pytest.approx(mean / math.e)


@pytest.mark.parametrize("ratio", [1, 0.5, 0, -2, math.inf, 10**400, "2", True])
def test_a_bad_outlier_ratio_is_refused(ratio):
    with pytest.raises(ValueError, match="invalid outlier_ratio"):
        PeakEwmaP2C(["a"], outlier_ratio=ratio)
    with pytest.raises(
        ConfigError, match=r"invalid outlier_ratio .*expected a number > 1.*or None"
    ):
        Client(AllTypes, ["tcp://127.0.0.2:1", "tcp://127.0.0.3:1"], outlier_ratio=ratio)


# --- priorities, ejection, panic mode ---------------------------------------------------


@pytest.mark.parametrize("policy", ["round_robin", "p2c"])
def test_backups_take_calls_only_while_every_primary_is_out(policy):
    balancer = make_balancer(
        policy, ["p1", "p2", "backup"], cooldown=5.0, rng=random.Random(1), ejection=None
    )
    balancer.update(["p1", "p2", "backup"], priorities={"backup": 1})
    assert set(picks(balancer, 20)) == {"p1", "p2"}
    for key in ("p1", "p2"):
        balancer.pick(0.0, avoid={"p1", "p2"} - {key})
        balancer.connect_failed(key, 0.0)
    assert set(picks(balancer, 10, now=1.0)) == {"backup"}
    assert set(picks(balancer, 20, now=5.0)) == {"p1", "p2"}


@pytest.mark.parametrize("policy", ["round_robin", "p2c"])
def test_an_ejected_endpoint_gets_no_calls_then_exactly_one_probe(policy):
    events: list[Any] = []
    balancer = make_balancer(
        policy, ["a", "b"], ejection=EjectionPolicy(), rng=random.Random(5), on_event=events.append
    )
    for _ in range(5):
        key = balancer.pick(0.0, avoid={"b"})
        balancer.finished(key, 0.0, 0.001, ok=False)
    assert [(e.kind, e.key) for e in events] == [("ejected", "a")]
    assert set(picks(balancer, 20, now=1.0)) == {"b"}
    probe = balancer.pick(5.0, avoid={"b"})
    assert probe == "a"
    assert balancer.stats(5.0)["endpoints"]["a"]["state"] == "probing"
    assert {balancer.pick(5.0) for _ in range(10)} == {"b"}  # the probe is out: none else
    balancer.finished("a", 5.1, 0.002, ok=True)
    assert events[-1].kind == "revived"
    assert "a" in {balancer.pick(5.1) for _ in range(10)}


@pytest.mark.parametrize("policy", ["round_robin", "p2c"])
def test_a_reply_sent_before_the_failures_neither_breaks_their_run_nor_revives(policy):
    """The balancer tells the ejector when each call was sent: now - latency."""
    events: list[Any] = []
    balancer = make_balancer(
        policy, ["a", "b"], ejection=EjectionPolicy(), rng=random.Random(5), on_event=events.append
    )
    slow = [balancer.pick(10.0, avoid={"b"}) for _ in range(2)]  # sent at 10.0, answered late
    for _ in range(4):
        balancer.finished(balancer.pick(10.1, avoid={"b"}), 10.2, 0.1, ok=False)  # sent at 10.1
    balancer.finished(slow[0], 10.3, 0.3, ok=True)
    assert balancer.stats(10.3)["endpoints"]["a"]["consecutive_failures"] == 4
    balancer.finished(balancer.pick(10.3, avoid={"b"}), 10.4, 0.1, ok=False)
    assert [(e.kind, e.key) for e in events] == [("ejected", "a")]
    balancer.finished(slow[1], 10.5, 0.5, ok=True)
    assert [(e.kind, e.key) for e in events] == [("ejected", "a")]
    assert balancer.stats(10.5)["endpoints"]["a"]["state"] == "ejected"


def test_panic_mode_uses_every_endpoint_when_all_are_out():
    balancer = make_balancer("round_robin", ["a", "b"], ejection=EjectionPolicy(), cooldown=5.0)
    for key in ("a", "b"):
        for _ in range(5):
            balancer.pick(0.0, avoid={"a", "b"} - {key})
            balancer.finished(key, 0.0, 0.001, ok=False)
    assert balancer.stats(1.0)["panic"] is True
    assert set(picks(balancer, 4, now=1.0)) == {"a", "b"}


# --- membership -------------------------------------------------------------------------


def test_update_adds_removes_and_drains():
    balancer = RoundRobin(["a", "b", "c"])
    busy = balancer.pick(0.0)  # "a": one call out
    change = balancer.update(["b", "c", "d"])
    assert change == Change(added=("d",), removed=(), draining=(busy,))
    assert balancer.keys == ("b", "c", "d")
    assert busy not in picks(balancer, 9)
    assert balancer.stats(0.0)["endpoints"][busy]["draining"] is True
    balancer.finished(busy, 0.1, 0.01, ok=True)  # its last call: forgotten
    assert busy not in balancer.stats(0.1)["endpoints"]
    assert balancer.update(["c", "d"]) == Change(removed=("b",))


def test_an_endpoint_back_before_its_drain_ends_is_added_again():
    balancer = RoundRobin(["a", "b"])
    balancer.pick(0.0)
    assert balancer.update(["b"]).draining == ("a",)
    assert balancer.update(["a", "b"]) == Change(added=("a",))
    assert balancer.stats(0.0)["endpoints"]["a"]["pending"] == 1


def test_reports_after_a_key_left_are_ignored():
    ejector: Ejector[str] = Ejector(EjectionPolicy())
    balancer = RoundRobin(["a", "b"], ejector=ejector)
    balancer.update(["b"])
    balancer.finished("a", 0.0, 0.01, ok=False)
    balancer.connect_failed("a", 0.0)
    balancer.abandoned("a", 0.0)
    assert "a" not in balancer.stats(0.0)["endpoints"]


def test_a_balancer_may_start_empty_but_never_becomes_empty():
    balancer: RoundRobin[str] = RoundRobin([])
    with pytest.raises(LookupError, match="no endpoints to pick from yet"):
        balancer.pick(0.0)
    assert balancer.update(["a"]) == Change(added=("a",))
    assert balancer.pick(0.0) == "a"
    with pytest.raises(ValueError, match="at least one endpoint"):
        balancer.update([])


@pytest.mark.parametrize(
    ("keys", "options", "message"),
    [
        (["a"], {"weights": {"a": 0}}, "invalid weight"),
        (["a"], {"priorities": {"a": 1.5}}, "invalid priority"),
    ],
)
def test_update_checks_its_input(keys, options, message):
    with pytest.raises(ValueError, match=message):
        RoundRobin(keys, **options)


def test_make_balancer_knows_two_policies():
    assert isinstance(make_balancer("p2c", ["a"]), PeakEwmaP2C)
    assert isinstance(make_balancer("round_robin", ["a"]), RoundRobin)
    with pytest.raises(ValueError, match="unknown balancer 'random'"):
        make_balancer("random", ["a"])


def test_concurrent_picks_and_ends_leave_nothing_outstanding():
    balancer = p2c([f"e{i}" for i in range(4)])
    barrier = threading.Barrier(4, timeout=10)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for i in range(500):
            key = balancer.pick(i / 1000)
            balancer.finished(key, i / 1000, rng.uniform(0.001, 0.01), ok=True)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    rows = balancer.stats(1.0)["endpoints"].values()
    assert [row["pending"] for row in rows] == [0, 0, 0, 0]


# Operations on a fleet of up to 4 endpoints: (op, endpoint, time step).
OPS = st.lists(
    st.tuples(
        st.sampled_from(["pick", "ok", "fail", "connect_failed", "abandon", "update"]),
        st.integers(min_value=0, max_value=3),
        st.floats(min_value=0, max_value=20),
    ),
    max_size=200,
)


@settings(max_examples=150, deadline=None)
@given(OPS, st.sampled_from(["round_robin", "p2c"]), st.integers(min_value=0, max_value=99))
def test_a_pick_always_names_a_current_member(ops, policy, seed):
    """Whatever fails, cools down, is ejected or leaves: never zero endpoints to call."""
    keys = [f"e{i}" for i in range(4)]
    balancer = make_balancer(
        policy, keys, ejection=EjectionPolicy(min_calls=1), rng=random.Random(seed)
    )
    members = list(keys)
    out: list[str] = []
    now = 0.0
    for op, index, step in ops:
        now += step
        if op == "pick":
            key = balancer.pick(now, avoid={keys[index]})
            assert key in members
            out.append(key)
        elif op == "update":
            members = keys[: index + 1]
            balancer.update(members)
        elif out:
            key = out.pop(index % len(out))
            if op == "connect_failed":
                balancer.connect_failed(key, now)
            elif op == "abandon":
                balancer.abandoned(key, now)
            else:
                balancer.finished(key, now, step / 100, ok=op == "ok")


# --- through both clients, against real servers ---------------------------------------


CLIENTS = pytest.mark.parametrize(
    "path_class", [SyncPath, AsyncPath], ids=["Client", "AsyncClient"]
)


class Counting(AllTypesHandler):
    """Counts the `add` calls it answers, in a list shared by several servers."""

    def __init__(self, counts: list[int], index: int) -> None:
        super().__init__()
        self.counts = counts
        self.index = index

    def add(self, a: int, b: int) -> int:
        self.counts[self.index] += 1
        return a + b


@CLIENTS
def test_comma_separated_hosts_take_turns(path_class):
    counts = [0, 0]
    with (
        serve(AllTypes.Processor(Counting(counts, 0))) as one,
        serve(AllTypes.Processor(Counting(counts, 1))) as two,
    ):
        port_one, port_two = one.address[1], two.address[1]
        path = path_class("several endpoints")
        path.open([f"tcp://127.0.0.1:{port_one},127.0.0.1:{port_two}"], balancer="round_robin")
        try:
            assert [path.call("add", (i, 1), ("a", "b")) for i in range(10)] == list(range(1, 11))
        finally:
            path.close()
        assert counts == [5, 5]
        assert one.connections_accepted == 1
        assert two.connections_accepted == 1


@CLIENTS
def test_an_endpoint_that_refuses_sits_out_its_cooldown(path_class, closed_port):
    """Its first failed connect is retried on the other endpoint; then it is skipped."""
    with serve(AllTypes.Processor(AllTypesHandler())) as server:
        path = path_class("several endpoints")
        dead = f"tcp://127.0.0.1:{closed_port}"
        path.open(
            [dead, server.url], retries=1, retry_backoff=0, cooldown=60, balancer="round_robin"
        )
        try:
            answers = [path.call("add", (i, 1), ("a", "b")) for i in range(20)]
            stats = path.client.stats()
        finally:
            path.close()
    assert answers == [i + 1 for i in range(20)]
    assert stats["retries"] == 1  # the dead one was tried once, then left alone
    assert stats["created"] == 1


@CLIENTS
def test_a_down_endpoints_turns_are_spread_evenly_over_the_others(path_class, closed_port):
    """One of three endpoints down: the other two share its turns, not only its neighbour."""
    counts = [0, 0]
    with (
        serve(AllTypes.Processor(Counting(counts, 0))) as one,
        serve(AllTypes.Processor(Counting(counts, 1))) as two,
    ):
        path = path_class("several endpoints")
        path.open(
            [one.url, f"tcp://127.0.0.1:{closed_port}", two.url],
            retries=1,
            retry_backoff=0,
            cooldown=60,
            balancer="round_robin",
        )
        try:
            answers = [path.call("add", (i, 1), ("a", "b")) for i in range(30)]
        finally:
            path.close()
    assert answers == [i + 1 for i in range(30)]
    assert abs(counts[0] - counts[1]) <= 2, counts  # was 20/10: the neighbour took every turn


@CLIENTS
def test_with_every_endpoint_down_the_caller_gets_connect_error(path_class, closed_port):
    path = path_class("single endpoint")
    path.open([f"tcp://127.0.0.1:{closed_port}"], retries=0)
    try:
        with pytest.raises(ConnectError) as caught:
            path.call("add", (1, 1), ("a", "b"))
    finally:
        path.close()
    assert public_type(caught.value) is ConnectError
    assert caught.value.method == "add"
