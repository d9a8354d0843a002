"""Instructions per call of the client, counted by valgrind's callgrind (repeatable to the unit).

    python -m benchmarks.instructions [--case small json http compact async] [--calls 2000]

Wall-clock figures on this shared 2-core VM move by several per cent between runs; callgrind
counts the instructions the client process executes, the same on every run of the same code.
Each case runs twice in a child process under callgrind, with `--calls` and twice as many
calls after the same warm-up; the difference divided by `--calls` is the cost of one call,
free of start-up and import costs. The servers (`make bench-server`, else the Python fallback)
run outside valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile

from benchmarks import cases as c
from benchmarks.servers import built, start_cpp, start_python

#: case -> the bench endpoint (`Servers.url` name) it calls, and whether through AsyncClient.
CASES = {
    "small": ("binary", False),
    "framed": ("framed", False),
    "compact": ("compact", False),
    "json": ("json", False),
    "http": ("http", False),
    "async": ("binary", True),
    "async-json": ("json", True),
}
WARMUP = 200


def _child(case: str, calls: int, urls: dict[str, str]) -> None:
    """Run `calls` echo calls of `case` after a warm-up (inside callgrind)."""
    from benchmarks.generated.bench import Bench
    from thrift_bridge import AsyncClient, Client

    scheme, is_async = CASES[case]
    url = urls[scheme]
    if not is_async:
        with Client(Bench, url, pool_size=1) as client:
            echo = client.echo
            for _ in range(WARMUP + calls):
                echo(c.SMALL)
        return

    async def run() -> None:
        async with AsyncClient(Bench, url, pool_size=1) as client:
            echo = client.echo
            for _ in range(WARMUP + calls):
                await echo(c.SMALL)

    asyncio.run(run())


def _instructions(case: str, calls: int, urls: dict[str, str]) -> int:
    """Instructions the child executed for `calls` calls of `case` (plus warm-up and start)."""
    with tempfile.TemporaryDirectory(prefix="tb-callgrind-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "--child",
            case,
            "--calls",
            str(calls),
            *(f"--url={name}={url}" for name, url in urls.items()),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # same dict layouts, same counts
        subprocess.run(command, check=True, capture_output=True, env=env)
        with open(out) as f:
            text = f.read()
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
    if match is None:
        raise RuntimeError("callgrind wrote no instruction total")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case", nargs="+", choices=sorted(CASES), default=["small", "async"])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.calls, dict(u.split("=", 1) for u in args.url))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 1
    with start_cpp() if built() else start_python() as servers:
        urls = {name: servers.url(name) for name in ("binary", "framed", "compact", "json", "http")}
        print(
            f"server: {servers.kind}; {args.calls} calls per count; Python {sys.version.split()[0]}"
        )
        for case in args.case:
            once = _instructions(case, args.calls, urls)
            twice = _instructions(case, 2 * args.calls, urls)
            print(f"{case:12} {(twice - once) / args.calls:10.0f} instructions per call")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
