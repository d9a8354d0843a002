"""Closed-loop load simulations, pure (no sockets, simulated time): five endpoints, one 20 ms
slower than the others. p2c over peak EWMA sends it at most 5 % of the calls; round robin
sends it its 20 %. Then p2c's outlier rule under 32 callers (`PeakEwmaP2C`): the share
Finagle's rule alone gives a slow endpoint, the outlier's, and its way back once fast."""

from __future__ import annotations

import heapq
import math
import random
from typing import Any

import pytest

from thrift_bridge._balance import PeakEwmaP2C, make_balancer

ENDPOINTS = [f"e{i}" for i in range(5)]
SLOW = "e4"
BASE = 0.010  # seconds, +-20 % jitter per call
EXTRA = 0.020  # the slow endpoint's additional latency
CLIENTS = 16  # callers, each sending its next call as soon as the last one returns
CALLS = 20_000


def simulate(policy: str, seed: int) -> tuple[float, float]:
    """Run CALLS calls; the slow endpoint's share of them, and the mean latency."""
    rng = random.Random(seed)
    balancer = make_balancer(policy, ENDPOINTS, rng=random.Random(seed), ejection=None)
    # (time the call returns, client, endpoint, latency); a client's first call starts at 0.
    queue: list[tuple[float, int, str | None, float]] = [
        (0.0, c, None, 0.0) for c in range(CLIENTS)
    ]
    sent = to_slow = 0
    total_latency = 0.0
    while queue:
        now, client, key, latency = heapq.heappop(queue)
        if key is not None:
            balancer.finished(key, now, latency, ok=True)
            total_latency += latency
        if sent == CALLS:
            continue
        key = balancer.pick(now)
        sent += 1
        to_slow += key == SLOW
        latency = BASE * rng.uniform(0.8, 1.2) + (EXTRA if key == SLOW else 0.0)
        heapq.heappush(queue, (now + latency, client, key, latency))
    return to_slow / CALLS, total_latency / CALLS


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_p2c_sends_the_slow_endpoint_at_most_five_percent(seed):
    share, mean = simulate("p2c", seed)
    assert share <= 0.05
    _, round_robin_mean = simulate("round_robin", seed)
    assert mean < round_robin_mean


def test_round_robin_sends_the_slow_endpoint_its_fifth():
    share, _ = simulate("round_robin", 1)
    assert share == pytest.approx(0.20, abs=0.001)


# --- p2c's outlier rule --------------------------------------------------------------------


def p2c(keys: list[str], **options: object) -> PeakEwmaP2C[str]:
    return PeakEwmaP2C(keys, rng=random.Random(3), **options)  # type: ignore[arg-type]


def closed_loop(
    balancer: PeakEwmaP2C[str], latency: Any, callers: int, until: float
) -> list[tuple[float, str]]:
    """`callers` calling back to back through `balancer` until `until` (virtual seconds), each
    call to `key` started at `t` taking `latency(key, t)` (servers that work on every call at
    once); the (start, key) of every call that ended. Time is passed in: the run is exact."""
    running = [
        (latency(key, 0.0), n, key, 0.0)
        for n, key in ((n, balancer.pick(0.0)) for n in range(callers))
    ]
    heapq.heapify(running)
    calls = []
    for _ in range(10_000_000):  # a bound `until` reaches first
        end, n, key, start = heapq.heappop(running)
        if end > until:
            break
        balancer.finished(key, end, end - start, ok=True)
        calls.append((start, key))
        key = balancer.pick(end)
        heapq.heappush(running, (end + latency(key, end), n, key, end))
    return calls


def share(
    calls: list[tuple[float, str]], key: str, since: float = 0.0, until: float = math.inf
) -> float:
    window = [each for start, each in calls if since <= start < until]
    return window.count(key) / len(window)


FLEET = ["a", "b", "c", "d", "slow"]


def slow_until(when: float) -> Any:
    """Service times as the fleet bench measures them on two busy cores: 7 ms, and 24 ms for
    "slow" (20 ms more) until `when`."""
    return lambda key, t: 0.024 if key == "slow" and t < when else 0.007


def test_p2c_passes_over_an_outlier_that_finagles_rule_feeds_under_concurrency():
    # 32 callers: each healthy endpoint holds ~8 calls, and 24 ms x (0 + 1) looks cheaper
    # than 7 ms x (8 + 1) to Finagle's rule alone.
    finagle = closed_loop(p2c(FLEET, outlier_ratio=None), slow_until(math.inf), 32, 20.0)
    assert share(finagle, "slow") > 0.015
    ours = closed_loop(p2c(FLEET), slow_until(math.inf), 32, 20.0)
    assert share(ours, "slow") < 0.001  # its first replies, then a probe as its mean fades
    assert len(ours) > 80_000


def test_an_outlier_that_becomes_fast_again_gets_traffic_back_within_the_bound():
    """Slow for 30 s (its mean is 24 ms, with all the weight 30 s of probes give it), then
    7 ms like its peers: the two bounds `PeakEwmaP2C` documents, and its share after them."""
    decay, ratio, median, fast = 10.0, 2.0, 0.007, 0.007
    calls = closed_loop(p2c(FLEET), slow_until(30.0), 16, 50.0)
    last_reply = max(start for start, key in calls if key == "slow" and start < 30.0) + 0.024
    back = min(start for start, key in calls if key == "slow" and start >= 30.0)
    # Its mean fades from its last reply until it is 2 x its peers' 7 ms: the next pick after
    # that (picks come as calls end, all 7 ms apart here) is its call.
    first_call = decay * math.log(0.024 / (ratio * median))  # 5.39 s
    assert first_call <= back - last_reply <= first_call + fast
    # Each fast reply then pulls its mean towards 7 ms (by the weight of the time since the
    # last); it leaves the rule once the mean is 2 x the median, and stays.
    out = last_reply + decay * math.log((0.024 - fast) / (ratio * median - fast))  # + 8.87 s
    assert share(calls, "slow", back, out - 0.5) < 0.02  # probes only
    assert share(calls, "slow", out, out + 2.0) > 0.12
    assert share(calls, "slow", out + 5.0, 50.0) > 0.19  # all of it as Finagle's cost decays


def test_one_unusually_fast_endpoint_makes_no_outliers_of_the_others():
    fleet = ["quick", "a", "b", "c", "d"]
    calls = closed_loop(p2c(fleet), lambda key, t: 0.002 if key == "quick" else 0.007, 32, 10.0)
    for key in ("a", "b", "c", "d"):  # 7 ms is 3.5 x quick's 2 ms, but not 2 x the median
        assert share(calls, key) > 0.12
