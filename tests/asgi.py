"""ASGI helpers for the async adapter tests: the lifespan protocol as a server runs it, apps."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from thrift_bridge import AsyncClient
from thrift_bridge.adapters.starlette import CancelOnDisconnect, thrift_client, thrift_lifespan

from .test_async_client import open_fds

#: Bound on anything a test awaits that could hang if the code under test were wrong.
BOUND = 10.0
#: The pooled client of the "alltypes" alias, as a view declares it.
AllTypesClient = Annotated[AsyncClient, Depends(thrift_client("alltypes"))]


def readme_example(heading: str, url: str) -> str:
    """The first Python block under `heading` in README.md, calling `url` instead of :9090."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = text[text.index(f"\n{heading}\n") :]
    block = section[section.index("```python\n") + 10 :]
    return block[: block.index("```")].replace("tcp://127.0.0.1:9090", url)


async def get_then_hang_up(
    app: Any, path: str, in_call: threading.Event | None
) -> list[dict[str, Any]]:
    """GET `path` from `app` straight through ASGI, as a server would, the client hanging up
    once `in_call` is set (by the Thrift server's handler), or staying (``None``: a whole
    request); the messages the app sent."""
    loop = asyncio.get_running_loop()
    called = asyncio.Event()
    waiter = None
    if in_call is not None:
        waiter = threading.Thread(
            target=lambda: in_call.wait(BOUND) and loop.call_soon_threadsafe(called.set),
            daemon=True,
        )
        waiter.start()
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.wait_for(called.wait(), BOUND)
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    await asyncio.wait_for(app(scope, receive, send), BOUND)
    if waiter is not None:
        waiter.join(BOUND)
    return sent


class StartupFailed(Exception):
    """The app answered ``lifespan.startup.failed``; the message is the app's."""


class Lifespan:
    """``async with Lifespan(app):`` runs the ASGI lifespan protocol as uvicorn does."""

    def __init__(self, app: Any):
        self.app = app
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _expect(self, phase: str) -> None:
        await self.inbox.put({"type": f"lifespan.{phase}"})
        message = await asyncio.wait_for(self.outbox.get(), BOUND)
        if message["type"] == f"lifespan.{phase}.failed":
            raise StartupFailed(message.get("message", ""))
        assert message["type"] == f"lifespan.{phase}.complete", message

    async def __aenter__(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        scope["state"] = {}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self.outbox.put))
        try:
            await self._expect("startup")
        except BaseException:
            await self._finish()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._expect("shutdown")
        await self._finish()

    async def _finish(self) -> None:
        assert self.task is not None
        with contextlib.suppress(Exception):  # Starlette re-raises a failed startup
            await asyncio.wait_for(self.task, BOUND)


def slow_app() -> FastAPI:
    """An app over ``ALLTYPES_URL`` (a pool of ``POOL_SIZE``, default one) counting the calls a
    disconnect cancelled; ``/stats`` also says which process answered and what it holds."""
    config = {
        "alltypes": {
            "service": "tests.generated.alltypes.AllTypes",
            "url": os.environ["ALLTYPES_URL"],
            "pool_size": int(os.environ.get("POOL_SIZE", "1")),
            "retries": 0,
        }
    }
    app = FastAPI(lifespan=thrift_lifespan(config))
    app.add_middleware(CancelOnDisconnect)
    app.state.cancelled = 0

    @app.get("/slow/{value}")
    async def slow(value: str, client: AllTypesClient) -> dict[str, str]:
        try:
            return {"value": await client.slow_echo(value, 0.0)}
        except asyncio.CancelledError:
            app.state.cancelled += 1
            raise

    @app.get("/stats")
    async def stats(client: AllTypesClient) -> dict[str, int]:
        for _ in range(10):  # the request before this one on the connection ends its task
            await asyncio.sleep(0)
        held = {"pid": os.getpid(), "tasks": len(asyncio.all_tasks()), "fds": open_fds()}
        return {"cancelled": app.state.cancelled, **held, **client.stats()}

    return app
