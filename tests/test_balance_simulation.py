"""A closed-loop load simulation, pure (no sockets, simulated time): five endpoints, one 20 ms
slower than the others. p2c over peak EWMA sends it at most 5 % of the calls; round robin
sends it its 20 %."""

from __future__ import annotations

import heapq
import random

import pytest

from thrift_bridge._balance import make_balancer

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
