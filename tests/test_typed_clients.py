"""mypy --strict and pyright --strict check calls through typed clients (tests/typed_snippets/).

The snippets import ``thrift_bridge.generated.demo`` as an installed wheel lays it out: a copy
of the package with ``generated/`` (and its committed stubs) inside, in a temporary directory,
which both checkers read as their source tree. ``correct.py`` must pass; every other snippet
must fail on exactly its line marked ``# error``, with the message below.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from thrift_bridge import AsyncClient, AsyncPinnedClient, Client, PinnedClient
from thrift_bridge.cli import main
from thrift_bridge.typing import AsyncClientAPI, AsyncPinnedClientAPI, ClientAPI, PinnedClientAPI

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = Path(__file__).resolve().parent / "typed_snippets"

# snippet -> (what mypy says, what pyright says) on the line marked `# error`
WRONG = {
    "wrong_argument_type": (
        r'Argument 1 to "get_customer" of "TypedClient" has incompatible type "str"; '
        r'expected "int"  \[arg-type\]',
        r'Argument of type "Literal\[\'1\'\]" cannot be assigned to parameter "id" of type '
        r'"int" in function "get_customer"',
    ),
    "missing_argument": (
        r'Missing positional argument "limit" in call to "search" of "TypedClient"  '
        r"\[call-arg\]",
        r'Argument missing for parameter "limit"',
    ),
    "unknown_method": (
        r'"TypedClient" has no attribute "get_custmer"; maybe "get_customer"\?  \[attr-defined\]',
        r'Cannot access attribute "get_custmer" for class "TypedClient"',
    ),
    "wrong_result_use": (
        r'"Customer" has no attribute "nme"; maybe "name"\?  \[attr-defined\]',
        r'Cannot access attribute "nme" for class "Customer"',
    ),
    "wrong_pinned_argument": (
        r'Argument 1 to "visit_count" of "TypedPinnedClient" has incompatible type "str"; '
        r'expected "int"  \[arg-type\]',
        r'Argument of type "Literal\[\'1\'\]" cannot be assigned to parameter "customer_id"',
    ),
    "async_not_awaited": (
        r'"Coroutine\[Any, Any, Customer\]" has no attribute "name"  \[attr-defined\]',
        r'Cannot access attribute "name" for class "(Coroutine|CoroutineType)\[Any, Any, '
        r'Customer\]"',
    ),
    "async_call_dropped": (
        r'Value of type "Coroutine\[Any, Any, None\]" must be used  \[unused-coroutine\]',
        r"Result of async function call is not used; use \"await\" or assign result to variable",
    ),
    "sync_call_awaited": (
        r'Incompatible types in "await" \(actual type "Customer", expected type '
        r'"Awaitable\[Any\]"\)  \[misc\]',
        r'"Customer" is not awaitable',
    ),
    "fastapi_route": (
        r'Argument 1 to "get_customer" of "TypedAsyncClient" has incompatible type "str"; '
        r'expected "int"  \[arg-type\]',
        r'Argument of type "Literal\[\'1\'\]" cannot be assigned to parameter "id" of type '
        r'"int" in function "get_customer"',
    ),
    "loaded_wrong_argument_type": (
        r'Argument 1 to "visit_count" of "TypedClient" has incompatible type "str"; '
        r'expected "int"  \[arg-type\]',
        r'Argument of type "Literal\[\'1\'\]" cannot be assigned to parameter "customer_id"',
    ),
}
ALL = ["correct", "loaded", *WRONG]

_MYPY_CONFIG = """\
[mypy]
strict = True
plugins = thrift_bridge.mypy
cache_dir = .mypy_cache
# Apache's thrift package ships no type information.
[mypy-thrift.*]
ignore_missing_imports = True
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package as a wheel installs it, the demo's loaded-layout stubs, and the snippets."""
    root = tmp_path_factory.mktemp("site")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "thrift_bridge", root / "thrift_bridge", ignore=ignore)
    shutil.copytree(ROOT / "generated", root / "thrift_bridge" / "generated", ignore=ignore)
    # What a user of load() runs: stubs for the file, in the shape load() builds.
    assert main(["stubs", str(ROOT / "idl" / "demo.thrift"), "-o", str(root)]) == 0
    for name in ALL:
        shutil.copy(SNIPPETS / f"{name}.py", root / f"{name}.py")
    (root / "mypy.ini").write_text(_MYPY_CONFIG)
    (root / "pyrightconfig.json").write_text(
        json.dumps({"typeCheckingMode": "strict", "pythonVersion": "3.9"})
    )
    return root


