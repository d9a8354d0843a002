"""The generated code in the repository is what `make idl` makes; compile errors are clear."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from thrift_bridge import ConfigError
from thrift_bridge.cli._compile import compile_idl

ROOT = Path(__file__).resolve().parent.parent
IDL_DIR = ROOT / "idl"
PACKAGE = "thrift_bridge.generated"
#: Where `make idl` compiles each IDL of idl/ (its IDL_SHIPPED, IDL_TESTS and IDL_BENCH): the
#: output directory, the package it is imported as, and the IDL files' names.
LOCATIONS = {
    "IDL_SHIPPED": ("generated", PACKAGE, ["demo"]),
    "IDL_TESTS": ("tests/generated", "tests.generated", ["alltypes", "calculator", "jsonshapes"]),
    "IDL_BENCH": ("benchmarks/generated", "benchmarks.generated", ["bench"]),
}


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes), skipping bytecode caches and stubs.

    The ``.pyi`` stubs beside the modules are test_stubs.py's snapshots (which show diffs).
    """
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyi"
    }


def test_every_idl_has_one_location_and_the_makefile_agrees():
    names = [name for _, _, names in LOCATIONS.values() for name in names]
    assert sorted(names) == sorted(p.stem for p in IDL_DIR.glob("*.thrift"))
    makefile = (ROOT / "Makefile").read_text()
    for variable, (out, package, idl_names) in LOCATIONS.items():
        files = re.search(rf"^{variable} := (.*)$", makefile, re.MULTILINE)
        assert files is not None, variable
        assert files.group(1).split() == [f"idl/{name}.thrift" for name in idl_names]
        # --package, or the output directory's path read as a package name
        derived = package == out.replace("/", ".") and f"compile -o {out} $({variable})"
        assert f"compile -o {out} --package {package} $({variable})" in makefile or (
            derived and derived in makefile
        )


@pytest.mark.parametrize(("out", "package", "names"), LOCATIONS.values(), ids=list(LOCATIONS))
def test_generated_code_is_up_to_date(compiler, tmp_path, out, package, names):
    committed = ROOT / out
    (tmp_path / "__init__.py").write_bytes((committed / "__init__.py").read_bytes())
    sources = [IDL_DIR / f"{name}.thrift" for name in names]
    compile_idl(sources, tmp_path, package=package, compiler=compiler)
    fresh, kept = tree(tmp_path), tree(committed)
    stale = sorted(name for name in fresh.keys() | kept.keys() if fresh.get(name) != kept.get(name))
    assert not stale, f"{out}/ is stale for {stale}: run `make idl`"
    assert not list(committed.rglob("*-remote"))


def test_compile_keeps_our_init_and_replaces_packages(compiler, tmp_path):
    (tmp_path / "__init__.py").write_text('"""ours"""\n')
    (tmp_path / "calculator").mkdir()
    (tmp_path / "calculator" / "stale.py").write_text("old = True\n")
    written = compile_idl(
        [IDL_DIR / "calculator.thrift"], tmp_path, package=PACKAGE, compiler=compiler
    )
    assert written == [tmp_path / "calculator"]
    assert (tmp_path / "__init__.py").read_text() == '"""ours"""\n'
    assert sorted(p.name for p in (tmp_path / "calculator").iterdir()) == [
        "Calculator.py",
        "__init__.py",
        "constants.py",
        "ttypes.py",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["__init__.py", "calculator"]


def test_broken_idl_raises_config_error_naming_the_file(compiler, tmp_path):
    broken = tmp_path / "broken.thrift"
    broken.write_text("namespace py broken\nstruct Oops {\n  1: i32 \n")
    with pytest.raises(ConfigError, match=r"broken\.thrift") as info:
        compile_idl([broken], tmp_path / "out", package="out", compiler=compiler)
    assert isinstance(info.value, ValueError)
    assert not list((tmp_path / "out").iterdir())


def test_missing_compiler_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="'no-such-thrift' was not found on PATH; install it"):
        compile_idl([IDL_DIR / "demo.thrift"], tmp_path, package=PACKAGE, compiler="no-such-thrift")


def test_missing_idl_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        compile_idl([tmp_path / "nope.thrift"], tmp_path, package=PACKAGE)
