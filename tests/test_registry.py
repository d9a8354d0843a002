"""`ClientRegistry`: aliases, versions, access keys, and loading from mappings, env and files."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from thrift.Thrift import TApplicationException

from thrift_bridge import AsyncClient, Client, ConfigError, PoolClosed
from thrift_bridge.adapters import AsyncClientRegistry, ClientRegistry, resolve_service
from thrift_bridge.testing import HeaderCheckingProcessor, serve

from .generated.calculator import Calculator
from .handlers import CalculatorHandler

CALC = "tests.generated.calculator.Calculator"


@pytest.fixture
def versioned_servers():
    """Two header servers: version 1.0 and version 2.0 of Calculator, both checking keys."""
    one = HeaderCheckingProcessor(
        Calculator.Processor(CalculatorHandler()), access_keys={"k"}, versions={"1.0"}
    )
    two = HeaderCheckingProcessor(
        Calculator.Processor(CalculatorHandler()), access_keys={"k"}, versions={"2.0"}
    )
    with serve(one, transport="header") as s1, serve(two, transport="header") as s2:
        yield s1, s2, one, two


def test_alias_is_built_lazily_once_and_shared_across_threads():
    registry = ClientRegistry({"calc": {"service": CALC, "url": "tcp://127.0.0.1:9"}})
    assert registry.built() == {}
    with ThreadPoolExecutor(16) as pool:
        clients = set(pool.map(lambda _: id(registry["calc"]), range(64)))
    assert len(clients) == 1
    assert isinstance(registry["calc"], Client)
    registry.close()
    assert registry.built() == {}


def test_versions_default_and_explicit_with_access_key_headers(versioned_servers):
    s1, s2, one, two = versioned_servers
    registry = ClientRegistry(
        {
            "calc": {
                "service": CALC,
                "versions": {"1.0": s1.url, "2.0": [s2.url]},
                "default": "2.0",
                "access_key": "k",
            }
        }
    )
    assert registry.versions("calc") == ["1.0", "2.0"]
    assert registry["calc"].add(1, 1) == 2
    assert two.seen[-1] == {"access_key": "k", "service_version": "2.0"}
    assert registry.get("calc", version="1.0").add(2, 2) == 4
    assert one.seen[-1] == {"access_key": "k", "service_version": "1.0"}
    assert registry.get("calc", version="1.0") is registry.get("calc", version="1.0")
    assert set(registry.built()) == {"calc", "calc@1.0"}
    registry.close()


def test_wrong_access_key_is_refused_by_the_server(versioned_servers):
    s1, _, _, _ = versioned_servers
    registry = ClientRegistry(
        {"calc": {"service": CALC, "versions": {"1.0": s1.url}, "access_key": "nope"}}
    )
    with pytest.raises(TApplicationException, match="access denied"):
        registry["calc"].add(1, 1)
    registry.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"calc": {"url": "tcp://h:1"}}, "SERVICE is missing"),
        ({"calc": {"service": "no.such.module"}}, "cannot import service 'no.such.module'"),
        ({"calc": {"service": CALC, "colour": 1}}, "unknown setting 'colour'"),
        ({"calc": {"service": CALC, "options": {"bogus": 1}}}, r"unknown option\(s\) \['bogus'\]"),
        ({"calc": {"service": CALC, "url": "tcp://h?protocol=x"}}, "unknown protocol 'x'"),
        ({"calc": {"service": CALC, "pool_size": 0}}, "invalid pool_size 0"),
        (
            {"calc": {"service": CALC, "url": "tcp://h:1", "versions": {"1": "tcp://h:2"}}},
            "not both",
        ),
        ({"calc": {"service": CALC, "versions": {}}}, "non-empty mapping"),
        (
            {"calc": {"service": CALC, "versions": {"1": "tcp://a:1", "2": "tcp://b:1"}}},
            "DEFAULT None is not one of the versions",
        ),
        ({"calc": {"service": CALC, "default": "1"}}, "DEFAULT needs VERSIONS"),
        ({"calc": {"service": CALC, "access_key": "k"}}, "ACCESS_KEY travels in a header"),
        ({"calc": "tcp://h:1"}, "expected a mapping of settings"),
        ([("calc", {})], "expected a mapping of alias"),
    ],
)
@pytest.mark.parametrize("kind", [ClientRegistry, AsyncClientRegistry])
def test_bad_configuration_fails_up_front_naming_the_alias(config, message, kind):
    with pytest.raises(ConfigError, match=message):
        kind(config)


def test_unknown_alias_and_version_list_what_exists():
    registry = ClientRegistry(
        {
            "a": {"service": CALC, "url": "tcp://h:1"},
            "b": {"service": CALC, "versions": {"1.0": "tcp://h:2"}},
        }
    )
    with pytest.raises(ConfigError, match=r"under 'c' \(configured: a, b\)"):
        registry["c"]
    with pytest.raises(ConfigError, match=r"no version '9' \(versions: 1.0\)"):
        registry.get("b", version="9")
    with pytest.raises(ConfigError, match="has no versions"):
        registry.get("a", version="1.0")


def test_from_mapping_nested_like_flask_config_or_django_settings():
    config = {"THRIFT_CLIENTS": {"calc": {"SERVICE": CALC, "URL": "tcp://h:1", "POOL_SIZE": 2}}}
    registry = ClientRegistry.from_mapping(config)
    assert registry["calc"].endpoints[0].port == 1
    assert registry["calc"].settings.pool_size == 2
    registry.close()


def test_from_mapping_flat_like_os_environ():
    environ = {
        "THRIFT_CLIENTS_CALC_SERVICE": CALC,
        "THRIFT_CLIENTS_CALC_URL": "tcp://h:7",
        "THRIFT_CLIENTS_CALC_POOL_SIZE": "3",
        "THRIFT_CLIENTS_CALC_OPTIONS": '{"timeout": 2}',
        "THRIFT_CLIENTS_MY_BILLING_SERVICE": CALC,
        "THRIFT_CLIENTS_MY_BILLING_VERSIONS": '{"1.0": "tcp://b:1"}',
        "PATH": "/usr/bin",
    }
    registry = ClientRegistry.from_mapping(environ)
    assert list(registry) == ["calc", "my_billing"]
    calc = registry["calc"]
    assert (calc.settings.pool_size, calc.endpoints[0].timeout) == (3, 2.0)
    assert registry.versions("my_billing") == ["1.0"]
    registry.close()
    with pytest.raises(ConfigError, match="cannot read 'THRIFT_CLIENTS_CALC'"):
        ClientRegistry.from_mapping({"THRIFT_CLIENTS_CALC": "x"})


def test_from_toml_and_json_files(tmp_path):
    toml = tmp_path / "clients.toml"
    toml.write_text(
        f"""
