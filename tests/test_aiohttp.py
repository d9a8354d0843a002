"""The aiohttp adapter with aiohttp's own test client (pytest-aiohttp) and real Thrift servers."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from thrift_bridge import ConfigError, to_dict
from thrift_bridge.adapters.aiohttp import THRIFT_CLIENTS, setup
from thrift_bridge.adapters.errors import status_for
from thrift_bridge.generated.demo.ttypes import CustomerNotFound

from .asgi import BOUND, readme_example
from .test_starlette import ALLTYPES, CUSTOMERS

MAX_ID = 2**63 - 1


@pytest.fixture
async def aiohttp_client():
    """aiohttp's own test client, each on a test server for an app, closed after the test.

    Run by anyio's plugin like every other async test here, rather than pytest-aiohttp's
    fixture of this name: pytest-asyncio (which that one needs) leaves an unclosed event loop
    behind on Python 3.9, which the next async test then finds and warns about.
    """
    clients: list[TestClient] = []

    async def client_for(app: web.Application) -> TestClient:
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield client_for
    for client in reversed(clients):
        await client.close()


@web.middleware
async def thrift_errors(request: web.Request, handler):
    """A failing Thrift service fails only the requests calling it (502, 503, 504)."""
    try:
        return await handler(request)
    except Exception as exc:
        status = status_for(exc)
        if status is None:
            raise
        return web.json_response({"error": str(exc)}, status=status)


async def customer(request: web.Request) -> web.Response:
    """GET /customers/{id}: the customer as JSON; 400 for an id that is not an i64 >= 1."""
    try:
        customer_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPBadRequest(text="the customer id is a whole number") from None
    if not 1 <= customer_id <= MAX_ID:
        raise web.HTTPBadRequest(text=f"the customer id is between 1 and {MAX_ID}")
    customers = request.app[THRIFT_CLIENTS]["customers"]
    try:
        return web.json_response(to_dict(await customers.get_customer(customer_id)))
    except CustomerNotFound as exc:
        return web.json_response({"error": exc.message}, status=404)


def make_app(config) -> web.Application:
    app = web.Application(middlewares=[thrift_errors])
    setup(app, config)
    app.router.add_get("/customers/{id}", customer)
    return app


@pytest.mark.anyio
async def test_handlers_call_through_the_app_key_and_cleanup_closes(aiohttp_client, demo_server):
    client = await aiohttp_client(
        make_app({"customers": {"service": CUSTOMERS, "url": demo_server.url}})
    )
    response = await client.get("/customers/1")
    assert response.status == 200
    assert (await response.json())["name"] == "Ada Lovelace"
    missing = await client.get("/customers/999")
    assert (missing.status, await missing.json()) == (404, {"error": "no customer with id 999"})
    built = client.app[THRIFT_CLIENTS].built()
    assert built["customers"].stats()["in_use"] == 0
    await client.close()  # the app's cleanup
    assert built["customers"].closed


@pytest.mark.parametrize(
    "path",
    ["/customers/abc", "/customers/0", "/customers/-5", f"/customers/{2**63}", "/customers/1e3"],
)
@pytest.mark.anyio
async def test_bad_ids_are_400_and_send_nothing(aiohttp_client, demo_server, path):
    client = await aiohttp_client(
        make_app({"customers": {"service": CUSTOMERS, "url": demo_server.url}})
    )
    assert (await client.get(path)).status == 400
    assert client.app[THRIFT_CLIENTS]["customers"].stats()["created"] == 0


@pytest.mark.anyio
async def test_clients_are_built_at_startup(aiohttp_client, demo_server):
    app = make_app({"customers": {"service": CUSTOMERS, "url": demo_server.url}})
    assert app[THRIFT_CLIENTS].built() == {}
    await aiohttp_client(app)
    assert list(app[THRIFT_CLIENTS].built()) == ["customers"]
    assert demo_server.connections_accepted == 0  # built, not connected


@pytest.mark.parametrize(
    ("config", "text"),
    [
        ({"customers": {"service": CUSTOMERS, "url": "tcp://h:0"}}, "invalid port"),
        ({"customers": {"service": CUSTOMERS, "retries": -1}}, "invalid retries"),
        ({"customers": {"service": CUSTOMERS, "colour": "red"}}, "unknown setting 'colour'"),
        ({"THRIFT_CLIENTS_CUSTOMERS_URL": "tcp://h:1"}, "SERVICE is missing"),
        ({"HOME": "/root"}, "found neither"),
        (42, "unusable Thrift client configuration 42"),
    ],
)
def test_configuration_errors_raise_at_setup(config, text):
    with pytest.raises(ConfigError, match=text):
        setup(web.Application(), config)


def test_setup_twice_is_an_error(demo_server):
    app = web.Application()
    setup(app, {"customers": {"service": CUSTOMERS, "url": demo_server.url}})
    with pytest.raises(RuntimeError, match="already called"):
        setup(app, {"customers": {"service": CUSTOMERS, "url": demo_server.url}})


@pytest.mark.anyio
async def test_unknown_alias_lists_the_configured(aiohttp_client, demo_server):
    async def nope(request):
        return web.Response(text=str(await request.app[THRIFT_CLIENTS]["nope"].ping()))

    app = make_app({"customers": {"service": CUSTOMERS, "url": demo_server.url}})
    app.router.add_get("/nope", nope)
    client = await aiohttp_client(app)
    with pytest.raises(ConfigError, match=r"under 'nope' \(configured: customers\)"):
        client.app[THRIFT_CLIENTS]["nope"]
    assert (await client.get("/nope")).status == 500


@pytest.mark.anyio
async def test_sub_apps_find_the_parents_clients(aiohttp_client, demo_server):
    async def name(request):
        client = request.config_dict[THRIFT_CLIENTS]["customers"]
        return web.Response(text=(await client.get_customer(2)).name)

    sub = web.Application()
    sub.router.add_get("/name", name)
    app = make_app({"customers": {"service": CUSTOMERS, "url": demo_server.url}})
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)
    assert await (await client.get("/sub/name")).text() == "Alan Turing"


@pytest.mark.anyio
async def test_a_down_server_fails_only_its_requests_as_502(
    aiohttp_client, demo_server, closed_port
):
    async def billing(request):
        return web.Response(text=await request.app[THRIFT_CLIENTS]["billing"].ping())

    app = make_app(
        {
            "customers": {"service": CUSTOMERS, "url": demo_server.url},
            "billing": {"service": CUSTOMERS, "url": f"tcp://127.0.0.1:{closed_port}"},
        }
    )
    app.router.add_get("/billing", billing)
    client = await aiohttp_client(app)
    assert (await client.get("/billing")).status == 502
    assert (await client.get("/customers/1")).status == 200


@pytest.mark.anyio
async def test_a_client_that_hangs_up_cancels_the_call_cleanly(aiohttp_client, held_server):
    """aiohttp cancels the handler of a closed connection (handler_cancellation, which its
    test server turns on); the pool's one connection then answers the next call rightly."""
    server, handler = held_server
    cancelled = asyncio.Event()

    async def slow(request):
        client = request.app[THRIFT_CLIENTS]["alltypes"]
        try:
            return web.Response(text=await client.slow_echo(request.match_info["value"], 0.0))
        except asyncio.CancelledError:
            cancelled.set()
            raise

    app = web.Application()
    setup(app, {"alltypes": {"service": ALLTYPES, "url": server.url, "pool_size": 1}})
    app.router.add_get("/slow/{value}", slow)
    client = await aiohttp_client(app)
    first = asyncio.ensure_future(client.get("/slow/first"))
    started = asyncio.get_running_loop().run_in_executor(None, handler.started.wait, BOUND)
    assert await started
    first.cancel()  # closes the connection to the server
    await asyncio.wait_for(cancelled.wait(), BOUND)
    handler.release.set()
    second = await asyncio.wait_for(client.get("/slow/second"), BOUND)
    assert await second.text() == "second"
    stats = app[THRIFT_CLIENTS]["alltypes"].stats()
    assert (stats["open"], stats["in_use"]) == (1, 0)
    with pytest.raises(asyncio.CancelledError):
        await first


@pytest.mark.anyio
async def test_the_readme_example_runs_as_written(aiohttp_client, demo_server):
    code = readme_example("## aiohttp", demo_server.url)
    assert "web.run_app(app, handler_cancellation=True)" in code
    namespace: dict = {}
    exec(code.replace("web.run_app(app, handler_cancellation=True)", ""), namespace)
    client = await aiohttp_client(namespace["app"])
    assert (await (await client.get("/customer")).json())["name"] == "Ada Lovelace"
