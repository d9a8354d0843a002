"""The fleet benchmark (`make bench-fleet`): issue 22's proofs, measured against real servers.

Five Python servers (`benchmarks/fleet_server.py`, each its own process on its own 127.0.0.x,
answering `echo` after a per-server delay) take closed-loop load from 32 threads sharing one
`Client` and from 256 asyncio tasks sharing one `AsyncClient`:

(a) one server slowed by +20 ms: its share of calls and the p99, p2c beside round robin,
    against the all-healthy p99; (b) one server killed (SIGKILL) mid-run: failed attempts on
    it before its ejection, failed idempotent calls; (c) the whole fleet stopped for 10 s:
    attempts against calls while it is down, time to the first success once it is back;
    (d) three addresses of a DNS name replaced one by one (dnsmasq, hosts file rewritten and
    SIGHUP): failed idempotent calls, time until each new address answers a call; (e) a
    200 ms `deadline()` with 3 retries against a hung server: max and p99 of call durations.

Every process started here is stopped by its PID; every loop is bounded in count and time.

    python -m benchmarks.fleet            # prints the table, writes the Fleet section
    python -m benchmarks.fleet --quick    # tiny durations and load; RESULTS.md untouched
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.dnsmasq import Dnsmasq, common_port

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Fleet"
HOSTS = [f"127.0.0.{i}" for i in range(2, 7)]  # the five servers
OLD = ["127.0.0.7", "127.0.0.8", "127.0.0.9"]  # DNS: the addresses replaced...
NEW = ["127.0.0.10", "127.0.0.11", "127.0.0.12"]  # ...by these, one by one
BASE_DELAY = 0.002  # seconds each server takes per call
SLOW_DELAY = BASE_DELAY + 0.020  # the slowed server
HEALTHY_ROUNDS = 8  # alternating p2c / round robin rounds on the healthy fleet (row (a))
WAIT = 15.0  # seconds at most for a server to start, stop or answer a command
MAX_CALLS = 10_000_000  # per worker: a bound that time reaches first
#: Connections per endpoint. 256 tasks then queue in the pools' lines (which p2c sees in its
#: latencies); with 64 they queued in the five Python servers instead, which saturate the
#: two shared cores, and a 20 ms sleep was lost in their queueing (p2c sent it 13 %).
POOL_SIZE = 16


@dataclasses.dataclass
class Scale:
    """How long and how hard each scenario runs."""

    threads: int = 32
    tasks: int = 256
    run: float = 5.0  # seconds per slowdown run
    kill_run: float = 6.0
    down: float = 10.0  # seconds the whole fleet is down
    resolve_interval: float = 1.0
    deadline_run: float = 4.0


#: For the smoke test: every scenario runs, nothing it measures means much.
QUICK = Scale(
    threads=4, tasks=8, run=0.3, kill_run=0.6, down=0.3, resolve_interval=0.3, deadline_run=0.3
)


# -- servers ----------------------------------------------------------------------------------


class Server:
    """A `fleet_server` child process: started, commanded and stopped by its PID."""

    def __init__(self, host: str, port: int = 0, *, mode: str = "bench", delay: float = 0.0):
        self.host, self.port, self.mode, self.delay = host, port, mode, delay
        self.process: subprocess.Popen[str] | None = None
        self.ready = 0.0  # when it listened (monotonic)

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def start(self) -> Server:
        """Start it and wait (bounded) until it listens."""
        command = [sys.executable, "-m", "benchmarks.fleet_server", self.mode, self.host]
        command += [str(self.port), str(self.delay)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        info = json.loads(self._line())
        self.port, self.ready = int(info["port"]), float(info["ready"])
        return self

    def _line(self) -> str:
        """One line of its output, waited for at most WAIT seconds."""
        stdout = self._running().stdout
        assert stdout is not None  # a pipe
        ready, _, _ = select.select([stdout], [], [], WAIT)
        line = stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise RuntimeError(f"the server on {self.host} did not answer")
        return line

    def _running(self) -> subprocess.Popen[str]:
        if self.process is None:
            raise RuntimeError(f"the server on {self.host} is not running")
        return self.process

    def command(self, text: str) -> str:
        """Send one command, return its answer."""
        stdin = self._running().stdin
        assert stdin is not None  # a pipe
        stdin.write(text + "\n")
        stdin.flush()
        return self._line().strip()

    def calls(self) -> int:
        """`echo` calls it has answered."""
        return int(self.command("count"))

    def kill(self) -> None:
        """SIGKILL: gone at once, connections reset by the kernel."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.stop()

    def stop(self) -> None:
        """Close its stdin (it exits), then terminate and kill after a bound; by PID."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        try:
            process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def servers(hosts: list[str], *, port: int = 0, mode: str = "bench") -> Iterator[list[Server]]:
    """One server per host (all on `port` when given), stopped at the end. A port is always
    chosen here: `serve` then sets SO_REUSEADDR, so a server killed and started again can
    listen on it while its old connections linger."""
    started: list[Server] = []
    try:
        for host in hosts:
            chosen = port or (common_port([host]) if mode == "bench" else 0)
            started.append(Server(host, chosen, mode=mode, delay=BASE_DELAY).start())
        yield started
    finally:
        for server in started:
            server.stop()


# -- load -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Load:
    """What a closed-loop run recorded: per call (start, end, ok), and the driver's findings."""

    calls: list[tuple[float, float, bool]]
    found: dict[str, Any]
    errors: dict[str, int] = dataclasses.field(default_factory=dict)  # failures by kind

    def why(self) -> str:
        """The failures by kind, for a row that counts them (empty without any)."""
        return "".join(f"; {n} x {kind}" for kind, n in sorted(self.errors.items()))

    def durations(self) -> list[float]:
        return sorted(end - start for start, end, _ in self.calls)

    def p99(self) -> float:
        values = self.durations()
        return values[min(len(values) - 1, int(len(values) * 0.99))] if values else float("nan")

    def failed(self, since: float = -1.0, until: float = float("inf")) -> int:
        return sum(1 for start, _, ok in self.calls if not ok and since <= start < until)

    def started(self, since: float, until: float) -> int:
        return sum(1 for start, _, _ in self.calls if since <= start < until)


