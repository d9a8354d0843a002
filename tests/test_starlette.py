"""The Starlette/FastAPI adapter: httpx through the ASGI transport, and uvicorn with workers."""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import socket
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from examples.fastapi_app.app import config_from_env, create_app
from thrift_bridge import AsyncClient, ConfigError
from thrift_bridge.adapters import AsyncClientRegistry
from thrift_bridge.adapters.starlette import (
    CancelOnDisconnect,
    get_clients,
    thrift_client,
    thrift_lifespan,
)
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.testing import serve

from .asgi import BOUND, Lifespan, StartupFailed, get_then_hang_up, readme_example
from .gunicorn import Uvicorn, pid_alive, pids_answering
from .handlers import CustomerServiceHandler

if TYPE_CHECKING:
    import threading

pytestmark = pytest.mark.anyio
CUSTOMERS = "thrift_bridge.generated.demo.CustomerService"
ALLTYPES = "tests.generated.alltypes.AllTypes"


def example_config(url: str) -> dict:
    """The example's configuration pointed at `url`."""
    config = config_from_env()
    config["customers"]["url"] = url
    return config


def http(app) -> httpx.AsyncClient:
    """An httpx client calling `app` in this process through the ASGI transport."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def wait_for(event: threading.Event) -> None:
    """Wait (bounded) for a server thread's event without blocking the loop."""
    assert await asyncio.to_thread(event.wait, BOUND), "the server never got the call"


async def test_example_answers_json_and_html(demo_server):
    app = create_app(example_config(demo_server.url))
    async with Lifespan(app), http(app) as web:
        response = await web.get("/api/customers/1")
        assert response.status_code == 200
        body = response.json()
        assert body["customer"]["name"] == "Ada Lovelace"
        assert [account["id"] for account in body["accounts"]] == [101, 102]
        assert body["pid"] == os.getpid()
        missing = await web.get("/api/customers/999")
        assert (missing.status_code, missing.json()["error"]) == (404, "no customer with id 999")
        found = await web.get("/api/customers", params={"prefix": "al"})
        assert [c["name"] for c in found.json()] == ["Alan Turing", "Alonzo Church"]
        page = await web.get("/", params={"customer_id": "1"})
        assert "<h2>Ada Lovelace</h2>" in page.text
        assert "Please enter" in (await web.get("/", params={"customer_id": "x<b>"})).text
        assert "x&lt;b&gt;" in (await web.get("/", params={"customer_id": "x<b>"})).text
        built = get_clients(app).built()
        assert list(built) == ["customers"]
    assert built["customers"].closed  # shutdown closed the pools


@pytest.mark.parametrize(
    "path",
    [
        "/api/customers/abc",
        "/api/customers/0",
        "/api/customers/-1",
        "/api/customers/9223372036854775808",  # one past i64
        "/api/customers/" + "9" * 40,
        "/api/customers/1.5",
        "/api/customers?prefix=",
        "/api/customers?prefix=a&limit=0",
        "/api/customers?prefix=a&limit=" + "9" * 30,
    ],
)
async def test_bad_path_and_query_parameters_are_422_never_500(demo_server, path):
    app = create_app(example_config(demo_server.url))
    async with Lifespan(app), http(app) as web:
        response = await web.get(path)
        assert response.status_code == 422, response.text
        # Nothing was sent for a refused parameter.
        assert get_clients(app)["customers"].stats()["created"] == 0


async def test_largest_i64_id_is_a_404_not_a_422(demo_server):
    app = create_app(example_config(demo_server.url))
    async with Lifespan(app), http(app) as web:
        assert (await web.get(f"/api/customers/{2**63 - 1}")).status_code == 404


@pytest.mark.parametrize(
    ("config", "text"),
    [
        ({"customers": {"service": CUSTOMERS, "url": "tcp://h:99999"}}, "invalid port"),
        ({"customers": {"service": "no.such.Service"}}, "cannot import service"),
        ({"customers": {"service": CUSTOMERS, "pool_size": 0}}, "invalid pool_size"),
        ({"other": {"service": CUSTOMERS}}, "thrift_client('customers')"),
        ({}, "no Thrift clients configured"),
        ({"PATH": "/usr/bin", "HOME": "/root"}, "found neither"),
        ("clients.yaml", "unknown configuration file type"),
    ],
)
async def test_configuration_errors_fail_the_startup(config, text):
    app = create_app(config)
    with pytest.raises(StartupFailed, match=text.replace("(", r"\(").replace(")", r"\)")):
        async with Lifespan(app):
            pytest.fail("the app started")


