"""Load: 64 threads on a pool of 8, random server delays, timeouts: every answer is its own.

`make test` runs THRIFT_BRIDGE_LOAD_CALLS calls per thread (default 300); `make soak` runs
5,000 per thread and prints the figures.
"""

from __future__ import annotations

import gc
import os
import random
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pytest

from thrift_bridge import Client, ReadTimeout

from .generated.alltypes import AllTypes
from .procs import ServerProcess

THREADS = 64
CALLS = int(os.environ.get("THRIFT_BRIDGE_LOAD_CALLS", "300"))
# Seconds of server-side delay; 0.03 exceeds the client timeout (about 3% of calls). A unix
# socket keeps the connection churn from exhausting ephemeral ports (TIME_WAIT) in long runs.
DELAYS = (0.0,) * 28 + (0.001, 0.005, 0.03)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.timeout(max(120, CALLS // 10))
def test_64_threads_on_a_pool_of_8_every_success_gets_its_own_answer(socket_dir):
    with ServerProcess(scheme="unix", socket_path=os.path.join(socket_dir, "load.sock")) as server:
        fds, threads = _open_fds(), threading.active_count()
        client = Client(AllTypes, server.url, pool_size=8, pool_timeout=60, timeout=0.02, retries=0)
        for _ in range(50):  # warm up: imports, first connection, caches (bounded tries:
            try:  # a loaded machine can miss the 20 ms timeout on the very first call)
                client.add(1, 1)
                break
            except ReadTimeout:
                continue

        def work(worker: int, calls: int) -> tuple[int, int]:
            rng = random.Random(worker)
            ok = timeouts = 0
            for i in range(calls):
                nonce = f"{worker}:{i}:{rng.random()}"
                try:
                    answer = client.slow_echo(nonce, rng.choice(DELAYS))
                except ReadTimeout:
                    timeouts += 1
                    continue
                assert answer == nonce, f"worker {worker} call {i} got another call's answer"
                ok += 1
            return ok, timeouts

        with ThreadPoolExecutor(THREADS) as pool:  # a first round, then measure memory
            list(pool.map(work, range(THREADS), [max(1, CALLS // 10)] * THREADS))
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        start = time.monotonic()
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(work, range(THREADS), [CALLS] * THREADS))
        elapsed = time.monotonic() - start
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        stats = client.stats()
        client.close()
        ok = sum(r[0] for r in results)
        timeouts = sum(r[1] for r in results)
        deadline = time.monotonic() + 10
        while (_open_fds(), threading.active_count()) != (fds, threads):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        print(
            f"\n{THREADS} threads x {CALLS} calls in {elapsed:.1f}s: {ok} answered, {timeouts} "
            f"timed out, {ok / elapsed:.0f} calls/s; created {stats['created']}, discarded "
            f"{stats['discarded']}, waits {stats['waits']}; memory growth {growth / 1024:.0f} KiB; "
            f"fds {fds} -> {_open_fds()}, threads {threads} -> {threading.active_count()}"
        )
        assert ok + timeouts == THREADS * CALLS
        assert ok > THREADS * CALLS * 0.5
        assert stats["open"] <= 8
        assert growth < 2 * 1024 * 1024, f"memory grew by {growth} bytes"
        assert _open_fds() == fds
        assert threading.active_count() == threads
