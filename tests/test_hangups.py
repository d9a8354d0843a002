"""Clients that hang up mid-call, again and again, in every async adapter and under uvicorn with
several workers: each call is cancelled, the next call gets its own answer, and nothing is left
behind (tasks, file descriptors, busy connections)."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from typing import Any, Callable

import django
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from django.core.handlers.asgi import ASGIHandler
from django.test import override_settings

from thrift_bridge import AsyncClient
from thrift_bridge.adapters.aiohttp import THRIFT_CLIENTS, setup
from thrift_bridge.adapters.asgi import CancelOnDisconnect
from thrift_bridge.adapters.django import aclients
from thrift_bridge.adapters.starlette import get_clients

from .asgi import BOUND, Lifespan, get_then_hang_up, slow_app
from .django_project import views
from .generated.alltypes import AllTypes
from .gunicorn import Uvicorn, pid_alive
from .test_async_client import open_fds, settled_fds
from .test_starlette import ALLTYPES, http

pytestmark = pytest.mark.anyio
#: Hang-ups per test: each holds a connection of its own until the server answers.
HANGUPS = 5


def forget_arrivals(handler: Any) -> None:
    """Calls that arrived so far are not counted by `all_arrived`."""
    while handler.arrived.acquire(blocking=False):
        pass


def all_arrived(handler: Any) -> bool:
    """Whether `HANGUPS` more calls arrived at the held server (bounded, blocking)."""
    return all(handler.arrived.acquire(timeout=BOUND) for _ in range(HANGUPS))


async def fds_at_rest(url: str) -> int:
    """The process's fd count once the loop has made its own lazy descriptors (uvloop's, for
    a connection and a wake-up from another thread) and a warm-up connection has closed."""
    async with AsyncClient(AllTypes, url) as warm:
        assert await asyncio.wait_for(warm.add(1, 1), BOUND) == 2
    await asyncio.to_thread(asyncio.get_running_loop().call_soon_threadsafe, lambda: None)
    return await settled_fds(open_fds() - 1)  # the server's end of the warm-up connection


async def drained(stats: Callable[[], Any]) -> dict[str, Any]:
    """`stats()` (awaited if need be) once every abandoned call's reply has been drained (its
    share of the connection given back), or after a bound."""
    for _ in range(200):
        now = stats()
        if inspect.isawaitable(now):
            now = await now
        if now["in_use"] == 0:
            break
        await asyncio.sleep(0.01)
    return now


async def hang_up_together(app: Any, path: str, handler: Any) -> list[list[dict[str, Any]]]:
    """`HANGUPS` requests to `app` at once, all hung up once every one's Thrift call has
    arrived (each on a connection of its own); the messages each request was sent."""
    forget_arrivals(handler)
    all_in = threading.Event()

    def count() -> None:
        if all_arrived(handler):
            all_in.set()

    counter = threading.Thread(target=count, daemon=True)
    counter.start()
    try:
        paths = [f"{path}{n}" for n in range(HANGUPS)]
        return list(await asyncio.gather(*(get_then_hang_up(app, p, all_in) for p in paths)))
    finally:
        counter.join(BOUND)


async def test_one_listener_task_per_request_and_none_left_after_it(held_server):
    """The README's cost: one task per request while it runs, gone when it returns, also when a
    disconnect cancelled it."""
    server, handler = held_server
    fds = await fds_at_rest(server.url)
    client = AsyncClient(AllTypes, server.url, pool_size=HANGUPS, retries=0)
    during: list[int] = []

    async def app(scope, receive, send):
        during.append(len(asyncio.all_tasks()))
        value = await client.slow_echo(scope["path"].strip("/"), 0.0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": value.encode()})

    handler.release.set()  # answered at once: two whole requests, bare and wrapped
    assert await asyncio.wait_for(client.slow_echo("warm", 0.0), BOUND) == "warm"
    before = len(asyncio.all_tasks())
    bare = await get_then_hang_up(app, "/bare", None)
    wrapped = await get_then_hang_up(CancelOnDisconnect(app), "/wrapped", None)
    assert [m.get("body") for m in bare + wrapped] == [None, b"bare", None, b"wrapped"]
    assert during[1] - during[0] == 1  # the listener
    assert len(asyncio.all_tasks()) == before  # and no task outlives its request

    handler.release.clear()
    sent = await hang_up_together(CancelOnDisconnect(app), "/gone", handler)
    assert sent == [[]] * HANGUPS  # no response for clients that left
    assert len(asyncio.all_tasks()) == before
    handler.release.set()  # the abandoned replies arrive now and are drained
    assert await asyncio.wait_for(client.slow_echo("after", 0.0), BOUND) == "after"
    assert (await drained(client.stats))["in_use"] == 0
    await client.aclose()
    assert len(asyncio.all_tasks()) == before
    assert await settled_fds(fds) <= fds  # every connection closed, at both ends


async def test_fastapi_hang_ups_cancel_every_call_and_leave_nothing(held_server, monkeypatch):
    server, handler = held_server
    monkeypatch.setenv("ALLTYPES_URL", server.url)
    monkeypatch.setenv("POOL_SIZE", str(HANGUPS))
    app = slow_app()
    fds = await fds_at_rest(server.url)
    async with Lifespan(app), http(app) as web_client:
        handler.release.set()
        assert (await web_client.get("/slow/warm")).json() == {"value": "warm"}
        handler.release.clear()
        tasks = len(asyncio.all_tasks())
        sent = await hang_up_together(app, "/slow/gone", handler)
        assert sent == [[]] * HANGUPS
        assert app.state.cancelled == HANGUPS
        assert len(asyncio.all_tasks()) == tasks
        handler.release.set()
        after = await asyncio.wait_for(web_client.get("/slow/after"), BOUND)
        assert after.json() == {"value": "after"}

        async def app_stats() -> dict[str, Any]:
            return (await web_client.get("/stats")).json()

        stats = await drained(app_stats)
        assert (stats["in_use"], stats["cancelled"]) == (0, HANGUPS)
        assert stats["open"] <= HANGUPS
        assert len(asyncio.all_tasks()) == tasks
        client = get_clients(app)["alltypes"]
    assert client.closed
    assert await settled_fds(fds) <= fds  # every Thrift connection closed at shutdown


async def test_aiohttp_hang_ups_cancel_every_call_and_leave_nothing(held_server):
    """aiohttp's own server and client: each client request cancelled mid-call closes its
    connection; after cleanup every task and descriptor is gone."""
    server, handler = held_server
    cancelled: list[str] = []

    async def slow(request):
        client = request.app[THRIFT_CLIENTS]["alltypes"]
        try:
            return web.Response(text=await client.slow_echo(request.match_info["value"], 0.0))
        except asyncio.CancelledError:
            cancelled.append(request.match_info["value"])
            raise

    app = web.Application()
    setup(app, {"alltypes": {"service": ALLTYPES, "url": server.url, "pool_size": HANGUPS}})
    app.router.add_get("/slow/{value}", slow)
    fds, tasks = await fds_at_rest(server.url), len(asyncio.all_tasks())
    async with TestClient(TestServer(app, handler_cancellation=True)) as web_client:
        forget_arrivals(handler)
        paths = [f"/slow/gone{n}" for n in range(HANGUPS)]
        requests = [asyncio.ensure_future(web_client.get(path)) for path in paths]
        assert await asyncio.to_thread(all_arrived, handler)
        for request in requests:
            request.cancel()  # closes its connection to the server
        for request in requests:
            with pytest.raises(asyncio.CancelledError):
                await request
        for _ in range(100):  # bounded: the server sees each close within a few ms
            if len(cancelled) == HANGUPS:
                break
            await asyncio.sleep(0.01)
        assert sorted(cancelled) == [f"gone{n}" for n in range(HANGUPS)]
        handler.release.set()
        after = await asyncio.wait_for(web_client.get("/slow/after"), BOUND)
        assert await after.text() == "after"
        client = app[THRIFT_CLIENTS]["alltypes"]
        assert (await drained(client.stats))["in_use"] == 0
    assert client.closed
    assert len(asyncio.all_tasks()) == tasks
    assert await settled_fds(fds) <= fds


@pytest.mark.skipif(django.VERSION < (5, 0), reason="Django cancels on disconnect from 5.0 on")
@pytest.mark.usefixtures("django_setup")
async def test_django_hang_ups_cancel_every_call_and_leave_nothing(held_server):
    server, handler = held_server
    config = {"alltypes": {"SERVICE": ALLTYPES, "URL": server.url, "POOL_SIZE": HANGUPS}}
    fds, tasks = await fds_at_rest(server.url), len(asyncio.all_tasks())
    with override_settings(THRIFT_BRIDGE=config):
        views.CANCELLED.clear()
        sent = await hang_up_together(ASGIHandler(), "/async/slow/gone", handler)
        assert sent == [[]] * HANGUPS
        assert sorted(views.CANCELLED) == [f"gone{n}" for n in range(HANGUPS)]
        assert len(asyncio.all_tasks()) == tasks
        handler.release.set()
        client = aclients["alltypes"]
        assert await asyncio.wait_for(client.slow_echo("after", 0.0), BOUND) == "after"
        assert (await drained(client.stats))["in_use"] == 0
    assert client.closed  # override_settings' end closed it

    assert await settled_fds(fds) <= fds


class Worker:
    """Keep-alive HTTP connections that one uvicorn worker accepted (a connection stays with
    the worker that accepted it): the first asks for stats, the others hang up mid-call."""

    def __init__(self, pid: int):
        self.pid = pid
        self.connections: list[HTTPConnection] = []

    def get(self, path: str) -> dict[str, Any]:
        """GET `path` on the stats connection: its JSON."""
        return get_json(self.connections[0], path)

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


def get_json(connection: HTTPConnection, path: str) -> dict[str, Any]:
    connection.request("GET", path)
    with connection.getresponse() as response:
        assert response.status == 200, response.read()
        return json.loads(response.read())


def connect_to_workers(port: int, workers: int, each: int) -> dict[int, Worker]:
    """`each` connections to every one of `workers` worker processes (bounded in time)."""
    found: dict[int, Worker] = {}

    def connect(_: int) -> tuple[int, HTTPConnection]:
        connection = HTTPConnection("127.0.0.1", port, timeout=BOUND)
        return get_json(connection, "/stats")["pid"], connection

    deadline = time.monotonic() + 30  # bounded: a worker may still be starting
    with ThreadPoolExecutor(8) as pool:
        while time.monotonic() < deadline:
            for pid, connection in pool.map(connect, range(8)):
                worker = found.setdefault(pid, Worker(pid))
                if len(worker.connections) < each:
                    worker.connections.append(connection)
                else:
                    connection.close()
            if len(found) == workers and all(len(w.connections) == each for w in found.values()):
                break
    return found


def test_uvicorn_workers_cancel_every_hung_up_call_and_keep_nothing(held_server):
    """uvicorn with 2 workers: clients of each worker hang up mid-call; every call is cancelled
    in its worker, whose next call answers rightly, and no worker keeps a task, a descriptor
    or a busy connection it did not have before."""
    server, handler = held_server
    per_worker = 2
    env = {"ALLTYPES_URL": server.url, "POOL_SIZE": str(per_worker + 1)}
    keep_alive = ("--timeout-keep-alive", "60")  # the test's connections stay with their worker
    web_server = Uvicorn("tests.asgi:slow_app", env, "/stats", 2, True, keep_alive)
    workers: dict[int, Worker] = {}
    try:
        workers = connect_to_workers(web_server.port, 2, 1 + per_worker)
        assert len(workers) == 2, f"reached workers {sorted(workers)}; {web_server.log_tail()}"
        assert all(len(w.connections) == 1 + per_worker for w in workers.values())
        handler.release.set()  # a whole call first: what a worker keeps per event loop
        for pid, worker in workers.items():
            assert worker.get(f"/slow/warm-{pid}") == {"value": f"warm-{pid}"}
        handler.release.clear()
        forget_arrivals(handler)
        before = {pid: worker.get("/stats") for pid, worker in workers.items()}
        for worker in workers.values():
            for n, connection in enumerate(worker.connections[1:]):
                connection.putrequest("GET", f"/slow/{worker.pid}-{n}")
                connection.endheaders()
        for _ in range(2 * per_worker):
            assert handler.arrived.acquire(timeout=BOUND), web_server.log_tail()
        for worker in workers.values():
            for connection in worker.connections[1:]:
                connection.close()  # the client hangs up
        for worker in workers.values():
            stats: dict[str, Any] = {}
            for _ in range(100):  # bounded: a worker notices a close within a few ms
                stats = worker.get("/stats")
                if stats["cancelled"] == per_worker:
                    break
                handler.started.wait(0.05)
            assert stats["cancelled"] == per_worker, web_server.log_tail()
        handler.release.set()  # the abandoned replies arrive and are drained
        for pid, worker in workers.items():
            assert worker.get(f"/slow/after-{pid}") == {"value": f"after-{pid}"}
            kept = before[pid]["tasks"], before[pid]["fds"] - before[pid]["open"]
            for _ in range(100):  # bounded: abandoned replies drain, the last request ends
                stats = worker.get("/stats")
                settled = stats["tasks"] == kept[0] and stats["fds"] - stats["open"] <= kept[1]
                if settled and stats["in_use"] == 0:  # every abandoned reply drained too
                    break
                handler.started.wait(0.02)
            assert stats["in_use"] == 0
            assert stats["tasks"] == kept[0]
            assert stats["fds"] - stats["open"] <= kept[1]
        assert "Exception in ASGI application" not in web_server.log_tail(20000)
    finally:
        for worker in workers.values():
            worker.close()
        web_server.stop()
    assert not any(pid_alive(pid) for pid in workers)
