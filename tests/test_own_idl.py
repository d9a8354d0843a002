"""A user's own IDL: compiled into the user's package by the real CLI, then called on loopback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import thrift_bridge
from thrift_bridge.testing import serve

from .commands import run_cli, run_program

COMMON = """\
// No namespace: Apache imports this one as a top-level `common` whatever the package.
struct Money { 1: i64 cents, 2: string currency = "EUR" }
service Base { string ping() }
"""
TAGS = """\
namespace py acme.tags
enum Kind { NEW = 1, SALE = 2 }
struct Tag { 1: string name, 2: Kind kind = Kind.NEW }
"""
SHOP = """\
include "common.thrift"
include "tags/tags.thrift"
const common.Money FREE = {"cents": 0}
struct Item { 1: required i64 id, 2: common.Money price, 3: optional list<tags.Tag> tags }
exception NotFound { 1: i64 id }
service Shop extends common.Base {
  Item get(1: i64 id) throws (1: NotFound missing),
  common.Money total(1: list<Item> items),
}
"""
# Serves the compiled Shop on loopback and calls it through thrift_bridge.Client.
APP = """\
import importlib
import sys

from thrift_bridge import Client
from thrift_bridge.testing import serve

gen = sys.argv[1]  # the package the code was compiled into ("" for top level)
Shop = importlib.import_module(gen + "shop.Shop")
shop = importlib.import_module(gen + "shop.ttypes")
money = importlib.import_module(gen + "common.ttypes")
tags = importlib.import_module(gen + "acme.tags.ttypes")
constants = importlib.import_module(gen + "shop.constants")


class Handler:
    def ping(self):
        return "pong"

    def get(self, id):
        if id == 0:
            raise shop.NotFound(id=0)
        price = money.Money(cents=250)
        return shop.Item(id=id, price=price, tags=[tags.Tag(name="new"), tags.Tag("x", 2)])

    def total(self, items):
        return money.Money(cents=sum(item.price.cents for item in items))


with serve(Shop.Processor(Handler())) as server, Client(Shop, server.url) as client:
    item = client.get(7)
    print(client.ping(), item.price.cents, item.price.currency, [t.kind for t in item.tags])
    print(client.total([item, item]).cents, constants.FREE)
    try:
        client.get(0)
    except shop.NotFound as exc:
        print("NotFound", exc.id, type(exc).__module__)
    print(client.invoke("get", {"id": 3})["tags"])