def _error_lines() -> dict[str, int]:
    """The line marked ``# error`` in each wrong snippet."""
    lines = {}
    for name in WRONG:
        text = (SNIPPETS / f"{name}.py").read_text().splitlines()
        marked = [n for n, line in enumerate(text, 1) if line.endswith("# error")]
        assert len(marked) == 1, name
        lines[name] = marked[0]
    return lines


def _by_snippet(found: list[tuple[str, int, str]]) -> dict[str, list[tuple[int, str]]]:
    """(file, line, message) errors grouped by snippet name."""
    grouped: dict[str, list[tuple[int, str]]] = {name: [] for name in ALL}
    for file, line, message in found:
        grouped.setdefault(Path(file).stem, []).append((line, message))
    return grouped


def _check(errors: dict[str, list[tuple[int, str]]], which: int, tool: str) -> None:
    """correct and loaded have no errors; each wrong snippet one, at its line, as expected."""
    assert errors.pop("correct") == [], tool
    assert errors.pop("loaded") == [], tool
    lines = _error_lines()
    for name, expected in WRONG.items():
        got = errors.pop(name)
        # pyright --strict may add "type ... is unknown" for the same mistake
        assert got, (tool, name)
        assert {line for line, _ in got} == {lines[name]}, (tool, name, got)
        assert any(re.search(expected[which], message) for _, message in got), (tool, name, got)
    assert not any(errors.values()), (tool, errors)  # nothing in the package or its stubs


def test_mypy_checks_every_call(site: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", *(f"{n}.py" for n in ALL)],
        cwd=site,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    found = []
    for line in result.stdout.splitlines():
        match = re.match(r"(.+?):(\d+): error: (.*)$", line)
        # The library's own .py files are `make lint`'s, under the project's configuration;
        # here every snippet and every stub counts.
        if match and not (match[1].startswith("thrift_bridge") and match[1].endswith(".py")):
            found.append((match[1], int(match[2]), match[3]))
    assert result.returncode in (0, 1), result.stdout + result.stderr
    _check(_by_snippet(found), 0, "mypy")


def test_pyright_checks_every_call(site: Path) -> None:
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable]
        + [f"{n}.py" for n in ALL],
        cwd=site,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    assert result.stdout.startswith("{"), result.stdout + result.stderr
    report = json.loads(result.stdout)
    found = [
        (d["file"], d["range"]["start"]["line"] + 1, d["message"])
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]
    _check(_by_snippet(found), 1, "pyright")


def test_loaded_snippet_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(SNIPPETS / "loaded.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Client", "Ada", "demo.CustomerService"]


# --- the typing side stays true to the classes ---------------------------------------------


def _public(value: object) -> set[str]:
    return {name for name in dir(value) if not name.startswith("_")}


def test_api_protocols_list_every_public_member() -> None:
    # Views leave out a service method named like one of these (the client's own wins), and
    # mypy checks in _client.py that the classes have every protocol member.
    from .generated.calculator import Calculator

    with Client(Calculator, "tcp://127.0.0.1:9") as client:  # no connection yet
        assert _public(client) - set(client.methods) == _public(ClientAPI)
    assert _public(PinnedClient) == _public(PinnedClientAPI)
    aclient = AsyncClient(Calculator, "tcp://127.0.0.1:9")  # no loop, no pools yet
    assert _public(aclient) - set(aclient.methods) == _public(AsyncClientAPI)
    assert _public(AsyncPinnedClient) == _public(AsyncPinnedClientAPI)


def _parameters(function: ast.FunctionDef) -> list[str]:
    """Every parameter as source text, after the first (self or cls) and the service."""
    arguments = function.args
    positional = [ast.unparse(a) for a in arguments.args]
    defaults = [None] * (len(positional) - len(arguments.defaults)) + [
        ast.unparse(d) for d in arguments.defaults
    ]
    shown = [f"{p}={d}" if d else p for p, d in zip(positional, defaults)][2:]
    shown += [
        f"{ast.unparse(a)}={ast.unparse(d)}" if d else ast.unparse(a)
        for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults)
    ]
    assert arguments.kwarg is not None
    return [*shown, f"**{ast.unparse(arguments.kwarg)}"]


def _functions(cls: type, name: str) -> list[Any]:
    """Every definition of `name` in the class statement of `cls`, from its source file."""
    tree = ast.parse(Path(inspect.getsourcefile(cls) or "").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    return [n for n in ast.walk(node) if isinstance(n, ast.FunctionDef) and n.name == name]


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_new_overloads_repeat_the_constructor(cls: type) -> None:
    # The constructor both clients share (Client.__init__ is defined on their common base).
    base = next(c for c in cls.__mro__ if "__init__" in vars(c))
    (init,) = _functions(base, "__init__")
    overloads = [m for m in _functions(cls, "__new__") if m.decorator_list]
    assert len(overloads) == 2
    for overload in overloads:
        assert _parameters(overload) == _parameters(init)
