"""Importing is cheap: public names load on first use, and a tcp client never loads TLS or HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import thrift_bridge

ROOT = Path(__file__).resolve().parent.parent

#: Modules only TLS or HTTP endpoints need (http.client alone pulls in the email package).
TLS_AND_HTTP = ["http.client", "email.parser", "ssl", "certifi"]
#: Modules only some clients need: IDL conversion, middleware, sessions, HTTP, other protocols.
OPTIONAL = [
    "thrift_bridge._convert",
    "thrift_bridge._middleware",
    "thrift_bridge._pinned",
    "thrift_bridge._ratelimit",
    "thrift_bridge._wire._http",
    "thrift.protocol.TCompactProtocol",
    "thrift.protocol.TJSONProtocol",
    "thrift.protocol.THeaderProtocol",
    "thrift.protocol.TMultiplexedProtocol",
]
TCP_CLIENT = (
    "from thrift_bridge import Client\n"
    "from tests.generated.calculator import Calculator\n"
    "Client(Calculator, 'tcp://127.0.0.1:9090?protocol=binary&transport=buffered').close()"
)


def loaded_after(code: str, modules: list[str]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )  # cwd: tests.generated imports from the repository
    return out.stdout.split()


def test_importing_the_package_loads_no_submodule_behind_a_public_name():
    modules = [*TLS_AND_HTTP, "thrift_bridge._convert", "thrift_bridge._client"]
    assert loaded_after("import thrift_bridge", modules) == []


def test_importing_client_loads_neither_tls_nor_http():
    assert loaded_after("from thrift_bridge import Client", TLS_AND_HTTP) == []


def test_a_tcp_client_loads_only_what_it_uses():
    assert loaded_after(TCP_CLIENT, TLS_AND_HTTP + OPTIONAL) == []


def test_star_import_still_loads_everything_public():
    code = "from thrift_bridge import *"
    assert loaded_after(code, ["thrift_bridge._client", "thrift_bridge._convert"]) == [
        "thrift_bridge._client",
        "thrift_bridge._convert",
    ]


def test_dir_lists_every_public_name_before_it_is_loaded():
    code = "import thrift_bridge\nprint(' '.join(dir(thrift_bridge)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(thrift_bridge.__all__) <= set(out.stdout.split())
    assert set(thrift_bridge.__all__) <= set(dir(thrift_bridge))


def test_a_public_name_is_the_object_its_submodule_defines():
    from thrift_bridge._client import Client
    from thrift_bridge._exceptions import ConfigError

    assert thrift_bridge.Client is Client
    assert thrift_bridge.ConfigError is ConfigError


@pytest.mark.parametrize("name", ["no_such_name", "client_", "_SUBMODULE"])
def test_an_unknown_attribute_raises_attribute_error(name):
    with pytest.raises(AttributeError, match=f"has no attribute {name!r}"):
        getattr(thrift_bridge, name)
    assert not hasattr(thrift_bridge, name)
    with pytest.raises(ImportError, match=name):
        exec(f"from thrift_bridge import {name}", {})
