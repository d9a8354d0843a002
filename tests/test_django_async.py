"""Django async views: `aclients` and `request.thrift` with Django's AsyncClient, and uvicorn."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request

import django
import pytest
from asgiref.sync import iscoroutinefunction
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient as DjangoAsyncClient
from django.test import Client as DjangoClient
from django.test import override_settings

from thrift_bridge import AsyncClient, ConfigError
from thrift_bridge.adapters.django import ThriftClientMiddleware, aclients
from thrift_bridge.testing import serve

from .asgi import BOUND, get_then_hang_up
from .conftest import CALC
from .django_project import views
from .generated.calculator import Calculator
from .gunicorn import Uvicorn, pid_alive, pids_answering
from .handlers import CalculatorHandler
from .test_starlette import ALLTYPES

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("django_setup")]


async def get(path: str, **kwargs):
    """A response of Django's async test client (bounded)."""
    return await asyncio.wait_for(DjangoAsyncClient(**kwargs).get(path), BOUND)


async def test_async_views_call_through_request_thrift_and_aclients(calc_settings):
    response = await get("/async/add/2/3")
    assert response.content == b"5 5 AsyncClient"
    assert isinstance(aclients["calc"], AsyncClient)
    assert aclients["calc"] is aclients["calc"]
    assert aclients["calc"].stats()["in_use"] == 0


async def test_a_sync_view_under_the_async_stack_gets_the_sync_client(calc_settings):
    assert (await get("/kind")).content == b"Client"
    assert (await get("/add/4/5")).content == b"9"


def test_a_sync_view_under_wsgi_gets_the_sync_client(calc_settings):
    assert DjangoClient().get("/kind").content == b"Client"


def test_async_views_under_wsgi_run_on_a_loop_of_their_own(calc_settings):
    """Django runs them with async_to_sync: each request's loop has its own pools, closed
    with the loop; a connection left pinned there is not touched after the loop ended."""
    web = DjangoClient(raise_request_exception=False)
    assert web.get("/async/add/2/3").content == b"5 5 AsyncClient"
    assert web.get("/async/pinned/1").content == b"2 3 in_use=1"
    assert web.get("/async/pinned-then-fail").status_code == 500
    stats = aclients["calc"].stats()
    assert (stats["open"], stats["in_use"]) == (0, 0)


async def test_the_middleware_is_async_capable_and_runs_without_a_thread_hop():
    assert ThriftClientMiddleware.async_capable
    assert ThriftClientMiddleware.sync_capable
    here = threading.get_ident()

    async def get_response(request):
        return request.thrift, threading.get_ident()

    middleware = ThriftClientMiddleware(get_response)
    assert iscoroutinefunction(middleware)  # what Django checks to build an async stack
    request = type("Request", (), {})()
    thrift, thread = await middleware(request)
    assert (thrift, thread) == (request.thrift, here)
    assert not iscoroutinefunction(ThriftClientMiddleware(lambda request: None))


async def test_pinned_connection_in_an_async_view_released_also_after_errors(calc_settings):
    assert (await get("/async/pinned/10")).content == b"11 12 in_use=1"
    assert aclients["calc"].stats()["in_use"] == 0
    failed = await get("/async/pinned-then-fail", raise_request_exception=False)
    assert failed.status_code == 500
    stats = aclients["calc"].stats()
    assert (stats["in_use"], stats["discarded"]) == (0, 0)
    assert (await get("/async/add/1/1")).content == b"2 2 AsyncClient"


async def test_unknown_alias_in_an_async_view_lists_the_configured(calc_settings):
    assert (await get("/async/missing-alias")).content == (
        b"no Thrift client 'nope' in settings.THRIFT_BRIDGE (configured: calc)"
    )
    with pytest.raises(ConfigError, match=r"under 'nope' \(configured: calc\)"):
        aclients["nope"]


