"""pytest-benchmark runs of the cases in `benchmarks/cases.py` (the ones `make bench` times).

The servers start once per session in their own processes, so they never share the client's
GIL: the C++ bench server and C echo server when `make bench-server` has built them, else the
Python fallback (`benchmarks/servers.py`; its figures measure that server, so only the smoke
check in `make test` should rely on it; `THRIFT_BRIDGE_BENCH_SERVER=python` forces it).
pytest-benchmark cannot pair cases by round, so the ratios printed at the end are ratios of
medians; `make bench` prints paired ones.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks import cases as c
from benchmarks.servers import built, start_cpp, start_python

if TYPE_CHECKING:
    from collections.abc import Iterator

_medians: dict[tuple[str, str], tuple[float, str]] = {}


@pytest.fixture(scope="session")
def bench_context() -> Iterator[c.Context]:
    """Every bench endpoint, with lazily opened clients closed at the end of the session."""
    use_cpp = built() and os.environ.get("THRIFT_BRIDGE_BENCH_SERVER", "cpp") == "cpp"
    servers = start_cpp() if use_cpp else start_python()
    ctx = c.Context(servers)
    try:
        yield ctx
    finally:
        ctx.close()
        servers.stop()


def record(group: str, name: str, benchmark: Any, reference: str) -> None:
    """Keep a case's median for the ratio table (absent under --benchmark-disable)."""
    if benchmark.stats is not None:
        _medians[(group, name)] = (benchmark.stats.stats.median, reference)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Each recorded case's median over its reference's median."""
    if not _medians:
        return
    terminalreporter.section("thrift-bridge benchmark ratios (median / reference median)")
    for (key, name), (median, reference) in _medians.items():
        base = _medians.get((key, reference), (0.0, ""))[0]
        ratio = f"{median / base:.3f}" if base else "n/a"
        terminalreporter.write_line(f"{key:10} {name:64} {median * 1e6:12.1f} µs  {ratio}")
