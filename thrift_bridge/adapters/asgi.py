"""`CancelOnDisconnect`: ASGI middleware cancelling a request whose client has gone away.

ASGI servers such as uvicorn tell the app about a closed connection with an
``http.disconnect`` message and let it run on; a Thrift call it awaits would finish for nobody.
Wrapped in this, the request's task is cancelled instead, as Django's own ASGI handler does
since Django 5.0, and `AsyncClient` abandons the call cleanly (the connection drains the late
reply by sequence id before it carries another call). No framework is needed::

    app = CancelOnDisconnect(app)            # any ASGI app
    app.add_middleware(CancelOnDisconnect)   # Starlette, FastAPI

Written here rather than taken from a package: it is about sixty lines, and the candidates
found (fastapi-disconnect) are young, little used and tied to one framework.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["CancelOnDisconnect"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

_DISCONNECT: dict[str, Any] = {"type": "http.disconnect"}
#: Messages after which the response is complete: a disconnect then cancels nothing.
_LAST = ("http.response.body", "http.response.pathsend")


class CancelOnDisconnect:
    """Run each HTTP request in a task of its own and cancel it when its client disconnects.

    A disconnect is seen once the app has taken the request body (or did not need to); a
    disconnect after the response was sent cancels nothing, so background tasks run on.
    Other scopes (lifespan, websocket) pass through untouched.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Exchange(receive, send).run(self.app, scope)


class _Exchange:
    """One HTTP request: the app's task, and a listener that owns the server's `receive`."""

    def __init__(self, receive: Receive, send: Send):
        self._server_receive = receive
        self._server_send = send
        #: Messages for the app; one slot, so an unread large body is not read ahead.
        self._inbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        self._responded = False
        self._disconnected = False
        self._task: asyncio.Future[None] | None = None

    async def run(self, app: ASGIApp, scope: MutableMapping[str, Any]) -> None:
        """Run `app`; return quietly if it was cancelled because the client went away."""
        task = self._task = asyncio.ensure_future(app(scope, self._receive, self._send))
        listener = asyncio.ensure_future(self._listen())
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:  # the server cancels us: the app first, then us
            task.cancel()
            await asyncio.wait({task})
            raise
        finally:
            listener.cancel()
            await asyncio.wait({listener})
        if task.cancelled() and self._disconnected:
            return  # nobody is left to answer
        task.result()  # the app's own outcome: its exception, or its own cancellation

    async def _listen(self) -> None:
        """Hand the server's messages to the app; on a disconnect, cancel the app's task."""
        while True:
            message = await self._server_receive()
            if message["type"] == "http.disconnect":
                self._disconnected = True
                if not self._responded and self._task is not None:
                    self._task.cancel()
                with contextlib.suppress(asyncio.QueueFull):  # full: _receive answers it
                    self._inbox.put_nowait(message)
                return
            await self._inbox.put(message)

    async def _receive(self) -> Message:
        if self._disconnected and self._inbox.empty():
            return dict(_DISCONNECT)
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        if message["type"] in _LAST and not message.get("more_body", False):
            self._responded = True
        await self._server_send(message)
