"""Compile ``.thrift`` IDL files into Python packages with the Apache Thrift compiler.

The command line is ``thrift-bridge compile idl/*.thrift -o generated`` (see `cli.py`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .._exceptions import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["PACKAGE_PREFIX", "compile_idl"]

#: Generated modules are importable as ``thrift_bridge.generated.<namespace>``.
PACKAGE_PREFIX = "thrift_bridge.generated."

_INSTALL_HINT = (
    "install it with `apt-get install thrift-compiler` (Debian/Ubuntu) or `brew install thrift`, "
    "or skip compiling: `thrift_bridge.load('file.thrift')` and `--idl` parse IDL at run time"
)


def compile_idl(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    compiler: str = "thrift",
    package_prefix: str = PACKAGE_PREFIX,
    recursive: bool = False,
) -> list[Path]:
    """Compile each IDL file and replace its namespace packages in ``out_dir``; return them.

    `package_prefix` goes in front of the generated packages' imports of one another; use ""
    for packages that will be imported from a directory on ``sys.path``. `recursive` also
    compiles the files each one includes (the compiler's ``-r``).
    """
    sources = [Path(p) for p in paths]
    for source in sources:
        if not source.is_file():
            raise ConfigError(f"IDL file {str(source)!r} does not exist")
    executable = _find_compiler(compiler)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Build in a sibling directory so the final renames stay on one file system.
    with tempfile.TemporaryDirectory(prefix=".idl-", dir=out) as tmp:
        build = Path(tmp) / "build"
        build.mkdir()
        for source in sources:
            _run_compiler(executable, source, build, package_prefix, recursive)
        _clean_build(build)
        packages = sorted(p for p in build.iterdir() if p.is_dir())
        return [_replace_package(package, out) for package in packages]


def _find_compiler(compiler: str) -> str:
    """The compiler's full path, or a ConfigError that says how to install it."""
    executable = shutil.which(compiler)
    if executable is None:
        raise ConfigError(
            f"the Apache Thrift compiler {compiler!r} was not found on PATH; {_INSTALL_HINT}"
        )
    return executable


def _run_compiler(
    executable: str, source: Path, build: Path, package_prefix: str, recursive: bool
) -> None:
    """Run the compiler on one file, raising ConfigError with its stderr if it fails."""
    command = [
        executable,
        *(["-r"] if recursive else []),
        "-gen",
        f"py:package_prefix={package_prefix}" if package_prefix else "py",
        "-out",
        str(build),
        str(source),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise ConfigError(
            f"the Thrift compiler failed on {str(source)!r} (exit {result.returncode}): {detail}"
        )


def _clean_build(build: Path) -> None:
    """Delete the compiler's top-level ``__init__.py`` and every ``*-remote`` script."""
    (build / "__init__.py").unlink(missing_ok=True)
    # The *-remote scripts eval() command-line arguments; we never ship them.
    for script in sorted(build.rglob("*-remote")):
        script.unlink()


def _replace_package(package: Path, out: Path) -> Path:
    """Swap ``out/<name>`` for the freshly built ``package`` with two renames."""
    target = out / package.name
    if target.exists():
        retired = package.parent.parent / f"old-{package.name}"
        target.rename(retired)
        package.rename(target)
        shutil.rmtree(retired)
    else:
        package.rename(target)
    return target
