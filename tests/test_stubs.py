"""Generated ``.pyi`` stubs: snapshots of our own, and every stub matches the module it types.

The snapshots are the stubs committed beside our compiled IDLs (``generated/``,
``tests/generated/``, ``benchmarks/generated/``: what `make idl` writes). When the generator
changes on purpose, run ``make idl`` and review the diff with ``git diff '*.pyi'``.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from thrift.Thrift import TType

import thrift_bridge
from thrift_bridge._stubs import write_stubs
from thrift_bridge.typing import ClientAPI

from .idl_twins import LOADED_PREFIX, compile_twin
from .test_idl import LOCATIONS

if TYPE_CHECKING:
    import types

ROOT = Path(__file__).resolve().parent.parent
OURS = sorted((ROOT / "idl").glob("*.thrift"))
CORPUS = sorted((ROOT / "tests" / "idl_corpus").glob("*.thrift")) + OURS
VIEWS = {"TypedClient", "TypedPinnedClient", "TypedAsyncClient", "TypedAsyncPinnedClient"}
#: Each of our IDLs: the directory `make idl` compiles it into and that directory's package prefix.
HOMES = {
    stem: (ROOT / directory, f"{package}.")
    for directory, package, stems in LOCATIONS.values()
    for stem in stems
}


# --- snapshots ----------------------------------------------------------------------------


@pytest.mark.parametrize("idl", OURS, ids=lambda p: p.name)
def test_committed_stubs_are_what_the_generator_writes(idl: Path, tmp_path: Path) -> None:
    home, prefix = HOMES[idl.stem]
    written = write_stubs([idl], tmp_path, package_prefix=prefix)
    assert written
    for fresh in written:
        committed = home / fresh.relative_to(tmp_path)
        old = committed.read_text() if committed.is_file() else ""
        new = fresh.read_text()
        shown = str(committed.relative_to(ROOT))
        diff = "".join(
            difflib.unified_diff(old.splitlines(True), new.splitlines(True), shown, "generator")
        )
        assert not diff, f"stale stub; run `make idl` and review `git diff {shown}`:\n{diff}"


def test_demo_snapshot_reads_as_intended() -> None:
    service = (ROOT / "generated" / "demo" / "CustomerService.pyi").read_text()
    assert "    def get_customer(self, id: int) -> Customer: ..." in service
    assert "    async def get_customer(self, id: int) -> Customer: ..." in service
    assert "    def record_visit(self, customer_id: int) -> None: ..." in service
    assert "@type_check_only\nclass TypedClient(ClientAPI, Protocol):" in service
    ttypes = (ROOT / "generated" / "demo" / "ttypes.pyi").read_text()
    assert "    postcode: str | None\n" in ttypes  # optional
    assert "    street: str\n" in ttypes  # required
    assert "    country: str\n" in ttypes  # a default value
    assert "    status: int\n" in ttypes  # an enum is its int
    assert "    OPEN: Final = 1\n" in ttypes
    assert "class CustomerNotFound(TException):\n    @property\n" in ttypes  # frozen


# --- stubs match run time -----------------------------------------------------------------


def _side(kind: str, idl: Path, compiler: str, tmp: Path) -> tuple[types.ModuleType, str]:
    """The root package of `idl` (compiled by Apache or loaded) and the prefix of its modules."""
    if kind == "loaded":
        package = thrift_bridge.load(idl)
        return package, LOADED_PREFIX
    if idl.parent.name == "idl":  # ours: the committed package, imported as users do
        _home, prefix = HOMES[idl.stem]
        package = importlib.import_module(prefix + idl.stem)
        for name in package.__all__:
            importlib.import_module(f"{package.__name__}.{name}")
        return package, prefix
    loaded = thrift_bridge.load(idl)  # for the package name Apache gives it
    package = compile_twin(compiler, idl, tmp, loaded.__name__[len(LOADED_PREFIX) :])
    return package, package.__name__.partition(".")[0] + "."


@pytest.mark.parametrize("kind", ["compiled", "loaded"])
@pytest.mark.parametrize("idl", CORPUS, ids=lambda p: p.name)
def test_every_stub_matches_its_module(kind: str, idl: Path, compiler: str, tmp_path: Path) -> None:
    _package, prefix = _side(kind, idl, compiler, tmp_path / "apache")
    stubs = tmp_path / "stubs"
    if kind == "compiled" and idl.parent.name == "idl":
        stubs = HOMES[idl.stem][0]
        files = sorted((stubs / idl.stem).glob("*.pyi"))  # the committed stubs
    else:
        files = write_stubs([idl], stubs, package_prefix=prefix, loaded=kind == "loaded")
    checked = 0
    for path in files:
        relative = path.relative_to(stubs).with_suffix("")
        name = prefix + ".".join(relative.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        module = importlib.import_module(name) if kind == "compiled" else sys.modules[name]
        checked += _check_module(ast.parse(path.read_text()), module)
    assert checked


def _check_module(tree: ast.Module, module: types.ModuleType) -> int:
    """Compare one stub with its module; how many classes were compared."""
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):  # a constant
            assert isinstance(node.target, ast.Name)
            value = getattr(module, node.target.id)
            assert _holds(node.annotation, value, module), (node.target.id, value)
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                if alias.asname == alias.name:  # a re-export: the package has it
                    assert hasattr(module, alias.name), alias.name
        elif isinstance(node, ast.Assign):  # __all__
            assert ast.literal_eval(node.value) == module.__all__
    stubbed = {c.name for c in classes}
    runtime = {
        name
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    }
    assert runtime <= stubbed, f"{module.__name__}: no stub for {sorted(runtime - stubbed)}"
    for cls in classes:
        if cls.name in VIEWS:
            assert [_name(d) for d in cls.decorator_list] == ["type_check_only"]
            _check_view(cls, module)
        else:
            _check_class(cls, getattr(module, cls.name), module)
    return len(classes)


def _name(node: ast.expr) -> str:
    """The last part of a dotted name."""
    return (
        node.attr
        if isinstance(node, ast.Attribute)
        else node.id
        if isinstance(node, ast.Name)
        else ""
    )


def _params(node: ast.FunctionDef) -> list[str]:
    """Parameter names after self or cls."""
    return [a.arg for a in node.args.args[1:]]


def _check_class(cls: ast.ClassDef, runtime: type, module: types.ModuleType) -> None:
    """Every method, field and constant of a stub class is on the class, as declared."""
    spec = {f[2]: f for f in getattr(runtime, "thrift_spec", None) or () if f is not None}
    fields: dict[str, ast.expr] = {}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            decorators = [_name(d) for d in node.decorator_list]
            if decorators == ["property"]:
                assert node.returns is not None
                fields[node.name] = node.returns
                continue
            assert hasattr(runtime, node.name), f"{runtime.__qualname__}.{node.name}"
            member = getattr(runtime, node.name)
            if decorators == ["classmethod"]:
                assert inspect.ismethod(member), f"{runtime.__qualname__}.{node.name}"
                assert list(inspect.signature(member).parameters) == _params(node)
            elif not node.name.startswith("__") or node.name == "__init__":
                parameters = list(inspect.signature(member).parameters.values())[1:]
                assert [p.name for p in parameters] == _params(node), node.name
                # a stub default (`= ...`) exactly where the generated method has one
                stub_defaults = len(node.args.defaults)
                assert sum(p.default is not p.empty for p in parameters) == stub_defaults
        elif isinstance(node, ast.AnnAssign):
            assert isinstance(node.target, ast.Name)
            name, annotation = node.target.id, ast.unparse(node.annotation)
            if annotation == "Final":  # an enum value
                assert node.value is not None
                assert getattr(runtime, name) == ast.literal_eval(node.value)
            elif name == "__hash__":
                assert runtime.__hash__ is None
            elif annotation.startswith("ClassVar"):
                assert hasattr(runtime, name)
            else:
                fields[name] = node.annotation
    if "__init__" in vars(runtime) and fields:
        assert list(fields) == list(inspect.signature(runtime).parameters)
    if spec:
        assert set(fields) == set(spec), runtime.__qualname__
        for name, node_type in fields.items():
            ttype, args = spec[name][1], spec[name][3]
            assert _typed(node_type, ttype, args), f"{runtime.__qualname__}.{name}"


def _check_view(cls: ast.ClassDef, module: types.ModuleType) -> None:
    """A typed view has exactly the service's own methods a client binds, as Iface has them."""
    iface = module.Iface
    own = {
        name: value
        for name, value in vars(iface).items()
        if callable(value) and not name.startswith("_") and not hasattr(ClientAPI, name)
    }
    methods = {
        n.name: n
        for n in cls.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name != "connection"
    }
    assert set(methods) == set(own), cls.name
    for name, node in methods.items():
        assert isinstance(node, ast.AsyncFunctionDef) == ("Async" in cls.name)
        assert _params(node) == list(inspect.signature(own[name]).parameters)[1:]  # type: ignore[arg-type]