def _count(errors: dict[str, int], exc: BaseException) -> None:
    """Count a failure by its type and first words (dict updates are atomic under the GIL)."""
    key = f"{type(exc).__name__}: {str(exc)[:60]}"
    errors[key] = errors.get(key, 0) + 1


def run_threads(
    client: Any, threads: int, call: Callable[[Any], Any], driver: Callable[[], dict[str, Any]]
) -> Load:
    """`threads` threads calling `call(client)` back to back while `driver()` runs."""
    stop = threading.Event()
    errors: dict[str, int] = {}
    records: list[list[tuple[float, float, bool]]] = [[] for _ in range(threads)]

    def worker(mine: list[tuple[float, float, bool]]) -> None:
        for _ in range(MAX_CALLS):
            if stop.is_set():
                return
            start = time.monotonic()
            try:
                call(client)
                ok = True
            except Exception as exc:
                ok = False
                _count(errors, exc)
            mine.append((start, time.monotonic(), ok))

    workers = [threading.Thread(target=worker, args=(mine,)) for mine in records]
    for each in workers:
        each.start()
    try:
        found = driver()
    finally:
        stop.set()
        for each in workers:
            each.join(WAIT)
    return Load([record for mine in records for record in mine], found, errors)


def run_tasks(
    client: Any, tasks: int, call: Callable[[Any], Any], driver: Callable[[], dict[str, Any]]
) -> Load:
    """`tasks` asyncio tasks awaiting `call(client)` back to back while `driver()` runs in a
    thread; `client` is made in the loop by calling it (a factory of an async context)."""
    records: list[tuple[float, float, bool]] = []
    errors: dict[str, int] = {}

    async def main() -> Load:
        stop = asyncio.Event()
        async with client() as opened:

            async def worker() -> None:
                for _ in range(MAX_CALLS):
                    if stop.is_set():
                        return
                    start = time.monotonic()
                    try:
                        await call(opened)
                        ok = True
                    except Exception as exc:
                        ok = False
                        _count(errors, exc)
                    records.append((start, time.monotonic(), ok))

            running = [asyncio.ensure_future(worker()) for _ in range(tasks)]
            try:
                found = await asyncio.wait_for(asyncio.to_thread(driver), 600)
            finally:
                stop.set()
                await asyncio.wait_for(asyncio.gather(*running), WAIT)
            found.setdefault("fleet", opened.fleet_stats())
            found.setdefault("stats", opened.stats())
        return Load(records, found, errors)

    return asyncio.run(main())


