"""The public API is exactly what `__all__` promises, and it ships typed."""

from __future__ import annotations

import importlib
import pathlib

import pytest

import thrift_bridge

# The spec: what thrift_bridge/__init__.py exports. Change both together, on purpose.
EXPECTED = [
    "ArgumentError",
    "Client",
    "ConfigError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionPool",
    "Endpoint",
    "HTTPError",
    "IDLError",
    "Invoker",
    "PoolClosed",
    "PoolError",
    "PoolTimeout",
    "ProtocolError",
    "RateLimited",
    "ReadTimeout",
    "ThriftBridgeError",
    "Timeout",
    "TransportError",
    "__version__",
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
