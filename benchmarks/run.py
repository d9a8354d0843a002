"""`make bench`: thrift-bridge against the clients users would otherwise pick, one C++ server.

Method: every case is a function making one call (`benchmarks/cases.py`). After a warm-up,
each case is calibrated to a block of about 20 ms; then ROUNDS rounds run every case of a
group once, in a fresh shuffled order per round, and each case's per-call time is divided by
its reference's *of the same round* (paired ratio). Tables show medians over rounds. Client
and server are pinned to one CPU with taskset (cross-CPU wake-ups dominate small calls on a
2-core VM). Thread throughput and import time are measured in interleaved rounds too.

    python -m benchmarks.run [--rounds N] [--quick] [--no-pin] [--only json,payload,...]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import TypeVar

from benchmarks import async_cases as ac
from benchmarks import cases as c
from benchmarks.servers import ROOT, Servers, start_cpp

BLOCK = 0.02  # seconds per calibrated block
T = TypeVar("T")


Block = Callable[[int], object]  # makes n calls


def as_block(case: c.Case) -> Block:
    """A per-call case as a block of `n` calls."""

    def block(n: int) -> None:
        for _ in range(n):
            case()

    return block


def calibrate(block: Block, target: float = BLOCK, warmup: float = 0.05) -> int:
    """Warm `block` up for `warmup` seconds; return how many calls take about `target`."""
    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        block(1)
    n = 1
    while True:
        start = time.perf_counter()
        block(n)
        elapsed = time.perf_counter() - start
        if elapsed > target / 4 or n >= 1 << 20:
            return max(1, round(n * target / max(elapsed, 1e-9)))
        n *= 2


@dataclass
class Measured:
    """Per-round seconds per call of each case of a group (paired by round index)."""

    rounds: dict[str, list[float]]

    def median(self, name: str) -> float:
        return statistics.median(self.rounds[name])

    def ratio(self, name: str, reference: str) -> float:
        """Median over rounds of name/reference, both measured in the same round."""
        pairs = zip(self.rounds[name], self.rounds[reference])
        return statistics.median(a / b for a, b in pairs)


def measure(
    blocks: dict[str, Block],
    rounds: int,
    target: float = BLOCK,
    clock: Callable[[], float] = time.perf_counter,
) -> Measured:
    """Calibrated blocks of every case, in interleaved shuffled rounds, timed by `clock`
    (wall clock; `time.thread_time` for this thread's own CPU time)."""
    sizes = {name: calibrate(block, target) for name, block in blocks.items()}
    times: dict[str, list[float]] = {name: [] for name in blocks}
    for _ in range(rounds):
        order = list(blocks)
        random.shuffle(order)
        for name in order:
            block, n = blocks[name], sizes[name]
            start = clock()
            block(n)
            times[name].append((clock() - start) / n)
    return Measured(times)


#: The zlib levels of `zlib_rounds`: the default (as Apache's C++ server) and the fastest.
ZLIB_LEVELS = (6, 1)


def zlib_rounds(ctx: c.Context, rounds: int) -> Measured:
    """The client's own CPU time per 1 MiB zlib echo, and the zlib module's alone on the same
    bytes (the request at the same level, the reply as the server compressed it), in the same
    rounds (this thread's CPU time: the server's is not counted)."""
    blocks: dict[str, Block] = {}
    for level in ZLIB_LEVELS:
        ours, alone = c.zlib_share(ctx, level)
        blocks[f"thrift-bridge zlib 1 MiB echo, level {level}: client CPU"] = as_block(ours)
        name = f"zlib module alone: compress request at level {level} + decompress the reply"
        blocks[name] = as_block(alone)
    return measure(blocks, rounds, clock=time.thread_time)


def zlib_table(measured: Measured) -> list[str]:
    """The table of `zlib_rounds`."""
    lines = [
        "\n### zlib: the client's own CPU time of a 1 MiB echo vs the zlib module alone\n",
        "Ratio: the row's CPU time over the zlib module's alone at the same level, paired by "
        "round; median.\n",
        "| case | median µs (CPU) | ratio |",
        "| --- | ---: | ---: |",
    ]
    names = list(measured.rounds)
    for ours, alone in zip(names[::2], names[1::2]):
        for name in (ours, alone):
            ratio = measured.ratio(name, alone)
            lines.append(f"| {name} | {measured.median(name) * 1e6:,.1f} | {ratio:.3f} |")
    return lines


def zlib_targets(measured: Measured) -> list[Target]:
    """The client's share of a zlib echo: at most 1.2x the zlib module's own work."""
    names = list(measured.rounds)
    return [
        Target(
            f"zlib 1 MiB echo, level {level}: client CPU / zlib module alone",
            measured.ratio(ours, alone),
            1.2,
            True,
        )
        for level, ours, alone in zip(ZLIB_LEVELS, names[::2], names[1::2])
    ]


def made(factories: dict[str, Callable[[], T]], notes: list[str]) -> dict[str, T]:
    """What each factory makes, where it can run here (a missing peer is noted, left out)."""
    built: dict[str, T] = {}
    for name, factory in factories.items():
        try:
            built[name] = factory()
        except c.Unavailable as exc:
            notes.append(f"{name}: left out ({exc})")
    return built


def build(ctx: c.Context, group: c.Group, notes: list[str]) -> dict[str, c.Case]:
    """The group's cases that can run here."""
    return made({name: (lambda f=f: f(ctx)) for name, f in group.cases.items()}, notes)  # type: ignore[misc]


#: Seconds per calibrated block of the task rows (256 tasks need more than 20 ms to settle).
TASK_BLOCK = 0.25


def async_rounds(ctx: c.Context, rounds: int, notes: list[str]) -> tuple[Measured, Measured]:
    """The asyncio rows: sequential awaited calls, then 256 tasks at once."""
    actx = ac.AsyncContext(ctx)
    try:
        sequential = measure(made(ac.sequential_blocks(actx), notes), rounds)
        tasks = measure(made(ac.task_blocks(actx), notes), max(3, rounds // 3), TASK_BLOCK)
    finally:
        actx.close()
    return sequential, tasks


def async_tables(sequential: Measured, tasks: Measured, notes: list[str]) -> list[str]:
    """The tables of `async_rounds`."""
    lines = [
        "\n### asyncio: one awaited 16 B call after another\n",
        f"Ratio: the row's time per call over the {ac.SYNC} row's, paired by round; median.\n",
        "| case | median µs/call | ratio |",
        "| --- | ---: | ---: |",
    ]
    for name in sequential.rounds:
        ratio = sequential.ratio(name, ac.SYNC)
        lines.append(f"| {name} | {sequential.median(name) * 1e6:,.1f} | {ratio:.3f} |")
    lines += [
        f"\n### asyncio: {ac.TASKS} tasks calling at once (16 B echo)\n",
        f"Ratio: throughput over the row `{ac.TASKS_TP2}`, paired by round; median.\n",
        "| case | calls/s | throughput ratio |",
        "| --- | ---: | ---: |",
    ]
    for name in tasks.rounds:
        ratio = tasks.ratio(ac.TASKS_TP2, name) if ac.TASKS_TP2 in tasks.rounds else math.nan
        lines.append(f"| {name} | {1 / tasks.median(name):,.0f} | {ratio:.3f} |")
    lines.extend(f"\n_{note}_" for note in notes)
    return lines


def async_targets(sequential: Measured, tasks: Measured) -> list[Target]:
    """Issue 16's targets for `AsyncClient`, from the same run."""

    def ratio(measured: Measured, name: str, reference: str) -> float:
        have = name in measured.rounds and reference in measured.rounds
        return measured.ratio(name, reference) if have else math.nan

    return [
        Target(
            "sequential `AsyncClient` call / thriftpy2 aio client (same loop)",
            ratio(sequential, ac.ASYNC, ac.TP2_AIO),
            0.5,
            True,
        ),
        Target(
            "sequential `AsyncClient` call / sync `Client` call",
            ratio(sequential, ac.ASYNC, ac.SYNC),
            1.6,
            True,
            ratio(sequential, ac.ASYNC_FLOOR, ac.SYNC),
        ),
        Target(
            f"{ac.TASKS} tasks on one `AsyncClient` / a thriftpy2 aio client each (throughput)",
            ratio(tasks, ac.TASKS_TP2, ac.TASKS_OURS),
            2.0,
            False,
        ),
        Target(
            "one connection, pipeline=16 / pipeline=1 (throughput)",
            ratio(tasks, ac.PIPELINE_1, ac.PIPELINE_16),
            3.0,
            False,
            ratio(tasks, ac.PIPELINE_FLOOR_1, ac.PIPELINE_FLOOR_16),
        ),
    ]


def threads_rounds(ctx: c.Context, rounds: int, seconds: float) -> dict[int, dict[str, float]]:
    """Shared-`Client` and private-connection throughput for each thread count, paired."""
    out: dict[int, dict[str, float]] = {}
    for threads in c.THREADS:
        calls = {kind: c.thread_calls(ctx, threads, kind == "shared") for kind in ("shared", "raw")}
        for kind in calls:
            c.throughput(calls[kind], seconds / 4)  # warm-up, opens every pooled connection
        samples: dict[str, list[float]] = {"shared": [], "raw": []}
        for _ in range(rounds):
            order = list(calls)
            random.shuffle(order)
            for kind in order:
                samples[kind].append(c.throughput(calls[kind], seconds))
        ratios = [a / b for a, b in zip(samples["shared"], samples["raw"])]
        out[threads] = {
            "shared": statistics.median(samples["shared"]),
            "raw": statistics.median(samples["raw"]),
            "ratio": statistics.median(ratios),
        }
        print(f"  {threads} threads: {out[threads]}", flush=True)
    return out


def import_rounds(rounds: int) -> dict[str, float]:
    """Median import seconds of each statement in `cases.IMPORTS`, fresh interpreters, and the
    median paired difference of thrift_bridge over thrift."""
    samples: dict[str, list[float]] = {name: [] for name in c.IMPORTS}
    for statement in c.IMPORTS.values():
        c.import_seconds(statement)  # compiles and caches the bytecode first
    for _ in range(rounds):
        order = list(c.IMPORTS)
        random.shuffle(order)
        for name in order:
            samples[name].append(c.import_seconds(c.IMPORTS[name]))
    out = {name: statistics.median(values) for name, values in samples.items()}
    for ours, base in (
        ("thrift_bridge", "thrift"),
        ("thrift_bridge Client", "thrift (what a raw Apache client imports)"),
    ):
        diffs = [a - b for a, b in zip(samples[ours], samples[base])]
        out[f"diff {ours}"] = statistics.median(diffs)
    return out


def load_rounds(rounds: int) -> dict[str, float]:
    """Median seconds of each available `cases.LOADS` statement, fresh interpreters,
    interleaved in a shuffled order per round (after one warm-up run of each, which also
    writes the grammar and plan caches)."""
    names = [name for name in c.LOADS if c.load_available(name)]
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:
        c.import_seconds(c.LOADS[name][0])
    for _ in range(rounds):
        random.shuffle(names)
        for name in names:
            samples[name].append(c.import_seconds(c.LOADS[name][0]))
    return {name: statistics.median(values) for name, values in samples.items()}


def load_table(loads: dict[str, float]) -> list[str]:
    """The table of `load_rounds`."""
    lines = [
        "\n### load idl/demo.thrift at run time (fresh interpreters, interleaved, medians)\n",
        "| statement | ms |",
        "| --- | ---: |",
    ]
    lines += [f"| {name} | {seconds * 1000:.1f} |" for name, seconds in loads.items()]
    return lines


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _command(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_notes(cpu: str | None, rounds: int, command: str = "make bench") -> list[str]:
    """Versions and machine description for RESULTS.md."""
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    pin = (
        f"client and servers pinned to CPU {cpu} (`taskset -c {cpu}` for the servers, "
        f"`sched_setaffinity` for this process)"
        if cpu is not None
        else "not pinned (taskset missing or --no-pin)"
    )
    return [
        f"- Run: `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}; {rounds} interleaved "
        f"rounds of ~{BLOCK * 1000:.0f} ms calibrated blocks per case; {pin}.",
        f"- Machine: {model}; {os.cpu_count()} CPUs; Linux {platform.release()} "
        f"({platform.machine()}).",
        f"- Python {platform.python_version()} ({platform.python_implementation()}); "
        f"thrift {_version('thrift')} (fastbinary C codec); thriftpy2 {_version('thriftpy2')}; "
        f"thrift_connector {_version('thrift_connector')}; thrift-bridge "
        f"{_version('thrift-bridge')}.",
        f"- Server: Apache Thrift C++ "
        f"{_command('dpkg-query', '-W', '-f=${Version}', 'libthrift-dev')} (libthrift-dev), "
        f"TThreadedServer, built by `make bench-server` with "
        f"{_command('g++', '-dumpfullversion')}; floor: `benchmarks/server/echo_server.c`.",
    ]


def _table(
    lines: list[str], group: c.Group, measured: Measured, notes: list[str]
) -> dict[str, tuple[float, float]]:
    """Append one group's table; return each case's (median seconds, paired ratio)."""
    rows = {
        name: (measured.median(name), measured.ratio(name, group.reference_of(name)))
        for name in measured.rounds
    }
    lines.append(f"\n### {group.title}\n")
    over = "its own Apache row (same size)" if group.pairs else f"the reference ({group.reference})"
    lines.append(f"Ratio: the case's time over {over}, paired by round; median.\n")
    lines.append("| case | median µs/call | ratio |")
    lines.append("| --- | ---: | ---: |")
    for name, (seconds, ratio) in rows.items():
        lines.append(f"| {name} | {seconds * 1e6:,.1f} | {ratio:.3f} |")
    lines.extend(f"\n_{note}_" for note in notes)
    return rows


@dataclass
class Target:
    text: str
    value: float
    limit: float
    at_most: bool  # True: value <= limit passes
    floor: float | None = None  # what a client costing nothing would measure, where known

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit


def _json_targets(results: dict[str, dict[str, tuple[float, float]]]) -> list[Target]:
    """protocol=json against Apache's TJSONProtocol: no slower at 16 B, 10x faster from 4 KiB."""
    rows = results["json"]
    return [
        Target(
            f"JSON {label} / Apache TJSONProtocol {label}",
            rows[f"thrift-bridge JSON {label}"][1],
            1.0 if label == "16 B" else 0.1,
            True,
            rows[f"{c.JSON_FLOOR} {label}"][1],
        )
        for label in (*c.PAYLOADS, "100-struct batch")
    ]


def _otel_targets(results: dict[str, dict[str, tuple[float, float]]]) -> list[Target]:
    """The instrumentation's overhead on the pooled 16 B call: at most 3 % without an SDK; with
    the SDK and a batch span processor, the figure (no limit: reported)."""
    rows = results["otel"]
    return [
        Target(
            "instrumentor installed, no SDK / uninstrumented pooled 16 B call",
            rows[c.OTEL_NO_SDK][1],
            1.03,
            True,
        ),
        Target(
            "instrumentor + SDK (BatchSpanProcessor) / uninstrumented (reported)",
            rows[c.OTEL_SDK][1],
            float("inf"),
            True,
        ),
    ]


def _wire_targets(results: dict[str, dict[str, tuple[float, float]]]) -> list[Target]:
    """TLS, compact and HTTP against the references issue 23 names."""
    rows = results["wire"]

    def ratio(name: str) -> float:
        return rows[name][1] if name in rows else math.nan

    return [
        Target(f"TLS 16 B / {c.APACHE_TLS}", ratio(f"{c.OURS_TLS} 16 B"), 1.0, True),
        Target(f"TLS 1 MiB / {c.APACHE_TLS}", ratio(f"{c.OURS_TLS} 1 MiB"), 1.0, True),
        Target(
            f"compact 64 KiB / {c.APACHE_BINARY}", ratio(f"{c.OURS_COMPACT} 64 KiB"), 0.75, True
        ),
        Target(f"compact 1 MiB / {c.APACHE_BINARY}", ratio(f"{c.OURS_COMPACT} 1 MiB"), 0.6, True),
        Target(
            "HTTP 1 MiB (keep-alive) / our buffered TCP 1 MiB",
            ratio(f"{c.OURS_HTTP_LARGE} 1 MiB"),
            1.5,
            True,
            ratio(c.HTTP_FLOOR),
        ),
    ]


def _target_table(targets: list[Target]) -> list[str]:
    """The targets as a Markdown table: measured ratio, limit, met, floor."""
    lines = [
        "\n## Targets, same run\n",
        "| target | measured | limit | met | floor |",
        "| --- | ---: | ---: | :---: | ---: |",
    ]
    for target in targets:
        sign = "≤" if target.at_most else "≥"
        floor = "" if target.floor is None else f"{target.floor:.3f}"
        lines.append(
            f"| {target.text} | {target.value:.3f} | {sign} {target.limit:g} "
            f"| {'yes' if target.met else '**no**'} | {floor} |"
        )
    return lines


#: What `--only` takes: the per-call groups, and `async` for the asyncio rows.
GROUP_KEYS = [*c.GROUPS_BY_KEY, "zlib", "async"]


def main(argv: list[str] | None = None) -> int:
    """Run every comparison, print the tables and write benchmarks/RESULTS.md."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (default 21)")
    parser.add_argument("--quick", action="store_true", help="3 rounds; RESULTS.md untouched")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    parser.add_argument("--cpu", default="0", help="the CPU to pin to (default 0)")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument(
        "--only",
        help=f"comma-separated groups ({', '.join(GROUP_KEYS)}): measure and print only "
        "those (no threads, imports or RESULTS.md)",
    )
    parser.add_argument(
        "--load-only", action="store_true", help="only time loading an IDL; RESULTS.md untouched"
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if only is not None and not only <= set(GROUP_KEYS):
        parser.error(f"unknown group in --only: {', '.join(sorted(only - set(GROUP_KEYS)))}")
    rounds = 3 if args.quick else args.rounds
    if args.load_only:
        print("\n".join(load_table(load_rounds(rounds))))
        return 0
    cpu = None if args.no_pin or not shutil.which("taskset") else args.cpu
    if cpu is not None:
        os.sched_setaffinity(0, {int(cpu)})

    lines: list[str] = []
    results: dict[str, dict[str, tuple[float, float]]] = {}
    servers: Servers = start_cpp(cpu)
    ctx = c.Context(servers)
    try:
        for group in c.GROUPS:
            if only is not None and group.key not in only:
                continue
            print(f"measuring: {group.title}", flush=True)
            notes: list[str] = []
            cases = build(ctx, group, notes)
            measured = measure({name: as_block(case) for name, case in cases.items()}, rounds)
            ctx.end_group()
            results[group.key] = _table(lines, group, measured, notes)
            if group.key == "small":
                small = measured
            if group.key == "schemes":
                schemes = measured
        if only is None or "zlib" in only:
            print("measuring: zlib", flush=True)
            zlib_measured = zlib_rounds(ctx, rounds)
            lines += zlib_table(zlib_measured)
        if only is None or "async" in only:
            print("measuring: asyncio", flush=True)
            async_notes: list[str] = []
            sequential, tasks = async_rounds(ctx, rounds, async_notes)
            lines += async_tables(sequential, tasks, async_notes)
        if only is None:
            print("measuring: threads", flush=True)
            threads = threads_rounds(ctx, max(3, rounds // 3), 0.3)
    finally:
        ctx.close()
        servers.stop()
    if only is not None:
        summary = _target_table(_json_targets(results)) if "json" in results else []
        if "otel" in results:
            summary += _target_table(_otel_targets(results))
        if "wire" in results:
            summary += _target_table(_wire_targets(results))
        if "zlib" in only:
            summary += _target_table(zlib_targets(zlib_measured))
        if "async" in only:
            summary += _target_table(async_targets(sequential, tasks))
        command = f"python -m benchmarks.run --only {args.only}"
        print("\n".join([*machine_notes(cpu, rounds, command), *summary, *lines]))
        print("--only: RESULTS.md not written")
        return 0
    print("measuring: import time", flush=True)
    imports = import_rounds(max(5, rounds))
    print("measuring: loading an IDL", flush=True)
    loads = load_rounds(max(5, rounds))

    lines.append(
        "\n### threads: calls per second, one shared `Client` vs a raw Apache connection per "
        "thread\n"
    )
    lines.append("Each row: the two measured alternately, 0.3 s each, median of paired ratios.\n")
    lines.append("| threads | shared Client calls/s | private raw connections calls/s | ratio |")
    lines.append("| ---: | ---: | ---: | ---: |")
    for n, row in threads.items():
        lines.append(f"| {n} | {row['shared']:,.0f} | {row['raw']:,.0f} | {row['ratio']:.3f} |")
    lines.append(
        "\n### import time (fresh interpreters with cached bytecode, interleaved, medians)\n"
    )
    lines.append("| statement | ms |")
    lines.append("| --- | ---: |")
    for name, statement in c.IMPORTS.items():
        lines.append(f"| `{statement}` | {imports[name] * 1000:.1f} |")
    lines.append(
        f"| `import thrift_bridge` minus `import thrift` (paired) | "
        f"{imports['diff thrift_bridge'] * 1000:.1f} |"
    )
    lines.append(
        f"| `from thrift_bridge import Client` minus a raw Apache client's imports (paired) | "
        f"{imports['diff thrift_bridge Client'] * 1000:.1f} |"
    )

    lines += load_table(loads)

    ours_small = results["small"][c.OURS][0]
    targets = [
        Target(
            "pooled 16 B call through `Client` / raw Apache accelerated, one connection",
            results["small"][c.OURS][1],
            1.05,
            True,
        ),
        Target(
            "pooled 16 B call / thriftpy2 Cython buffered",
            small.ratio(c.OURS, c.THRIFTPY2) if c.THRIFTPY2 in small.rounds else float("nan"),
            1.0,
            True,
        ),
        Target(
            "open + call + close per call / pooled call (times faster)",
            small.ratio(c.CONNECT_PER_CALL, c.OURS),
            8.0,
            False,
            small.ratio(c.CONNECT_PER_CALL, c.THRIFT_FLOOR),
        ),
        Target(
            "open + call + close per call / pooled call, over the same ratio for the floor",
            small.ratio(c.CONNECT_PER_CALL, c.OURS)
            / small.ratio(c.CONNECT_PER_CALL, c.THRIFT_FLOOR),
            0.9,
            False,
            # What a client that only codes each call with the C codec would score here.
            small.ratio(c.CONNECT_PER_CALL, c.CODEC_FLOOR)
            / small.ratio(c.CONNECT_PER_CALL, c.THRIFT_FLOOR)
            if c.CODEC_FLOOR in small.rounds
            else None,
        ),
        Target(
            "thrift-bridge HTTP / Apache THttpClient", results["http"][c.OURS_HTTP][1], 0.4, True
        ),
        Target(
            "1 MiB echo / Apache accelerated buffered",
            results["payload"]["thrift-bridge 1 MiB"][1],
            0.5,
            True,
            results["payload"][c.THRIFT_FLOOR_1MIB][1],
        ),
        Target(
            "8 threads sharing one `Client` / 8 private raw connections (throughput)",
            threads[8]["ratio"],
            0.95,
            False,
        ),
        Target(
            "`import thrift_bridge` over `import thrift` (ms)",
            imports["diff thrift_bridge"] * 1000,
            10.0,
            True,
        ),
    ]
    summary = _target_table(
        [
            *targets,
            *_wire_targets(results),
            *zlib_targets(zlib_measured),
            *_json_targets(results),
            *_otel_targets(results),
            *async_targets(sequential, tasks),
        ]
    )
    summary.append(
        "\nfloor: the same ratio for the raw-socket floor (a pre-encoded request to the same C++ "
        "server, no client code at all; for the asyncio rows, a bare `asyncio.Protocol` doing "
        "the same on the same loop); no client can do better than its floor."
    )
    tls_label = c.SCHEME_LABELS["tls"]
    if c.TLS_CONNECT_PER_CALL in schemes.rounds and tls_label in schemes.rounds:
        summary.append(
            f"\nOver TLS, Apache's open + handshake + call + close per call is "
            f"{schemes.ratio(c.TLS_CONNECT_PER_CALL, tls_label):.0f}x a pooled `tcps://` call "
            "(the issue measured 107x)."
        )
    summary.append(
        f"\nPooled 16 B call: {ours_small * 1e6:.1f} µs; the floors (raw socket ping-pong with "
        "the same bytes, and a pre-encoded request to the C++ server) are in the first table."
    )
    header = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`benchmarks/run.py`); method in `benchmarks/README.md`.",
        "",
        *machine_notes(cpu, rounds),
    ]
    text = "\n".join([*header, *summary, "\n## Tables", *lines]) + "\n"
    print(text)
    if args.quick:
        print("--quick: RESULTS.md not written")
    else:
        write_results(args.output, text)
        print(f"wrote {os.path.relpath(args.output)}")
    return 0


def write_results(path: str, text: str) -> None:
    """Write `text` to `path`, keeping the Fleet section `make bench-fleet` wrote there."""
    kept = _fleet_section(path)  # read before opening for "w" empties the file
    with open(path, "w") as out:
        out.write(text + kept)


def _fleet_section(path: str) -> str:
    """The Fleet section `make bench-fleet` wrote into `path` (kept: this run measures other
    things), with the blank line before it; empty if there is none."""
    from benchmarks.fleet import SECTION

    try:
        with open(path) as old:
            previous = old.read()
    except FileNotFoundError:
        return ""
    _, found, rest = previous.partition(SECTION)
    return f"\n{found}{rest}" if found else ""


if __name__ == "__main__":
    raise SystemExit(main())
