"""The public API is exactly what `__all__` promises, and it ships typed."""

from __future__ import annotations

import importlib
import pathlib

import pytest

import thrift_bridge

# The spec: what thrift_bridge/__init__.py exports. Change both together, on purpose.
EXPECTED = [
    "AccessLog",
    "ArgumentError",
    "AsyncClient",
    "AsyncConnectionPool",
    "AsyncPinnedClient",
    "Call",
    "Client",
    "ClientSettings",
    "ConfigError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionPool",
    "DeadlineExceeded",
    "DeadlineProcessor",
    "Endpoint",
    "HTTPError",
    "HeaderScope",
    "IDLError",
    "Invoker",
    "Metrics",
    "Middleware",
    "PinnedClient",
    "PoolClosed",
    "PoolError",
    "PoolTimeout",
    "ProtocolError",
    "RateLimited",
    "ReadTimeout",
    "RetryPolicy",
    "ThriftBridgeError",
    "Timeout",
    "TransportError",
    "WriteTimeout",
    "__version__",
    "budget_from_headers",
    "deadline",
    "from_dict",
    "load",
    "parse_url",
    "parse_urls",
    "to_dict",
]


def test_all_is_exactly_the_expected_sorted_list():
    assert sorted(EXPECTED) == EXPECTED
    assert list(thrift_bridge.__all__) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_every_public_name_is_importable(name):
    module = importlib.import_module("thrift_bridge")
    assert getattr(module, name) is not None
    namespace: dict[str, object] = {}
    exec(f"from thrift_bridge import {name}", namespace)
    assert namespace[name] is getattr(thrift_bridge, name)


def test_star_import_gives_exactly_all():
    namespace: dict[str, object] = {}
    exec("from thrift_bridge import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(EXPECTED)


def test_version_is_a_string():
    assert isinstance(thrift_bridge.__version__, str)
    assert thrift_bridge.__version__


def test_py_typed_ships_next_to_init():
    package = pathlib.Path(thrift_bridge.__file__).parent
    assert (package / "py.typed").is_file()


def test_type_checkers_see_every_public_name_from_its_submodule():
    """The TYPE_CHECKING imports (what mypy and pyright read) name every public name, each
    from the submodule that holds the very object the package hands out at run time."""
    import ast
    import importlib

    source = pathlib.Path(thrift_bridge.__file__).read_text()
    imported = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                assert alias.asname == alias.name, f"{alias.name} is not re-exported"
                imported[alias.name] = node.module
    assert sorted(imported) == EXPECTED
    for name, module in imported.items():
        submodule = importlib.import_module(f"thrift_bridge.{module}")
        assert getattr(thrift_bridge, name) is getattr(submodule, name), name