[thrift_clients.calc]
service = "{CALC}"
default = "2.0"

[thrift_clients.calc.versions]
"1.0" = "tcp://a:1"
"2.0" = ["tcp://b:1", "tcp://c:1"]
"""
    )
    registry = ClientRegistry.from_file(toml)
    assert [ep.host for ep in registry["calc"].endpoints] == ["b", "c"]
    registry.close()
    doc = tmp_path / "clients.json"
    doc.write_text(json.dumps({"calc": {"service": CALC, "url": "tcp://j:1"}}))
    registry = ClientRegistry.from_file(doc)
    assert registry["calc"].endpoints[0].host == "j"
    registry.close()
    for name, text, message in [
        ("bad.toml", "x = ", "invalid TOML"),
        ("bad.json", "{", "invalid JSON"),
        ("bad.yaml", "a: 1", "expected .toml or .json"),
    ]:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            ClientRegistry.from_file(path)
    with pytest.raises(ConfigError, match="cannot read client configuration"):
        ClientRegistry.from_file(tmp_path / "missing.toml")


def test_configure_replaces_and_closes_old_clients():
    registry = ClientRegistry({"calc": {"service": CALC, "url": "tcp://h:1"}})
    old = registry["calc"]
    registry.configure({"calc": {"service": CALC, "url": "tcp://h:2"}})
    assert old.closed
    assert registry["calc"].endpoints[0].port == 2
    registry.close()


@pytest.mark.parametrize("spec", [CALC, CALC + ".Client", CALC + ":Client", Calculator])
def test_resolve_service_accepts_module_class_and_dotted_paths(spec):
    assert resolve_service(spec) in (Calculator, Calculator.Client)


def test_async_registry_builds_async_clients_from_the_same_configuration(tmp_path):
    config = {"calc": {"service": CALC, "url": "tcp://127.0.0.1:9", "pool_size": 3}}
    registry = AsyncClientRegistry(config)
    client = registry["calc"]
    assert type(client) is AsyncClient
    assert client.settings == ClientRegistry(config)["calc"].settings
    assert client.endpoints == ClientRegistry(config)["calc"].endpoints
    registry.close()  # sync close, as configure() and Django's setting_changed need
    assert client.closed


@pytest.mark.parametrize("kind", [ClientRegistry, AsyncClientRegistry])
def test_from_config_takes_every_form_the_adapters_accept(tmp_path, kind):
    entry = {"service": CALC, "url": "tcp://127.0.0.1:9"}
    toml = tmp_path / "c.toml"
    toml.write_text(f'[THRIFT_CLIENTS.calc]\nservice = "{CALC}"\nurl = "tcp://127.0.0.1:9"\n')
    (tmp_path / "c.json").write_text(json.dumps({"calc": entry}))
    given = kind({"calc": entry})
    forms = [
        {"calc": entry},
        {"DEBUG": True, "THRIFT_CLIENTS": {"calc": entry}},
        {
            "HOME": "/root",
            "THRIFT_CLIENTS_CALC_SERVICE": CALC,
            "THRIFT_CLIENTS_CALC_URL": "tcp://h",
        },
        toml,
        str(tmp_path / "c.json"),
        given,
    ]
    for config in forms:
        registry = kind.from_config(config)
        assert type(registry) is kind
        assert list(registry) == ["calc"], config
    assert kind.from_config(given) is given
    custom = kind.from_config({"MY_CALC_SERVICE": CALC}, prefix="MY")
    assert list(custom) == ["calc"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "no Thrift clients configured in the mapping"),
        ({"HOME": "/root", "PATH": "/bin"}, "found neither"),
        ({"THRIFT_CLIENTS": {}}, "no Thrift clients configured in THRIFT_CLIENTS"),
        (
            "clients.ini",
            r"unknown configuration file type 'clients.ini' \(expected .toml or .json\)",
        ),
        ("missing.toml", "cannot read client configuration 'missing.toml'"),
        (42, r"unusable Thrift client configuration 42 \(expected a mapping"),
        (ClientRegistry(), "or a AsyncClientRegistry"),
    ],
)
def test_from_config_names_what_was_wrong(config, message):
    with pytest.raises(ConfigError, match=message):
        AsyncClientRegistry.from_config(config)


def test_async_client_close_from_another_thread_closes_its_loops_pools():
    """`close()` is `aclose()` for sync code: the loop's idle sockets close on that loop."""
    with serve(Calculator.Processor(CalculatorHandler())) as server:
        registry = AsyncClientRegistry({"calc": {"service": CALC, "url": server.url}})
        client = registry["calc"]
        loop = asyncio.new_event_loop()
        stop = threading.Event()

        async def serve_calls():
            assert await client.add(1, 2) == 3
            called.set()
            while not stop.is_set() and client.stats()["open"]:  # bounded by the test's wait
                await asyncio.sleep(0.01)

        called = threading.Event()
        thread = threading.Thread(target=lambda: loop.run_until_complete(serve_calls()))
        thread.start()
        try:
            assert called.wait(10)
            fds = len(os.listdir("/proc/self/fd"))
            registry.close()  # from this thread, while the loop runs in the other
            thread.join(10)
            assert not thread.is_alive()
            assert client.stats()["open"] == 0
            assert len(os.listdir("/proc/self/fd")) <= fds - 1  # ours (the server's may close too)
            with pytest.raises(PoolClosed):
                loop.run_until_complete(client.add(1, 1))
        finally:
            stop.set()
            thread.join(10)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
