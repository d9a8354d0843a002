"""A smoke run of the fleet benchmark (`make bench-fleet`) at tiny durations, so that it cannot
rot: every scenario runs against real servers and dnsmasq and yields a figure for every row.
Nothing here judges the figures (they are timings; `make bench-fleet` reports them)."""

from __future__ import annotations

import re
from typing import Any

from benchmarks import fleet, run
from tests.procs import system_binary


def test_every_scenario_measures_every_row(capsys: Any, tmp_path: Any) -> None:
    system_binary("dnsmasq", "dnsmasq-base")  # scenario (d): skip on a laptop, fail in CI
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nearlier tables\n")
    assert fleet.main(["--quick", "--output", str(results)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| (")]
    scenarios = {re.match(r"\| \((\w)\)", row)[1] for row in rows}  # type: ignore[index]
    assert scenarios == set("abcde")
    for kind in ("threads", "asyncio"):
        mine = [row for row in rows if f"| {kind} |" in row]
        assert len(set(mine)) == 15  # each scenario's rows for this load
        for row in mine:
            measured = row.split(" | ")[3]
            assert measured.strip()
            assert "nan" not in measured
            assert "inf" not in measured
    assert "--quick" in out  # the quick run leaves RESULTS.md alone
    assert results.read_text() == "# Benchmark results\n\nearlier tables\n"


def test_the_fleet_section_replaces_only_itself(tmp_path: Any) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\ntables\n\n## Fleet\n\nold figures\n")
    fleet.write_section("## Fleet\n\nnew figures\n", results)
    assert results.read_text() == "# Benchmark results\n\ntables\n\n## Fleet\n\nnew figures\n"


def test_make_bench_keeps_the_fleet_section(tmp_path: Any) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nold tables\n\n## Fleet\n\nfigures\n")
    assert run._fleet_section(str(results)) == "\n## Fleet\n\nfigures\n"
    assert run._fleet_section(str(tmp_path / "absent.md")) == ""
    run.write_results(str(results), "# Benchmark results\n\nnew tables\n")
    assert results.read_text() == "# Benchmark results\n\nnew tables\n\n## Fleet\n\nfigures\n"