async def test_an_unknown_version_fails_the_startup_listing_the_versions(demo_server):
    app = FastAPI(
        lifespan=thrift_lifespan(
            {"customers": {"service": CUSTOMERS, "versions": {"1.0": demo_server.url}}}
        )
    )

    @app.get("/")
    async def view(client: Annotated[AsyncClient, Depends(thrift_client("customers", "2.0"))]):
        return "unreachable"

    with pytest.raises(StartupFailed, match=r"no version '2.0' \(versions: 1.0\)"):
        async with Lifespan(app):
            pytest.fail("the app started")


def test_an_empty_alias_is_refused_where_the_dependency_is_made():
    with pytest.raises(ConfigError, match="invalid Thrift client alias ''"):
        thrift_client("")


async def test_every_configuration_form_starts_the_same_app(demo_server, tmp_path):
    toml = tmp_path / "clients.toml"
    toml.write_text(f'[customers]\nservice = "{CUSTOMERS}"\nurl = "{demo_server.url}"\n')
    json_file = tmp_path / "clients.json"
    json_file.write_text(
        json.dumps(
            {"THRIFT_CLIENTS": {"customers": {"service": CUSTOMERS, "url": demo_server.url}}}
        )
    )
    environ = {
        "PATH": "/usr/bin",
        "THRIFT_CLIENTS_CUSTOMERS_SERVICE": CUSTOMERS,
        "THRIFT_CLIENTS_CUSTOMERS_URL": demo_server.url,
        "THRIFT_CLIENTS_CUSTOMERS_POOL_SIZE": "2",
    }
    settings = {
        "DEBUG": True,
        "THRIFT_CLIENTS": {"customers": {"service": CUSTOMERS, "url": demo_server.url}},
    }
    registry = AsyncClientRegistry({"customers": {"service": CUSTOMERS, "url": demo_server.url}})
    for config in (toml, str(json_file), environ, settings, registry):
        app = create_app(config)
        async with Lifespan(app), http(app) as web:
            response = await web.get("/api/customers/2")
            assert response.json()["customer"]["name"] == "Alan Turing", config
            if config is registry:
                assert get_clients(app) is registry
    assert registry.built() == {}  # the registry given is closed with the app (and reusable)


async def test_versions_go_to_their_own_servers(demo_server):
    with serve(CustomerService.Processor(CustomerServiceHandler())) as old:
        config = {
            "customers": {
                "service": CUSTOMERS,
                "versions": {"1.0": old.url, "2.0": demo_server.url},
                "default": "2.0",
            }
        }
        app = FastAPI(lifespan=thrift_lifespan(config))

        @app.get("/v1")
        async def on_v1(
            client: Annotated[AsyncClient, Depends(thrift_client("customers", version="1.0"))],
        ) -> str:
            return (await client.get_customer(1)).name

        @app.get("/default")
        async def on_default(
            client: Annotated[AsyncClient, Depends(thrift_client("customers"))],
        ) -> str:
            return (await client.get_customer(1)).name

        async with Lifespan(app), http(app) as web:
            assert (await web.get("/v1")).json() == "Ada Lovelace"
            assert (old.connections_accepted, demo_server.connections_accepted) == (1, 0)
            assert (await web.get("/default")).json() == "Ada Lovelace"
            assert (old.connections_accepted, demo_server.connections_accepted) == (1, 1)
            assert sorted(get_clients(app).built()) == ["customers", "customers@1.0"]


async def test_a_down_server_fails_only_its_requests_as_502(demo_server, closed_port):
    config = example_config(demo_server.url)
    config["billing"] = {"service": CUSTOMERS, "url": f"tcp://127.0.0.1:{closed_port}"}
    app = create_app(config)

    @app.get("/billing")
    async def billing(client: Annotated[AsyncClient, Depends(thrift_client("billing"))]):
        return await client.ping()

    async with Lifespan(app), http(app) as web:
        down = await web.get("/billing")
        assert down.status_code == 502
        assert f"127.0.0.1:{closed_port}" in down.json()["error"]
        assert (await web.get("/api/customers/1")).status_code == 200