def run_load(kind: str, scale: Scale, make: Callable[[], Any], call: Any, driver: Any) -> Load:
    """Run `driver` under load from threads (`kind` "threads") or tasks ("asyncio")."""
    if kind == "threads":
        with make() as client:
            load = run_threads(client, scale.threads, call, lambda: driver(client))
            load.found.setdefault("fleet", client.fleet_stats())
            load.found.setdefault("stats", client.stats())
            return load
    holder: dict[str, Any] = {}

    def factory() -> Any:
        client = make()
        holder["client"] = client
        return client

    return run_tasks(factory, scale.tasks, call, lambda: driver(holder["client"]))


def sync_echo(client: Any) -> Any:
    return client.echo("x")


async def async_echo(client: Any) -> Any:
    return await client.echo("x")


def echo_for(kind: str) -> Any:
    return sync_echo if kind == "threads" else async_echo


def client_for(kind: str, urls: Any, **options: Any) -> Callable[[], Any]:
    """A factory of the client of `kind` on `urls`, `echo` idempotent."""
    from benchmarks.generated.bench import Bench
    from thrift_bridge import AsyncClient, Client

    options.setdefault("idempotent", {"echo"})
    options.setdefault("pool_size", POOL_SIZE)
    cls = Client if kind == "threads" else AsyncClient
    return lambda: cls(Bench, urls, **options)


# -- scenarios --------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One line of the table."""

    scenario: str
    load: str
    target: str
    measured: str
    ok: bool | None  # None: for information, no target

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "MISS")


def _pause(seconds: float) -> dict[str, Any]:
    threading.Event().wait(seconds)
    return {}


def _lag(seconds: float) -> dict[str, Any]:
    """Sleep 10 ms at a time for `seconds`: how late the wake-ups came (CPU contention)."""
    lags: list[float] = []
    end = time.monotonic() + seconds
    for _ in range(int(seconds / 0.01) + 1):
        begin = time.monotonic()
        if begin >= end:
            break
        time.sleep(0.01)
        lags.append(time.monotonic() - begin - 0.01)
    lags.sort()
    return {
        "lag_p99": lags[int(len(lags) * 0.99)] if lags else 0.0,
        "lag_max": max(lags, default=0.0),
    }


def slowdown(kind: str, scale: Scale, fleet: list[Server]) -> list[Row]:
    """(a) One server slowed by +20 ms: p2c against round robin, and against Finagle's rule
    alone (p2c with `outlier_ratio=None`)."""
    policies: dict[str, dict[str, Any]] = {
        "p2c": {"balancer": "p2c"},
        "finagle": {"balancer": "p2c", "outlier_ratio": None},
        "round_robin": {"balancer": "round_robin"},
    }
    # The healthy fleet's p99s are compared with each other (<= 1.1x), so p2c and round robin
    # run there in alternating short rounds, each pooled: one 5 s run each, in turn, read
    # the machine's drift (p99 7.6-10.1 ms for round robin alone in one session) as a cost.
    healthy_runs = [("finagle", scale.run)]
    for turn in range(HEALTHY_ROUNDS):
        pair = ("p2c", "round_robin") if turn % 2 == 0 else ("round_robin", "p2c")
        healthy_runs += [(balancer, scale.run / 2) for balancer in pair]
    slow_runs = [(balancer, scale.run) for balancer in policies]
    figures: dict[tuple[str, bool], tuple[float, float]] = {}
    for slow, runs in ((False, healthy_runs), (True, slow_runs)):
        fleet[-1].command(f"delay {SLOW_DELAY if slow else BASE_DELAY}")
        calls: dict[str, list[tuple[float, float, bool]]] = {}
        counts: dict[str, tuple[int, int]] = {}  # calls to the last server, and to all
        for balancer, seconds in runs:
            before = [server.calls() for server in fleet]
            make = client_for(kind, [s.url for s in fleet], **policies[balancer])
            load = run_load(kind, scale, make, echo_for(kind), lambda _c, t=seconds: _pause(t))
            after = [server.calls() for server in fleet]
            last, total = counts.get(balancer, (0, 0))
            counts[balancer] = (last + after[-1] - before[-1], total + sum(after) - sum(before))
            calls.setdefault(balancer, []).extend(load.calls)
        for balancer, (last, total) in counts.items():
            share = last / total if total else float("nan")
            figures[(balancer, slow)] = (share, Load(calls[balancer], {}).p99())
    fleet[-1].command(f"delay {BASE_DELAY}")
    healthy = figures[("p2c", False)][1]
    p2c_share, p2c_p99 = figures[("p2c", True)]
    rr_share, rr_p99 = figures[("round_robin", True)]
    rr_healthy = figures[("round_robin", False)][1]
    finagle_share, finagle_p99 = figures[("finagle", True)]
    finagle_healthy = figures[("finagle", False)][1]
    ms = 1000
    return [
        Row(
            "(a) +20 ms: slow server's share",
            kind,
            "p2c <= 5 %",
            f"{p2c_share:.1%}",
            p2c_share <= 0.05,
        ),
        Row(
            "(a) +20 ms: p99",
            kind,
            f"p2c <= 1.5 x healthy ({healthy * ms:.1f} ms)",
            f"{p2c_p99 * ms:.1f} ms ({p2c_p99 / healthy:.2f} x)",
            p2c_p99 <= 1.5 * healthy,
        ),
        Row(
            "(a) +20 ms: round robin",
            kind,
            "(beside p2c)",
            f"share {rr_share:.1%}, p99 {rr_p99 * ms:.1f} ms ({rr_p99 / healthy:.2f} x)",
            None,
        ),
        Row(
            "(a) +20 ms: Finagle's rule alone (outlier_ratio=None)",
            kind,
            "(beside p2c)",
            f"share {finagle_share:.1%}, p99 {finagle_p99 * ms:.1f} ms "
            f"({finagle_p99 / finagle_healthy:.2f} x its healthy {finagle_healthy * ms:.1f} ms)",
            None,
        ),
        Row(
            "(a) healthy p99: p2c vs round robin",
            kind,
            "p2c <= 1.1 x round robin",
            f"{healthy * ms:.1f} vs {rr_healthy * ms:.1f} ms",
            healthy <= 1.1 * rr_healthy,
        ),
    ]


