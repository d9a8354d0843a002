"""Before and after a change, in one run: another checkout's thrift_bridge beside this one.

    python -m benchmarks.before_after --base ../baseline-checkout [--main DIR] [--rounds N]

The base checkout's package is copied under the name `thrift_bridge_before` (the package
imports itself relatively, so both load in one process); `--main` adds a third tree (say, the
main branch this one merged) as `thrift_bridge_main`. Every row is measured as in
`make bench` (calibrated ~20 ms blocks, shuffled interleaved rounds, one C++ server, pinned to
one CPU) with three cases side by side: the reference the issue names, before, after. Ratios
are paired by round (medians): before/reference, after/reference and after/before.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import cases as c
from benchmarks.run import Block, as_block, measure
from benchmarks.servers import start_cpp

#: The label each row's reference case is measured under.
Reference = tuple[str, Callable[[c.Context], c.Case]]


class BeforeAfter(c.Context):
    """A `Context` that also makes clients from the base checkout's package."""

    def __init__(self, servers: Any, trees: dict[str, Any]):
        super().__init__(servers)
        self.trees = trees

    def client(self, which: str, scheme: str, **options: Any) -> Any:
        """A pooled `Client` of `which` ("after", or a key of `trees`) on endpoint `scheme`."""
        if which == "after":
            return self.ours(scheme, **options)
        url = self.servers.url(scheme)
        make = self.trees[which].Client
        return self.once(
            f"{which} {scheme} {sorted(options.items())}",
            lambda: make(self.bench_module(), url, pool_size=4, **options),
        )


def _call(which: str, scheme: str, method: str, value: Any) -> Callable[[BeforeAfter], c.Case]:
    def factory(ctx: BeforeAfter) -> c.Case:
        bound = getattr(ctx.client(which, scheme), method)
        return lambda: bound(value)

    return factory


def _apache(method: str, value: Any, **kind: bool) -> Callable[[c.Context], c.Case]:
    def factory(ctx: c.Context) -> c.Case:
        key = "apache " + " ".join(sorted(name for name, on in kind.items() if on))
        bound = getattr(ctx.apache(key, **kind), method)
        return lambda: bound(value)

    return factory


def _ours_binary(method: str, value: Any) -> Callable[[BeforeAfter], c.Case]:
    return _call("after", "binary", method, value)


Row = tuple[str, Callable[..., c.Case], str, str, Any]


def rows() -> dict[str, Row]:
    """Each row: (reference label, reference factory, scheme, method, argument)."""
    sizes = {label: ("echo", c.PAYLOADS[label]) for label in c.PAYLOADS}
    calls = {
        **sizes,
        "1 MiB binary": ("echo_bin", b"x" * (1 << 20)),
        "100-struct batch": ("batch", c._items()),
        c.BIG_ITEM: ("echo_item", c._big_item()),
    }
    apache_binary: tuple[str, dict[str, bool]] = ("Apache binary buffered", {})
    plan: list[tuple[str, str, tuple[str, dict[str, bool]] | None, list[str]]] = [
        ("binary", "binary", apache_binary, list(calls)),
        ("JSON", "json", ("Apache TJSONProtocol", {"json": True}), [*sizes, "100-struct batch"]),
        ("TLS", "tls", ("Apache TSSLSocket kept open", {"tls": True}), ["16 B", "1 MiB"]),
        (
            "compact framed",
            "compact",
            apache_binary,
            ["16 B", "64 KiB", "1 MiB", "100-struct batch", c.BIG_ITEM],
        ),
        ("zlib", "zlib", None, ["16 B", "64 KiB", "1 MiB"]),
        ("HTTP keep-alive", "http", None, ["16 B", "64 KiB", "1 MiB"]),
        ("framed", "framed", apache_binary, ["16 B"]),
        ("unix", "unix", apache_binary, ["16 B"]),
    ]
    out: dict[str, Row] = {}
    for name, scheme, apache, labels in plan:
        for label in labels:
            method, value = calls[label]
            if apache is None:  # against our own binary buffered call of the same size
                reference: tuple[str, Callable[..., c.Case]] = (
                    "our binary buffered (after)",
                    _ours_binary(method, value),
                )
            else:
                reference = (apache[0], _apache(method, value, **apache[1]))
            out[f"{name} {label}"] = (*reference, scheme, method, value)
    return out


def load_tree(base: Path, tmp: str, name: str) -> Any:
    """A checkout's thrift_bridge, imported as `thrift_bridge_<name>`."""
    shutil.copytree(base / "thrift_bridge", Path(tmp) / f"thrift_bridge_{name}")
    if tmp not in sys.path:
        sys.path.insert(0, tmp)
    return importlib.import_module(f"thrift_bridge_{name}")