"""


def write_project(root: Path) -> None:
    """A project with shop.thrift including a bare and a namespaced file, and its app."""
    (root / "idl" / "tags").mkdir(parents=True)
    (root / "idl" / "common.thrift").write_text(COMMON)
    (root / "idl" / "tags" / "tags.thrift").write_text(TAGS)
    (root / "idl" / "shop.thrift").write_text(SHOP)
    (root / "app.py").write_text(APP)


@pytest.mark.parametrize(
    ("out", "package_args", "path_entry", "package"),
    [
        ("myapp/gen", [], "", "myapp.gen."),  # the package follows from -o
        ("src/myapp/gen", ["--package", "myapp.gen"], "src", "myapp.gen."),  # src layout
        (".", [], "", ""),  # top-level packages, as plain `thrift --gen py` makes them
    ],
)
def test_own_idl_compiles_into_its_package_and_calls_a_loopback_server(
    compiler, tmp_path, out, package_args, path_entry, package
):
    write_project(tmp_path)
    args = ("-r", "idl/shop.thrift", "-o", out, *package_args, "--compiler", compiler)
    compiled = run_cli("compile", *args, cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    assert f"(import {package}shop)" in compiled.stdout
    assert f"(import {package}acme.tags)" in compiled.stdout
    assert not list(tmp_path.rglob("*-remote"))
    env = {"PYTHONPATH": str(tmp_path / path_entry)}
    app = run_program([sys.executable, "app.py", package], cwd=tmp_path, env=env)
    assert app.returncode == 0, app.stderr
    assert app.stdout.splitlines() == [
        "pong 250 EUR [1, 2]",
        "500 Money(cents=0, currency='EUR')",
        f"NotFound 0 {package}shop.ttypes",
        "[{'name': 'new', 'kind': 1}, {'name': 'x', 'kind': 2}]",
    ]


def test_includes_without_a_namespace_are_imported_from_the_package(compiler, tmp_path):
    write_project(tmp_path)
    compiled = run_cli(
        "compile", "-r", "idl/shop.thrift", "-o", "gen", "--compiler", compiler, cwd=tmp_path
    )
    assert compiled.returncode == 0, compiled.stderr
    imports = [
        line
        for line in (tmp_path / "gen" / "shop" / "ttypes.py").read_text().splitlines()
        if line.startswith(("import ", "from gen"))
    ]
    # Apache wrote `import common.ttypes` (a top-level package that does not exist): the
    # namespaced include already carries the prefix.
    assert imports == [
        "import sys",
        "import gen.common.ttypes",
        "from gen import common  # thrift-bridge: Apache wrote 'import common.ttypes'",
        "import gen.acme.tags.ttypes",
    ]
    assert (tmp_path / "gen" / "__init__.py").read_text() == ""


def test_recompiling_replaces_one_package_and_keeps_its_neighbours(compiler, tmp_path):
    (tmp_path / "tags.thrift").write_text(TAGS + "service Old { void gone() }\n")
    (tmp_path / "other.thrift").write_text("namespace py acme.other\nconst i32 ANSWER = 42\n")
    for idl in ("tags.thrift", "other.thrift"):
        done = run_cli("compile", idl, "-o", "gen", "--compiler", compiler, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    (tmp_path / "gen" / "acme" / "__init__.py").write_text('"""ours"""\n')
    (tmp_path / "tags.thrift").write_text(TAGS)
    again = run_cli("compile", "tags.thrift", "-o", "gen", "--compiler", compiler, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (tmp_path / "gen" / "acme" / "tags").iterdir()) == [
        "__init__.py",
        "constants.py",
        "constants.pyi",
        "ttypes.py",
        "ttypes.pyi",
    ]  # Old.py and its stub went with the service
    assert (tmp_path / "gen" / "acme" / "other" / "constants.py").is_file()
    assert (tmp_path / "gen" / "acme" / "__init__.py").read_text() == '"""ours"""\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "../elsewhere"], "cannot tell which package -o '../elsewhere' is: it is outside"),
        (["-o", "my-app/gen"], "'my-app/gen' is not a dotted Python name; give --package"),
        (["-o", "class/gen"], "'class/gen' is not a dotted Python name; give --package"),
        (["-o", "gen", "--package", "my-app"], "invalid --package 'my-app' (expected a dotted"),
        (["-o", "gen", "--package", "gen..x"], "invalid --package 'gen..x'"),
    ],
)
def test_compile_refuses_a_package_it_cannot_name(tmp_path, args, message):
    (tmp_path / "a.thrift").write_text("struct A { 1: i32 x }\n")
    result = run_cli("compile", "a.thrift", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.thrift"]  # nothing written
    assert not (tmp_path.parent / "elsewhere").exists()


def test_compile_without_the_compiler_says_how_to_get_it_or_to_load(tmp_path):
    (tmp_path / "a.thrift").write_text("struct A { 1: i32 x }\n")
    result = run_cli(
        "compile", "a.thrift", "-o", "gen", "--compiler", "no-such-thrift", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "apt-get install thrift-compiler" in result.stderr
    assert "thrift_bridge.load('file.thrift')" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # no traceback


def test_the_installed_command_imports_module_from_the_working_directory(compiler, tmp_path):
    write_project(tmp_path)
    args = ("-r", "idl/shop.thrift", "-o", "gen", "--compiler", compiler)
    assert run_cli("compile", *args, cwd=tmp_path).returncode == 0
    # The server runs the same IDL loaded at run time: the same bytes on the wire.
    shop = thrift_bridge.load(tmp_path / "idl" / "shop.thrift")

    class Handler:
        def get(self, id: int) -> object:
            return shop.Item(id=id, price=shop.common.Money(cents=5), tags=[shop.tags.Tag("t")])

    console_script = Path(sys.executable).parent / "thrift-bridge"  # not `python -m`
    with serve(shop.Shop.Processor(Handler())) as server:
        call = ("call", server.url, "Shop.get", '{"id": 7}', "--module", "gen.shop")
        result = run_program([str(console_script), *call], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "id": 7,
        "price": {"cents": 5, "currency": "EUR"},
        "tags": [{"name": "t", "kind": 1}],
    }