def kill_one(kind: str, scale: Scale, fleet: list[Server]) -> list[Row]:
    """(b) One server killed (SIGKILL, by PID) a third into the run."""
    victim = fleet[-1]

    def driver(client: Any) -> dict[str, Any]:
        _pause(scale.kill_run / 3)
        victim.kill()
        killed = time.monotonic()
        _pause(scale.kill_run * 2 / 3)
        return {"killed": killed}

    make = client_for(kind, [s.url for s in fleet])
    load = run_load(kind, scale, make, echo_for(kind), driver)
    victim.start()  # the same address and port, for the next scenarios
    row = load.found["fleet"]["endpoints"][victim.url]
    failures = round(row["calls"] * (1 - row["success_rate"])) if row["calls"] else 0
    failed = load.failed()
    retries = load.found["stats"]["retries"]
    ejected = row["ejections"] > 0
    where = f"{failures} (ejected)" if ejected else f"{failures} (never ejected: steered away)"
    return [
        Row("(b) killed: failed attempts before ejection", kind, "<= 5", where, failures <= 5),
        Row(
            "(b) killed: failed idempotent calls",
            kind,
            "0",
            f"{failed} of {len(load.calls)} ({retries} retries){load.why()}",
            failed == 0,
        ),
    ]


def fleet_down(kind: str, scale: Scale, fleet: list[Server]) -> list[Row]:
    """(c) The whole fleet stopped for `scale.down` seconds, then started again."""

    def counters(client: Any) -> tuple[float, int, int]:
        budget = client.fleet_stats()["retry_budget"]
        return time.monotonic(), client.stats()["retries"], budget["transparent"]

    def driver(client: Any) -> dict[str, Any]:
        _pause(min(2.0, scale.run))
        for server in fleet:
            server.kill()
        down = counters(client)
        _pause(scale.down)
        up = counters(client)
        for server in fleet:
            server.start()
        back = min(server.ready for server in fleet)
        _pause(min(3.0, scale.run))
        return {"down": down, "up": up, "back": back}

    make = client_for(kind, [s.url for s in fleet])
    load = run_load(kind, scale, make, echo_for(kind), driver)
    (t_down, r_down, x_down), (t_up, r_up, x_up) = load.found["down"], load.found["up"]
    t_start = min(start for start, _, _ in load.calls)
    # The budget's rule holds over any window of its ttl (10 s) or more: the run from its
    # start to the fleet's return is one. In the outage alone, retries may also spend what the
    # calls just before it earned (their deposits last 10 s): shown beside it.
    calls = load.started(t_start, t_up)
    attempts = calls + r_up
    allowed = 1.2 * calls + 10 * (t_up - t_start)
    outage_calls = load.started(t_down, t_up)
    outage_retries, outage_free = r_up - r_down, x_up - x_down
    back = load.found["back"]
    firsts = [end for _, end, ok in load.calls if ok and end >= back]
    first = min(firsts) - back if firsts else float("inf")
    probe = 5.0  # the ejection's first rest: when a probe may go
    return [
        Row(
            f"(c) fleet down {t_up - t_down:.1f} s: attempts, run start to return "
            f"({t_up - t_start:.1f} s)",
            kind,
            f"<= 1.2 x calls + 10/s = {allowed:.0f}",
            f"{attempts} for {calls} calls ({r_up} retries, {x_up} free)",
            attempts <= allowed,
        ),
        Row(
            "(c) ... the outage alone",
            kind,
            "(information)",
            f"{outage_calls + outage_retries} for {outage_calls} calls "
            f"({outage_retries} retries, {outage_free} free)",
            None,
        ),
        Row(
            "(c) fleet back: first success",
            kind,
            f"<= one probe interval ({probe:g} s)",
            f"{first * 1000:.0f} ms after the first server listened",
            first <= probe,
        ),
    ]