def connect_per_call(ctx: BeforeAfter, names: list[str], rounds: int) -> list[str]:
    """Apache's open + call + close over each tree's pooled call, and over the floor's."""
    factories = {
        "cpc": c._connect_per_call_over(tls=False),
        "floor": c._thrift_floor,
        **{name: _call(name, "binary", "echo", c.SMALL) for name in names},
    }
    m = measure({key: as_block(f(ctx)) for key, f in factories.items()}, rounds)
    floor = m.ratio("cpc", "floor")
    out = [f"| open + call + close / floor (times) | {floor:.2f} | | |"]
    for name in names:
        ratio = m.ratio("cpc", name)
        out.append(
            f"| open + call + close / {name} pooled (times) | {ratio:.2f} "
            f"| {ratio / floor:.3f} of the floor's | {m.median(name) * 1e6:,.1f} µs |"
        )
    return out


def zlib_share(ctx: BeforeAfter, names: list[str], rounds: int) -> list[str]:
    """The client's own CPU time of a 1 MiB zlib echo over the zlib module's alone."""
    import time

    _, alone = c.zlib_share(ctx, 6)
    blocks = {"alone": as_block(alone)}
    for name in names:
        blocks[name] = as_block(_call(name, "zlib", "echo", c.PAYLOADS["1 MiB"])(ctx))
    m = measure(blocks, rounds, clock=time.thread_time)
    out = [f"| zlib module alone, level 6 | {m.median('alone') * 1e6:,.1f} µs CPU | 1.000 | |"]
    for name in names:
        out.append(
            f"| {name}: 1 MiB zlib echo, client CPU | {m.median(name) * 1e6:,.1f} µs CPU "
            f"| {m.ratio(name, 'alone'):.3f} | |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the checkout to compare against")
    parser.add_argument("--main", help="a third checkout (the branch merged), optional")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--cpu", default="0")
    parser.add_argument("--only", help="comma-separated substrings of row names")
    args = parser.parse_args(argv)
    cpu = None if args.no_pin or not shutil.which("taskset") else args.cpu
    if cpu is not None:
        os.sched_setaffinity(0, {int(cpu)})
    table = rows()
    if args.only:
        wanted = args.only.split(",")
        table = {k: v for k, v in table.items() if any(w in k for w in wanted)}
    print(
        f"rows: {len(table)}; {args.rounds} rounds; pinned to CPU {cpu}; base {args.base}",
        flush=True,
    )
    names = ["before", *(["main"] if args.main else []), "after"]
    head = " | ".join(f"{n} µs" for n in names)
    ratios = " | ".join(f"{n}/ref" for n in names)
    lines = [
        f"| row | reference | ref µs | {head} | {ratios} | after/before |"
        + (" after/main |" if args.main else ""),
        "| --- | --- |" + " ---: |" * (2 * len(names) + 2 + bool(args.main)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": load_tree(Path(args.base), tmp, "before")}
        if args.main:
            trees["main"] = load_tree(Path(args.main), tmp, "main")
        servers = start_cpp(cpu)
        ctx = BeforeAfter(servers, trees)
        try:
            for name, (ref_label, ref, scheme, method, value) in table.items():
                blocks: dict[str, Block] = {"ref": as_block(ref(ctx))}
                for tree in names:
                    blocks[tree] = as_block(_call(tree, scheme, method, value)(ctx))
                try:
                    m = measure(blocks, args.rounds)
                except Exception as exc:  # one failed row must not end the run
                    line = f"| {name} | {ref_label} | failed: {type(exc).__name__}: {exc} |"
                    print(line, flush=True)
                    lines.append(line)
                    continue
                times = " | ".join(f"{m.median(n) * 1e6:,.1f}" for n in names)
                over = " | ".join(f"{m.ratio(n, 'ref'):.3f}" for n in names)
                line = (
                    f"| {name} | {ref_label} | {m.median('ref') * 1e6:,.1f} | {times} | {over} "
                    f"| {m.ratio('after', 'before'):.3f} |"
                    + (f" {m.ratio('after', 'main'):.3f} |" if args.main else "")
                )
                print(line, flush=True)
                lines.append(line)
            extras = (
                ("connect", "| connect per call | ratio | share | pooled |", connect_per_call),
                ("zlib", "| zlib share | time | over zlib alone | |", zlib_share),
            )
            for key, head, extra in extras:
                if not args.only or key in args.only:
                    lines += ["", head, "| --- | ---: | ---: | ---: |"]
                    lines += extra(ctx, names, args.rounds)
        finally:
            ctx.close()
            servers.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
