"""Compile ``.thrift`` IDL files into Python packages with the Apache Thrift compiler.

The command line is ``thrift-bridge compile idl/*.thrift -o generated`` (see `cli.py`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .._exceptions import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["PACKAGE_PREFIX", "compile_cached", "compile_idl"]

#: Generated modules are importable as ``thrift_bridge.generated.<namespace>``.
PACKAGE_PREFIX = "thrift_bridge.generated."

_INSTALL_HINT = (
    "install it with `apt-get install thrift-compiler` (Debian/Ubuntu) or `brew install thrift`"
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


def compile_cached(
    path: str | os.PathLike[str], cache_root: str | os.PathLike[str], *, compiler: str = "thrift"
) -> Path:
    """Compile one IDL file for import from ``sys.path`` once; the directory holding its packages.

    The directory's name is a digest of the file, the files it includes and the compiler's
    version, so an edit or a compiler upgrade compiles afresh and an unchanged file never does.
    """
    source = Path(path)
    if not source.is_file():
        raise ConfigError(f"IDL file {str(source)!r} does not exist")
    executable = _find_compiler(compiler)
    digest = hashlib.sha256(_compiler_version(executable).encode())
    for included in _with_includes(source.resolve()):
        digest.update(b"\0" + included.read_bytes())
    root = Path(cache_root)
    target = root / f"{source.stem}-{digest.hexdigest()[:32]}"
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    # Compile beside the target and rename: a concurrent run never sees half a directory.
    build = Path(tempfile.mkdtemp(prefix=f".{source.stem}-", dir=root))
    try:
        compile_idl([source], build, compiler=executable, package_prefix="", recursive=True)
        os.rename(build, target)
    except OSError:
        if not target.is_dir():  # not merely another process that finished first
            raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return target


_INCLUDE = re.compile(rb"""^\s*include\s+["']([^"']+)["']""", re.MULTILINE)


def _with_includes(source: Path) -> Iterator[Path]:
    """`source` and every file it includes, transitively (relative to the including file)."""
    seen: set[Path] = set()
    pending = [source]
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue  # a missing include is the compiler's to report
        seen.add(path)
        yield path
        for name in _INCLUDE.findall(path.read_bytes()):
            pending.append((path.parent / os.fsdecode(name)).resolve())


def _find_compiler(compiler: str) -> str:
    """The compiler's full path, or a ConfigError that says how to install it."""
    executable = shutil.which(compiler)
    if executable is None:
        raise ConfigError(
            f"the Apache Thrift compiler {compiler!r} was not found on PATH; {_INSTALL_HINT}"
        )
    return executable


def _compiler_version(executable: str) -> str:
    """What ``thrift --version`` prints, e.g. ``Thrift version 0.17.0``."""
    result = subprocess.run([executable, "--version"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ConfigError(f"{executable!r} --version failed (exit {result.returncode})")
    return result.stdout.strip()


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