def rolling_dns(kind: str, scale: Scale) -> list[Row]:
    """(d) Three addresses of a DNS name replaced one by one (dnsmasq reloaded by SIGHUP)."""
    port = common_port(OLD + NEW)
    with (
        tempfile.TemporaryDirectory(prefix="tb-fleet-") as tmp,
        servers(OLD + NEW, port=port) as all_servers,
    ):
        by_host = {server.host: server for server in all_servers}
        dns = Dnsmasq(Path(tmp), [])
        dns.write({"api.fleet.test": OLD})
        dns.start()
        try:
            url = (
                f"tcp://api.fleet.test:{port}?discovery=dns&dns_server=127.0.0.1:{dns.port}"
                f"&resolve_interval={scale.resolve_interval:g}"
            )

            def driver(client: Any) -> dict[str, Any]:
                _pause(min(1.0, scale.run))
                current, delays = list(OLD), []
                for old, new in zip(OLD, NEW):
                    current[current.index(old)] = new
                    base = by_host[new].calls()
                    dns.write({"api.fleet.test": current})
                    dns.reload()
                    reloaded = time.monotonic()
                    by_host[old].stop()  # replaced: stopped at once, as a rolling update does
                    bound = reloaded + scale.resolve_interval + WAIT
                    while by_host[new].calls() == base and time.monotonic() < bound:
                        threading.Event().wait(0.01)
                    delays.append(time.monotonic() - reloaded)
                _pause(min(1.0, scale.run))
                return {"delays": delays}

            load = run_load(kind, scale, client_for(kind, url), echo_for(kind), driver)
        finally:
            dns.stop()
    failed = load.failed()
    worst = max(load.found["delays"])
    limit = scale.resolve_interval + 1.0
    return [
        Row(
            "(d) DNS rolling replacement x3: failed idempotent calls",
            kind,
            "0",
            f"{failed} of {len(load.calls)}{load.why()}",
            failed == 0,
        ),
        Row(
            "(d) new address gets traffic",
            kind,
            f"<= resolve_interval + 1 s = {limit:g} s",
            "max " + ", ".join(f"{d:.2f}" for d in load.found["delays"]) + " s",
            worst <= limit,
        ),
    ]


def hung(kind: str, scale: Scale) -> list[Row]:
    """(e) A 200 ms deadline, 3 retries, a server that never answers."""
    from thrift_bridge import deadline

    def sync_call(client: Any) -> Any:
        with deadline(0.2):
            return client.echo("x")

    async def async_call(client: Any) -> Any:
        with deadline(0.2):
            return await client.echo("x")

    with servers(HOSTS[:1], mode="hang") as (server,):
        make = client_for(kind, server.url, retries=3, timeout=1.0, retry_backoff=0.01)
        call = sync_call if kind == "threads" else async_call
        load = run_load(kind, scale, make, call, lambda _c: _lag(scale.deadline_run))
    values = load.durations()
    worst = values[-1] if values else float("nan")
    p99 = load.p99()
    ms = 1000
    return [
        Row(
            "(e) deadline 200 ms, 3 retries, hung: max",
            kind,
            "<= 210 ms",
            f"{worst * ms:.1f} ms ({len(values)} calls)",
            worst <= 0.21,
        ),
        Row("(e) ... p99", kind, "<= 210 ms", f"{p99 * ms:.1f} ms", p99 <= 0.21),
        Row(
            "(e) ... meanwhile, a thread sleeping 10 ms woke late by",
            kind,
            "(the machine's share)",
            f"p99 {load.found['lag_p99'] * ms:.1f} ms, max {load.found['lag_max'] * ms:.1f} ms",
            None,
        ),
    ]


