"""generated/ is exactly what `make idl` produces from idl/, and compile errors are clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from thrift_bridge._exceptions import ConfigError
from thrift_bridge.cli._compile import compile_idl

ROOT = Path(__file__).resolve().parent.parent
IDL_DIR = ROOT / "idl"
GENERATED = ROOT / "generated"


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes), skipping bytecode caches and stubs.

    The ``.pyi`` stubs beside the modules are test_stubs.py's snapshots (which show diffs).
    """
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyi"
    }


def test_generated_is_up_to_date(compiler, tmp_path):
    sources = sorted(IDL_DIR.glob("*.thrift"))
    assert sources, "no idl/*.thrift files"
    (tmp_path / "__init__.py").write_bytes((GENERATED / "__init__.py").read_bytes())
    compile_idl(sources, tmp_path, compiler=compiler)
    fresh, committed = tree(tmp_path), tree(GENERATED)
    stale = sorted(
        name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name)
    )
    assert not stale, f"generated/ is stale for {stale}: run `make idl`"


def test_no_remote_scripts_in_generated():
    assert not list(GENERATED.rglob("*-remote"))


def test_compile_keeps_our_init_and_replaces_packages(compiler, tmp_path):
    (tmp_path / "__init__.py").write_text('"""ours"""\n')
    (tmp_path / "calculator").mkdir()
    (tmp_path / "calculator" / "stale.py").write_text("old = True\n")
    written = compile_idl([IDL_DIR / "calculator.thrift"], tmp_path, compiler=compiler)
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
        compile_idl([broken], tmp_path / "out", compiler=compiler)
    assert isinstance(info.value, ValueError)
    assert not list((tmp_path / "out").iterdir())


def test_missing_compiler_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="'no-such-thrift' was not found on PATH; install it"):
        compile_idl([IDL_DIR / "demo.thrift"], tmp_path, compiler="no-such-thrift")


def test_missing_idl_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        compile_idl([tmp_path / "nope.thrift"], tmp_path)
