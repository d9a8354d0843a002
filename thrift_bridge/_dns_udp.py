"""dnspython's asyncio backend with a datagram socket that no cancellation leaves open.

dnspython makes each UDP query's socket with ``loop.create_datagram_endpoint``. On uvloop
that call, cancelled while it waits for its transport to be ready, returns the cancellation
and leaves the transport open (asyncio's own loop closes it); a uvloop loop closed with such
a transport open warns of it, and where warnings are errors its ``close()`` waits for good.
A lookup is cancelled whenever its client closes, at any point of it.

Here the socket is a plain non-blocking one, made without a pause: dnspython enters its
``async with`` on it before a cancellation can land, and so always closes it. Sends and
receives wait on the loop's reader and writer callbacks, which every loop on Unix has. This
is the one piece of dnspython's I/O done by hand; the queries, retries and parsing stay its.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import dns._asyncbackend  # what dns.asyncbackend re-exports, typed where it is defined
import dns.asyncbackend
import dns.exception

__all__ = ["backend"]


class _DatagramSocket(dns._asyncbackend.DatagramSocket):
    """One UDP socket, closed by `close()` (dnspython's ``async with``)."""

    def __init__(self, family: int, source: Any):
        super().__init__(family, socket.SOCK_DGRAM)
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self._sock.setblocking(False)
            if source is not None:
                self._sock.bind(source)
        except BaseException:
            self._sock.close()
            raise

    async def sendto(self, what: bytes, destination: Any, timeout: float | None) -> int:
        while True:
            try:
                return self._sock.sendto(what, destination)
            except BlockingIOError:  # the send buffer is full: rare for one query
                await self._ready(timeout, writing=True)

    async def recvfrom(self, size: int, timeout: float | None) -> tuple[bytes, Any]:
        while True:
            try:
                return self._sock.recvfrom(size)
            except BlockingIOError:
                await self._ready(timeout, writing=False)

    async def _ready(self, timeout: float | None, *, writing: bool) -> None:
        """Wait until the socket can be written (or read), within `timeout`."""
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = self._sock.fileno()
        watch, unwatch = (
            (loop.add_writer, loop.remove_writer)
            if writing
            else (loop.add_reader, loop.remove_reader)
        )

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        watch(fd, wake)
        try:
            await asyncio.wait_for(ready, timeout)
        except asyncio.TimeoutError:
            raise dns.exception.Timeout(timeout=timeout) from None  # type: ignore[no-untyped-call]
        finally:
            unwatch(fd)

    async def close(self) -> None:
        self._sock.close()

    async def getpeername(self) -> Any:
        return self._sock.getpeername()

    async def getsockname(self) -> Any:
        return self._sock.getsockname()


class _Backend(type(dns.asyncbackend.get_backend("asyncio"))):  # type: ignore[misc]
    """dnspython's asyncio backend, its UDP sockets ours (TCP, for long answers, its own)."""

    async def make_socket(
        self, af: int, socktype: int, proto: int = 0, source: Any = None, *args: Any, **kw: Any
    ) -> Any:
        if socktype == socket.SOCK_DGRAM:
            return _DatagramSocket(af, source)
        return await super().make_socket(af, socktype, proto, source, *args, **kw)

    def datagram_connection_required(self) -> bool:
        return False  # each send names its destination


#: The backend to hand dnspython's asyncio resolver (``resolve(..., backend=backend)``).
backend = _Backend()
