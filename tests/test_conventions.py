"""House rules for the tests themselves: they reach thrift_bridge through its public API.

A test file importing a private module (any dotted part starting with "_", as in
``thrift_bridge._pool`` or ``thrift_bridge.demo._service``) fails here unless the pair is in
`PRIVATE_IMPORTS` with the reason it must stay. What may stay is a unit without I/O tested
directly, as design.md asks ("pure code gets fast table-driven tests"): a codec, a parser, a
policy whose clock and random numbers are parameters. State inside a client or a pool is read
through public accessors (`stats()`, `ConnectionPool`, `PinnedClient.call`), never imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

_CODEC = "a codec unit: bytes compared with Apache's generated code, no socket needed"
_FLEET = (
    "a fleet policy without I/O: time and the RNG are parameters, so decisions that take "
    "seconds or thousands of calls through a client are checked exactly and at once"
)
_DEMO = "the demo service's handler; the demo package's only API is `make demo` (main, run_demo)"
_SHOWN = (
    "`shown` is the one spelling of a bad value in a ConfigError (a 5000-digit int is "
    "described, not printed); the property tests check every message names the value with it"
)

#: (test file, private module) -> why the test imports it. An entry nobody uses fails too.
PRIVATE_IMPORTS: dict[tuple[str, str], str] = {
    # --- the demo handler, served by the adapters' tests as by `make demo`
    ("handlers.py", "thrift_bridge.demo._service"): _DEMO,
    ("test_django.py", "thrift_bridge.demo._service"): _DEMO,
    ("test_flask.py", "thrift_bridge.demo._service"): _DEMO,
    # --- codecs and parsers without I/O
    ("test_codec.py", "thrift_bridge._codec._binary"): _CODEC,
    ("test_codec.py", "thrift_bridge._codec._json_methods"): _CODEC,
    ("test_codec.py", "thrift_bridge._codec._large"): _CODEC,
    ("test_idl_load_service.py", "thrift_bridge._codec._binary"): _CODEC,
    ("test_large.py", "thrift_bridge._codec._binary"): _CODEC,
    ("test_replies.py", "thrift_bridge._codec._replies"): _CODEC,
    # An exception with no words of its own, as no server makes one on demand.
    ("test_hints.py", "thrift_bridge._tls"): "the TLS failure message, from a raised exception",
    # The method table an async connection hands its ReplyStream, built without a socket.
    ("test_replies.py", "thrift_bridge._async._methods"): "the async connection's method table",
    ("test_json_calls.py", "thrift_bridge._codec._json_methods"): _CODEC,
    ("test_json_calls.py", "thrift_bridge._codec._json_stream"): _CODEC,
    ("test_json_calls.py", "thrift_bridge._codec._json_write"): _CODEC,
    ("test_json_codec.py", "thrift_bridge._codec._json_stream"): _CODEC,
    ("test_json_codec.py", "thrift_bridge._codec._json_write"): _CODEC,
    ("test_json_stream.py", "thrift_bridge._codec._json_frame"): _CODEC,
    ("test_json_stream.py", "thrift_bridge._codec._json_stream"): _CODEC,
    ("test_json_stream.py", "thrift_bridge._codec._json_write"): _CODEC,
    ("test_convert.py", "thrift_bridge._convert"): (
        "JSON values to Thrift arguments and back, every type and every refusal as a table"
    ),
    ("test_convert.py", "thrift_bridge._service"): "the method table `_convert` reads",
    ("test_http1.py", "thrift_bridge._http1"): (
        "the HTTP/1.1 head parser without I/O (as h11 tests its state machine): every "
        "malformed head as a table"
    ),
    ("test_exceptions.py", "thrift_bridge._exceptions"): (
        "map_exceptions and wrap_error are the unit: which third-party error becomes which of ours"
    ),
    # --- the transport layer on real socket pairs (hostile servers reach it through Client in
    # test_reliability_faults; these pin each read's deadline and each frame's bound)
    ("test_socket.py", "thrift_bridge._wire._socket"): "SocketIO's deadlines on real sockets",
    ("test_streams.py", "thrift_bridge._wire._socket"): "the socket FramedTransport reads",
    ("test_streams.py", "thrift_bridge._wire._streams"): "frames split, joined and refused",
    # --- fleet policies
    ("test_balance.py", "thrift_bridge._balance"): _FLEET,
    ("test_balance.py", "thrift_bridge._ejection"): _FLEET,
    ("test_balance.py", "thrift_bridge._fleet"): _FLEET,
    ("test_balance_simulation.py", "thrift_bridge._balance"): _FLEET,
    ("test_deadline_scope.py", "thrift_bridge._deadline"): (
        "deadline() blocks entered at an explicit `now`, and the Deadline-Budget header codec"
    ),
    ("test_discovery.py", "thrift_bridge._balance"): _FLEET,
    ("test_discovery.py", "thrift_bridge._discovery"): _FLEET,
    ("test_discovery.py", "thrift_bridge._fleet"): _FLEET,
    ("test_dns_discovery.py", "thrift_bridge._balance"): _FLEET,
    ("test_dns_discovery.py", "thrift_bridge._discovery"): _FLEET,
    ("test_dns_discovery.py", "thrift_bridge._resolver"): "lookups against a real dnsmasq",
    ("test_ejection.py", "thrift_bridge._ejection"): _FLEET,
    ("test_retry_budget.py", "thrift_bridge._budget"): _FLEET,
    ("test_pool.py", "thrift_bridge._pool"): (
        "connect_share, the pure rule both pools apply to a deadline's share after the line: "
        "exact at its edges, which a busy loop reaches only by timing"
    ),
    # ClientSettings accepts these policy values but the package does not export their types
    # yet; the settings tests compare against them.
    ("test_fleet_settings.py", "thrift_bridge._budget"): "RetryBudgetPolicy, not exported yet",
    ("test_fleet_settings.py", "thrift_bridge._ejection"): "EjectionPolicy, not exported yet",
    ("test_fleet_settings.py", "thrift_bridge._settings"): (
        "CLIENT_OPTIONS (every adapter's option list) and lifetime_with_jitter's spread"
    ),
    # --- messages and the package's lazy exports
    ("test_endpoint_properties.py", "thrift_bridge._exceptions"): _SHOWN,
    ("test_settings.py", "thrift_bridge._exceptions"): _SHOWN,
    ("test_imports.py", "thrift_bridge._client"): (
        "the test of the lazy exports: a public name is the object its submodule defines"
    ),
    ("test_imports.py", "thrift_bridge._exceptions"): "as above, for an exception",
    # --- code generation units, also run end to end through the CLI in test_cli
    ("test_idl.py", "thrift_bridge.cli._compile"): "compile_idl with its options as a function",
    ("test_stubs.py", "thrift_bridge._stubs"): "write_stubs on IDL trees the CLI never builds",
}


def _private(module: str) -> bool:
    """Whether `module` is thrift_bridge's and one of its dotted parts is private."""
    parts = module.split(".")
    return parts[0] == "thrift_bridge" and any(
        part.startswith("_") and not part.startswith("__") for part in parts
    )


