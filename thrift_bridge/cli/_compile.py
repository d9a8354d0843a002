"""Compile ``.thrift`` IDL files into Python packages with the Apache Thrift compiler.

``thrift-bridge compile shop.thrift -r -o myapp/gen`` writes ``myapp/gen/shop/`` (or the
directory its ``namespace py`` names) whose imports of one another start with the package the
output directory is imported as, ``myapp.gen`` here (`--package`; `package_of` derives it from
the output directory). Apache's ``package_prefix`` option puts that package in front of the
imports of namespaced files only; `_anchor_bare_includes` does it for the rest.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .._exceptions import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["check_package", "compile_idl", "package_of"]

_INSTALL_HINT = (
    "install it with `apt-get install thrift-compiler` (Debian/Ubuntu) or `brew install thrift`, "
    "or skip compiling: `thrift_bridge.load('file.thrift')` and `--idl` parse IDL at run time"
)
_PACKAGE_HINT = (
    "give --package, the dotted name the output directory is imported as (e.g. --package "
    "myapp.gen for -o src/myapp/gen)"
)


def check_package(package: str) -> str:
    """`package` if it is a dotted Python name or "" (top level), else a ConfigError."""
    if package and not all(_is_name(part) for part in package.split(".")):
        raise ConfigError(
            f"invalid --package {package!r} (expected a dotted Python name such as myapp.gen, "
            "or '' for top-level packages)"
        )
    return package


def package_of(out_dir: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """The package `out_dir` is imported as from `cwd` (its path as a dotted name), or ConfigError.

    ``gen`` is ``gen``, ``myapp/gen`` is ``myapp.gen``, ``.`` is "" (top-level packages).
    """
    base = os.path.abspath(cwd if cwd is not None else os.getcwd())
    target = os.path.abspath(out_dir)
    try:
        relative = os.path.relpath(target, base)
    except ValueError:  # another drive on Windows
        relative = target
    parts = [] if relative == os.curdir else Path(relative).parts
    if Path(relative).is_absolute() or (parts and parts[0] == os.pardir):
        raise ConfigError(
            f"cannot tell which package -o {os.fspath(out_dir)!r} is: it is outside the current "
            f"directory ({base}); {_PACKAGE_HINT}"
        )
    if not all(_is_name(part) for part in parts):
        raise ConfigError(
            f"cannot tell which package -o {os.fspath(out_dir)!r} is: {relative!r} is not a "
            f"dotted Python name; {_PACKAGE_HINT}"
        )
    return ".".join(parts)


def _is_name(part: str) -> bool:
    """Whether `part` can be one component of a dotted module name."""
    return part.isidentifier() and not keyword.iskeyword(part)


def compile_idl(
    paths: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    package: str,
    compiler: str = "thrift",
    recursive: bool = False,
) -> list[Path]:
    """Compile each IDL file into ``out_dir``, imported as `package`; the packages written.

    `package` is the dotted name ``out_dir`` is imported as ("" when it is on ``sys.path``
    itself). Each generated package replaces the modules of its earlier version; packages
    nested in it and an existing ``out_dir/__init__.py`` are kept. `recursive` also compiles
    the files each one includes (the compiler's ``-r``).
    """
    check_package(package)
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
            _run_compiler(executable, source, build, package, recursive)
        _clean_build(build)
        if package:
            _anchor_bare_includes(build, package)
            if not (out / "__init__.py").exists():
                (out / "__init__.py").touch()  # a regular package, as Apache's compiler makes
        return [_install(generated, build, out) for generated in _generated_packages(build)]


def _find_compiler(compiler: str) -> str:
    """The compiler's full path, or a ConfigError that says how to install it."""
    executable = shutil.which(compiler)
    if executable is None:
        raise ConfigError(
            f"the Apache Thrift compiler {compiler!r} was not found on PATH; {_INSTALL_HINT}"
        )
    return executable


def _run_compiler(
    executable: str, source: Path, build: Path, package: str, recursive: bool
) -> None:
    """Run the compiler on one file, raising ConfigError with its stderr if it fails."""
    command = [
        executable,
        *(["-r"] if recursive else []),
        "-gen",
        f"py:package_prefix={package}." if package else "py",
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


# What Apache writes for an included file without `namespace py`: `import common.ttypes` (or
# `import common.Base` for a service it extends). Its get_real_py_module() returns the bare file
# name when there is no namespace and adds package_prefix only to a namespace
# (compiler/cpp/src/thrift/generate/t_py_generator.cc), so such an include is imported as a
# top-level package even though it was written beside the others. Imports of namespaced files
# have the prefix, so with a package given every two-part `import` is one of these.
_BARE_INCLUDE = re.compile(r"^import (\w+)\.(\w+)$", re.MULTILINE)


def _anchor_bare_includes(build: Path, package: str) -> None:
    """Import includes without a namespace from `package`, where they were written."""

    def anchored(match: re.Match[str]) -> str:
        name, module = match.group(1), match.group(2)
        # The generated code names the include `common` (`common.ttypes.Money`), so bind that
        # name to the package's `common`, after importing the submodule it uses.
        return (
            f"import {package}.{name}.{module}\n"
            f"from {package} import {name}  # thrift-bridge: Apache wrote {match.group(0)!r}"
        )

    for path in sorted(build.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        fixed = _BARE_INCLUDE.sub(anchored, text)
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")


def _generated_packages(build: Path) -> list[Path]:
    """Every package the compiler generated (a directory holding ``ttypes.py``), outer first."""
    return sorted(p.parent for p in build.rglob("ttypes.py"))


def _install(generated: Path, build: Path, out: Path) -> Path:
    """Replace the modules of ``out``'s copy of `generated` with the new ones; its path.

    Module by module (each an atomic rename), so packages nested in it, such as ``acme.shop``
    inside ``acme``, stay; modules the new version no longer has are deleted.
    """
    relative = generated.relative_to(build)
    target = out / relative
    # Parents named by a dotted namespace (`acme` of `acme.shop`) get the compiler's empty
    # __init__.py unless they have one: another file's package may live there.
    parent = out
    for part in relative.parts[:-1]:
        parent = parent / part
        parent.mkdir(exist_ok=True)
        if not (parent / "__init__.py").exists():
            (parent / "__init__.py").touch()
    target.mkdir(exist_ok=True)
    fresh = {p.name for p in generated.iterdir() if p.is_file()}
    for old in target.iterdir():
        if old.is_file() and old.name not in fresh:
            old.unlink()
    for name in sorted(fresh):
        os.replace(generated / name, target / name)
    return target