async def test_a_busy_pool_is_503_with_retry_after_and_a_slow_server_504(held_server):
    server, handler = held_server
    config = {"customers": {"service": CUSTOMERS, "url": server.url}}  # the example's, unused
    config["alltypes"] = {"service": ALLTYPES, "url": server.url, "pool_size": 1}
    config["alltypes"].update(pool_timeout=0.2, retries=0, options={"timeout": 5})
    config["impatient"] = {"service": ALLTYPES, "url": server.url, "options": {"timeout": 0.3}}
    app = create_app(config)

    @app.get("/slow/{alias}")
    async def slow(alias: str, request: Request) -> str:
        return await get_clients(request.app)[alias].slow_echo("held", 0.0)

    async with Lifespan(app), http(app) as web:
        first = asyncio.ensure_future(web.get("/slow/alltypes"))
        await wait_for(handler.started)
        busy = await asyncio.wait_for(web.get("/slow/alltypes"), BOUND)
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        late = await asyncio.wait_for(web.get("/slow/impatient"), BOUND)
        assert late.status_code == 504
        handler.release.set()
        assert (await asyncio.wait_for(first, BOUND)).json() == "held"


async def test_the_startup_builds_every_default_client_and_no_versioned_one(demo_server):
    config = {
        "customers": {"service": CUSTOMERS, "url": demo_server.url},
        "billing": {"service": CUSTOMERS, "url": demo_server.url},
        "ledger": {
            "service": CUSTOMERS,
            "versions": {"1.0": demo_server.url, "2.0": "tcp://h:1"},
            "default": "1.0",
        },
    }
    app = Starlette(lifespan=thrift_lifespan(config))
    async with Lifespan(app):
        assert sorted(get_clients(app).built()) == ["billing", "customers", "ledger"]
        assert (await get_clients(app)["ledger"].get_customer(3)).name == "Grace Hopper"


async def test_a_plain_starlette_app_uses_get_clients(demo_server):
    async def name(request):
        client = get_clients(request.app)["customers"]
        return PlainTextResponse((await client.get_customer(3)).name)

    app = Starlette(
        routes=[Route("/", name)], lifespan=thrift_lifespan(example_config(demo_server.url))
    )
    async with Lifespan(app), http(app) as web:
        assert (await web.get("/")).text == "Grace Hopper"
        with pytest.raises(ConfigError, match=r"under 'nope' \(configured: customers\)"):
            get_clients(app)["nope"]
    with pytest.raises(RuntimeError, match="did you forget"):
        get_clients(app)  # shut down: nothing left to use


async def test_inside_an_apps_own_lifespan(demo_server):
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with thrift_lifespan(example_config(demo_server.url))(app):
            app.state.greeting = await get_clients(app)["customers"].ping()
            yield

    app = FastAPI(lifespan=lifespan)
    async with Lifespan(app):
        assert app.state.greeting == "pong"
        client = get_clients(app)["customers"]
    assert client.closed


async def test_a_disconnect_cancels_the_call_and_the_connection_stays_in_step(held_server):
    """Straight ASGI: the request, then http.disconnect once the Thrift server has the call."""
    server, handler = held_server
    from .asgi import slow_app

    os.environ["ALLTYPES_URL"] = server.url
    try:
        app = slow_app()
    finally:
        del os.environ["ALLTYPES_URL"]
    async with Lifespan(app), http(app) as web:
        sent = await get_then_hang_up(app, "/slow/first", handler.started)
        assert sent == []  # no response for a client that left
        assert app.state.cancelled == 1
        handler.release.set()  # the abandoned call's reply arrives now, and is drained
        second = await asyncio.wait_for(web.get("/slow/second"), BOUND)
        assert second.json() == {"value": "second"}
        stats = (await web.get("/stats")).json()
        assert (stats["in_use"], stats["open"]) == (0, 1)


