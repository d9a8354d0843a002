"""The real `thrift-bridge` command, and other programs, run in child processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_program(
    argv: list[str],
    *,
    cwd: Path = ROOT,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`argv` in `cwd`, with this process's environment plus `env`; its output as text."""
    return subprocess.run(
        argv,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def run_cli(
    *args: str, cwd: Path = ROOT, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m thrift_bridge ARGS` in `cwd` (the repository's root: tests.* import there)."""
    return run_program(
        [sys.executable, "-m", "thrift_bridge", *args], cwd=cwd, stdin=stdin, env=env
    )
