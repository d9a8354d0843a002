"""The wheel: the library and the demo's generated code, nothing of the tests or benchmarks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from thrift_bridge import __version__

ROOT = Path(__file__).resolve().parent.parent
#: What a checkout holds that a build never reads (virtualenvs, caches, earlier builds).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built offline from a copy of the checkout (a stale build/ cannot leak into it)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*pip_wheel, "--no-index", "--wheel-dir", str(base / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = (base / "dist").glob("*.whl")
    return built


def test_the_wheel_ships_the_library_and_only_the_demos_generated_code(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {name.split("/")[0] for name in names} == {
        "thrift_bridge",
        f"thrift_bridge-{__version__}.dist-info",
    }
    assert sorted(n for n in names if n.startswith("thrift_bridge/generated/")) == [
        "thrift_bridge/generated/__init__.py",
        "thrift_bridge/generated/demo/CustomerService.py",
        "thrift_bridge/generated/demo/CustomerService.pyi",
        "thrift_bridge/generated/demo/__init__.py",
        "thrift_bridge/generated/demo/constants.py",
        "thrift_bridge/generated/demo/constants.pyi",
        "thrift_bridge/generated/demo/ttypes.py",
        "thrift_bridge/generated/demo/ttypes.pyi",
    ]
    library = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "thrift_bridge").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert library <= names
    assert "thrift_bridge/py.typed" in names


def test_an_installed_wheel_runs_the_demo_without_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    pip_install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    subprocess.run(
        [*pip_install, "--target", str(target), str(wheel)],
        check=True,
        timeout=120,
    )
    # Ahead of this environment's editable install on sys.path; its dependencies (thrift,
    # certifi) still come from this environment.
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = (
        "import importlib.util, thrift_bridge\n"
        "print(thrift_bridge.__file__)\n"
        "print(importlib.util.find_spec('tests'), importlib.util.find_spec('benchmarks'))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert found.stdout.splitlines() == [str(target / "thrift_bridge" / "__init__.py"), "None None"]
    demo = subprocess.run(
        [sys.executable, "-m", "thrift_bridge", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stderr
    assert " 0 failed." in demo.stdout