# -- report -----------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = ["| scenario | load | target | measured | |", "| --- | --- | --- | --- | --- |"]
    lines += [
        f"| {r.scenario} | {r.load} | {r.target} | {r.measured} | {r.verdict} |" for r in rows
    ]
    return "\n".join(lines)


def section(rows: list[Row], scale: Scale, started: str) -> str:
    load = os.getloadavg()
    return "\n".join(
        [
            SECTION,
            "",
            f"Written by `make bench-fleet` (`python -m benchmarks.fleet`) on {started}; "
            "method in `benchmarks/fleet.py`.",
            "",
            f"- Five Python servers (`benchmarks/fleet_server.py`, one process each on "
            f"127.0.0.2-6), `echo` answered after {BASE_DELAY * 1000:g} ms; closed loop from "
            f"{scale.threads} threads sharing one `Client` and {scale.tasks} asyncio tasks "
            f"sharing one `AsyncClient` (pool_size {POOL_SIZE}, `echo` idempotent, other "
            "settings default).",
            f"- Machine: {os.cpu_count()} CPUs shared by the servers, the client and other "
            f"work (load average {load[0]:.1f} when the run ended); Python "
            f"{platform.python_version()}. Latencies include that contention: compare rows "
            "within one run, not across machines.",
            "",
            table(rows),
            "",
            NOTES,
        ]
    )


#: Why rows miss on a shared machine (each is looked into in the code; see the CHANGELOG for
#: what the bench found and was fixed).
NOTES = """Reading the rows:

- (e) Every wait of a call under `deadline()` (the pool's line, the connect, each attempt's
  socket timeout, the backoff) is cut to the budget left (`tests/test_fleet_clients.py` tries
  retries against a hung server and a wait in the pool's line). What comes on top is the
  time until the process runs again once a timer or socket timeout fires, for 32 threads or
  256 tasks at once; the lag row measures that share of the machine during the same run.
- (a) A server taking 22 ms that gets more than 1 % of the calls puts the p99 at 22 ms or
  more. Finagle's rule alone (cost x (calls out + 1)) keeps feeding it: a healthy server
  with 8 calls out (60 from 256 tasks, most in its pool's line) looks as loaded as the slow
  one with 2 or 20, and the healthy servers' latency peaks under this load come near the slow
  one's. p2c's outlier rule (`outlier_ratio`, 2) compares mean service times instead, the
  pool's line left out, so the slow server gets only probes. On the healthy fleet p2c and
  round robin run in alternating rounds (eight of half a run each), pooled per policy: the
  machine drifts more within a minute than the two differ.
- (c) Retries may spend what the calls before the outage earned (their deposits last 10 s),
  so the outage alone can exceed 1.2 x its own calls; over the budget's window it holds.
"""


def write_section(text: str, path: Path = RESULTS) -> None:
    """Replace (or append) the Fleet section of RESULTS.md; `make bench` keeps it."""
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    head = old.split(SECTION, 1)[0].rstrip("\n")
    path.write_text(f"{head}\n\n{text}")


SCENARIOS = ("slowdown", "kill", "down", "dns", "deadline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny runs; RESULTS.md untouched")
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument(
        "--kinds", nargs="*", choices=("threads", "asyncio"), default=["threads", "asyncio"]
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the section goes")
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else Scale()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows: list[Row] = []
    with servers(HOSTS) as fleet:
        for kind in args.kinds:
            if "slowdown" in args.only:
                rows += slowdown(kind, scale, fleet)
            if "kill" in args.only:
                rows += kill_one(kind, scale, fleet)
            if "down" in args.only:
                rows += fleet_down(kind, scale, fleet)
            if "dns" in args.only:
                rows += rolling_dns(kind, scale)
            if "deadline" in args.only:
                rows += hung(kind, scale)
            print(table(rows), flush=True)
    text = section(rows, scale, started)
    print(text)
    if args.quick or set(args.only) != set(SCENARIOS):
        print("--quick or --only: RESULTS.md not written")
    else:
        write_section(text, args.output)
        print(f"wrote {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