_INTS = (TType.BYTE, TType.I16, TType.I32, TType.I64)


def _typed(node: ast.expr, ttype: int, args: Any) -> bool:
    """Whether a stub annotation describes the values a thrift_spec entry holds."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        assert isinstance(node.right, ast.Constant)
        assert node.right.value is None
        return _typed(node.left, ttype, args)
    if isinstance(node, ast.Subscript):
        outer = _name(node.value)
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer in ("list", "tuple"):
            return ttype == TType.LIST and _typed(inner[0], args[0], args[1])
        if outer in ("set", "frozenset"):
            return ttype == TType.SET and _typed(inner[0], args[0], args[1])
        assert outer == "dict", outer
        return (
            ttype == TType.MAP
            and _typed(inner[0], args[0], args[1])
            and _typed(inner[1], args[2], args[3])
        )
    name = _name(node)
    if name == "int":
        return ttype in _INTS
    simple = {"float": TType.DOUBLE, "bool": TType.BOOL, "UUID": getattr(TType, "UUID", None)}
    if name in simple:
        return ttype == simple[name]
    if name in ("str", "bytes"):
        return ttype == TType.STRING and args == ("UTF8" if name == "str" else "BINARY")
    return ttype == TType.STRUCT and args[0].__name__ == name


def _holds(node: ast.expr, value: Any, module: types.ModuleType) -> bool:
    """Whether a constant's value fits its stub annotation (containers by their kind)."""
    if isinstance(node, ast.Subscript):
        kinds = {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset, "dict": dict}
        return isinstance(value, kinds[_name(node.value)])
    name = _name(node)
    builtin = {"int": int, "float": float, "bool": bool, "str": str, "bytes": bytes}.get(name)
    if builtin is not None:
        return isinstance(value, builtin) and (name != "int" or not isinstance(value, bool))
    return type(value).__name__ == name


