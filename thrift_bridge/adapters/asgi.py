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
import sys
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
    """Cancel the task running an HTTP request when its client disconnects.

    A disconnect is seen once the app has taken the request body (or did not need to); a
    disconnect after the response was sent cancels nothing, so background tasks run on.
    Other scopes (lifespan, websocket) pass through untouched.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        """Run the app on one connection's scope, cancelled if an HTTP client disconnects."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Exchange(receive, send).run(self.app, scope)


class _Exchange:
    """One HTTP request: the app runs in the server's task; a listener owns `receive`."""

    def __init__(self, receive: Receive, send: Send):
        self._server_receive = receive
        self._server_send = send
        #: Messages for the app; one slot, so an unread large body is not read ahead.
        self._inbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        self._responded = False
        self._disconnected = False
        self._cancelled = False

    async def run(self, app: ASGIApp, scope: MutableMapping[str, Any]) -> None:
        """Run `app`; return quietly if it was cancelled because the client went away.

        The app runs in the current task (one task fewer per request than running it in a
        task of its own); the listener cancels this task, and only while the app runs in it.
        """
        task = asyncio.current_task()
        assert task is not None
        listener = asyncio.ensure_future(self._listen(task))
        try:
            await app(scope, self._receive, self._send)
        except asyncio.CancelledError:
            if not self._cancelled:
                raise
            if sys.version_info >= (3, 11):
                if task.uncancel():  # the server cancelled us too: that one goes on
                    raise
            # Before 3.11 a cancellation by the server in the same instant cannot be told
            # apart from ours; the client has gone either way.
        finally:
            listener.cancel()
            # Gone before the request returns (a cancellation of ours still ends this wait).
            await asyncio.wait({listener})

    async def _listen(self, task: asyncio.Task[Any]) -> None:
        """Hand the server's messages to the app; on a disconnect, cancel the app's task."""
        while True:
            message = await self._server_receive()
            if message["type"] == "http.disconnect":
                self._disconnected = True
                if not self._responded:
                    self._cancelled = True
                    task.cancel()
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