def private_imports(source: str) -> set[str]:
    """The private thrift_bridge modules `source` imports, at any depth in the file
    (``from thrift_bridge import _pool`` counts as ``thrift_bridge._pool``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if _private(alias.name))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _private(node.module):
                found.add(node.module)
            else:
                named = (f"{node.module}.{alias.name}" for alias in node.names)
                found.update(module for module in named if _private(module))
    return found


def _test_sources() -> dict[str, str]:
    """Every Python file of the test suite (generated code aside), by path under tests/."""
    return {
        path.relative_to(TESTS).as_posix(): path.read_text()
        for path in sorted(TESTS.rglob("*.py"))
        if "generated" not in path.parts
    }


def test_no_test_imports_a_private_module_unless_allowed_with_a_reason():
    used = {
        (name, module)
        for name, source in _test_sources().items()
        for module in private_imports(source)
    }
    unexplained = sorted(used - set(PRIVATE_IMPORTS))
    assert unexplained == [], (
        "test through the public API (add a small public accessor if a test truly needs one), "
        "or add the pair to PRIVATE_IMPORTS with the reason it must stay"
    )
    assert sorted(set(PRIVATE_IMPORTS) - used) == [], "allowed but no longer imported: remove"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import thrift_bridge", set()),
        ("from thrift_bridge import Client, ConnectionPool", set()),
        ("from thrift_bridge.testing import serve", set()),
        ("import thrift_bridge.__main__", set()),
        ("from thrift_bridge._pool import ConnectionPool", {"thrift_bridge._pool"}),
        ("import thrift_bridge._wire._socket as s", {"thrift_bridge._wire._socket"}),
        ("from thrift_bridge import _pool", {"thrift_bridge._pool"}),
        ("from thrift_bridge.demo._service import X", {"thrift_bridge.demo._service"}),
        ("def f():\n    from thrift_bridge._client import Client", {"thrift_bridge._client"}),
        ("from ._helpers import x\nimport json._x", set()),
    ],
)
def test_the_check_sees_every_way_of_importing_a_private_module(source, expected):
    assert private_imports(source) == expected