async def test_override_settings_rebuilds_async_clients(calc_settings):
    first = aclients["calc"]
    assert await first.add(1, 2) == 3
    with serve(Calculator.Processor(CalculatorHandler()), protocol="compact") as other:
        with override_settings(THRIFT_BRIDGE={"calc": {"SERVICE": CALC, "URL": other.url}}):
            assert first.closed
            assert aclients["calc"].endpoints[0].protocol == "compact"
            assert await aclients["calc"].add(3, 4) == 7
    assert aclients["calc"].endpoints[0].protocol == "binary"


async def test_many_concurrent_async_requests_share_the_pool(calc_settings):
    web = DjangoAsyncClient()
    responses = await asyncio.wait_for(
        asyncio.gather(*(web.get(f"/async/add/{n}/{n}") for n in range(40))), BOUND
    )
    assert [r.content.split()[0] for r in responses] == [str(2 * n).encode() for n in range(40)]
    stats = aclients["calc"].stats()
    assert stats["open"] <= 4  # calc_settings' POOL_SIZE
    assert stats["in_use"] == 0


@pytest.mark.skipif(django.VERSION < (5, 0), reason="Django cancels on disconnect from 5.0 on")
async def test_a_disconnect_cancels_the_async_views_call_cleanly(held_server):
    """Django's ASGI handler, called as a server would: the client leaves mid-call."""
    server, handler = held_server
    config = {"alltypes": {"SERVICE": ALLTYPES, "URL": server.url, "POOL_SIZE": 1}}
    with override_settings(THRIFT_BRIDGE=config):
        views.CANCELLED.clear()
        sent = await get_then_hang_up(ASGIHandler(), "/async/slow/first", handler.started)
        assert views.CANCELLED == ["first"]
        assert sent == []
        handler.release.set()  # the abandoned reply comes now and is drained
        assert (await get("/async/slow/second")).content == b"second"
        stats = aclients["alltypes"].stats()
        assert (stats["open"], stats["in_use"]) == (1, 0)
    aclients.reset()


def test_example_under_uvicorn_with_3_workers(demo_server):
    env = {
        "CUSTOMERS_THRIFT_URL": demo_server.url,
        "DJANGO_SETTINGS_MODULE": "examples.django_app.settings",
    }
    web = Uvicorn("examples.django_app.asgi:application", env, "/api/async/customers/1")
    try:
        pids = pids_answering(web.url("/api/async/customers/1"))
        assert len(pids) >= 2, f"only {pids} answered; {web.log_tail()}"
        assert demo_server.connections_accepted >= len(pids)  # each worker its own connections
        with urllib.request.urlopen(web.url("/api/async/customers/1"), timeout=BOUND) as r:
            assert [a["id"] for a in json.loads(r.read())["accounts"]] == [101, 102]
        with urllib.request.urlopen(web.url("/api/customers/2"), timeout=BOUND) as r:
            assert json.loads(r.read())["customer"]["name"] == "Alan Turing"  # a sync view
        with urllib.request.urlopen(web.url("/?customer_id=3"), timeout=BOUND) as r:
            assert b"Grace Hopper" in r.read()
        for path in ("/api/async/customers/" + "9" * 30, "/api/customers/" + "9" * 30):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(web.url(path), timeout=BOUND)
            assert refused.value.code == 422  # ArgumentError: the IDL's i64 cannot carry it
            refused.value.close()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(web.url("/api/async/customers/999"), timeout=BOUND)
        assert missing.value.code == 404
        missing.value.close()
        with pytest.raises(urllib.error.HTTPError) as out_of_range:
            urllib.request.urlopen(web.url("/?customer_id=" + "9" * 30), timeout=BOUND)
        assert out_of_range.value.code == 422
        assert b"That customer number is out of range." in out_of_range.value.read()
        out_of_range.value.close()
    finally:
        web.stop()
    assert not any(pid_alive(pid) for pid in pids)