# --- the commands -------------------------------------------------------------------------


def test_compile_writes_stubs_unless_told_not_to(compiler: str, tmp_path: Path) -> None:
    from thrift_bridge.cli import main

    demo = str(ROOT / "idl" / "demo.thrift")
    made = main(
        ["compile", demo, "-o", str(tmp_path / "with"), "--compiler", compiler, "--package", "gen"]
    )
    assert made == 0
    assert sorted(p.name for p in (tmp_path / "with" / "demo").glob("*.pyi")) == [
        "CustomerService.pyi",
        "constants.pyi",
        "ttypes.pyi",
    ]
    out = tmp_path / "without"
    bare = [
        "compile",
        demo,
        "-o",
        str(out),
        "--compiler",
        compiler,
        "--package",
        "gen",
        "--no-stubs",
    ]
    assert main(bare) == 0
    assert not list(out.rglob("*.pyi"))


def test_stubs_command_reports_a_broken_idl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from thrift_bridge.cli import main

    broken = tmp_path / "broken.thrift"
    broken.write_text("struct S {\n  1: Missing m,\n}\n")
    assert main(["stubs", str(broken), "-o", str(tmp_path / "out")]) == 2
    assert "broken.thrift:2:6: unknown type 'Missing'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_stubs_command_names_includes_through_the_package(tmp_path: Path) -> None:
    from thrift_bridge.cli import main

    includer = str(ROOT / "tests" / "idl_corpus" / "includer.thrift")
    assert main(["stubs", includer, "-o", str(tmp_path), "--package", "app.idl"]) == 0
    child = (tmp_path / "corpus" / "includer" / "Child.pyi").read_text()
    assert "import app.idl.corpus.deep.Middle as _tb_extends" in child
    assert (tmp_path / "corpus" / "shared" / "ttypes.pyi").is_file()  # the includes too