async def test_a_disconnect_after_the_response_cancels_nothing():
    done = asyncio.Event()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        assert (await receive())["type"] == "http.request"
        assert (await receive())["type"] == "http.disconnect"
        await asyncio.sleep(0)  # background work after the response, then:
        done.set()

    messages = [
        {"type": "http.disconnect"},
        {"type": "http.request", "body": b"", "more_body": False},
    ]

    async def receive():
        return messages.pop()

    async def send(message):
        pass

    await asyncio.wait_for(CancelOnDisconnect(app)({"type": "http"}, receive, send), BOUND)
    assert done.is_set()


async def test_errors_and_cancellations_of_the_app_pass_through():
    async def failing(scope, receive, send):
        raise LookupError("the app's own")

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    with pytest.raises(LookupError, match="the app's own"):
        await CancelOnDisconnect(failing)({"type": "http"}, receive, send)

    async def hanging(scope, receive, send):
        await asyncio.sleep(BOUND * 2)

    task = asyncio.ensure_future(CancelOnDisconnect(hanging)({"type": "http"}, receive, send))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, BOUND)


def test_uvicorn_disconnect_cancels_the_call(held_server):
    """A real client hangs up mid-call under uvicorn; the next call on the one connection
    gets its own answer, not the abandoned call's."""
    server, handler = held_server
    env = {"ALLTYPES_URL": server.url}
    web = Uvicorn("tests.asgi:slow_app", env, "/stats", workers=1, factory=True)
    try:
        with socket.create_connection(("127.0.0.1", web.port), timeout=BOUND) as peer:
            peer.sendall(b"GET /slow/first HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert handler.started.wait(BOUND)
        stats = {}
        for _ in range(100):  # bounded: the server notices the close within a few ms
            with urllib.request.urlopen(web.url("/stats"), timeout=BOUND) as response:
                stats = json.loads(response.read())
            if stats["cancelled"]:
                break
            handler.started.wait(0.05)
        assert stats["cancelled"] == 1, web.log_tail()
        handler.release.set()
        with urllib.request.urlopen(web.url("/slow/second"), timeout=BOUND) as response:
            assert json.loads(response.read()) == {"value": "second"}
        assert "Exception in ASGI application" not in web.log_tail(20000)
    finally:
        web.stop()


def test_example_under_uvicorn_with_3_workers(demo_server):
    env = {"CUSTOMERS_THRIFT_URL": demo_server.url}
    web = Uvicorn("examples.fastapi_app.app:app", env, "/api/customers/1", workers=3)
    try:
        pids = pids_answering(web.url("/api/customers/1"))
        assert len(pids) >= 2, f"only {pids} answered; {web.log_tail()}"
        assert web.process.pid not in pids  # the workers answer, not the supervisor
        assert demo_server.connections_accepted >= len(pids)  # each worker its own connections
        with urllib.request.urlopen(web.url("/?customer_id=4"), timeout=BOUND) as r:
            assert b"Alonzo Church" in r.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(web.url("/api/customers/abc"), timeout=BOUND)
        assert refused.value.code == 422
        refused.value.close()
    finally:
        web.stop()
    assert not any(pid_alive(pid) for pid in pids)


async def test_the_readme_example_runs_as_written(demo_server):
    namespace: dict = {}
    exec(readme_example("## FastAPI and Starlette", demo_server.url), namespace)
    app = namespace["app"]
    async with Lifespan(app), http(app) as web:
        assert (await web.get("/customers/1")).json()["name"] == "Ada Lovelace"
        assert (await web.get("/customers/x")).status_code == 422


async def test_the_typed_route_snippet_runs(demo_server, monkeypatch):
    """The README's typed-dependency pattern (type-checked in tests/test_typed_clients.py)
    serves requests: at run time the annotation is the plain AsyncClient."""
    monkeypatch.setenv("THRIFT_CLIENTS_CUSTOMERS_SERVICE", CUSTOMERS)
    monkeypatch.setenv("THRIFT_CLIENTS_CUSTOMERS_URL", demo_server.url)
    snippet = Path(__file__).resolve().parent / "typed_snippets" / "fastapi_route.py"
    app = runpy.run_path(str(snippet))["app"]
    async with Lifespan(app), http(app) as web:
        assert (await web.get("/customers/1")).json() == {"name": "Ada Lovelace"}
        assert (await web.get("/customers/x")).status_code == 422
