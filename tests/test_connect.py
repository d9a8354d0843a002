"""`_wire._connect` on real sockets: connecting within the connect timeout; the sync and async
clients' connect errors worded alike (one `connect_failure`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time

import pytest

from thrift_bridge import AsyncClient, Client, ConnectError, ConnectTimeout
from thrift_bridge.testing import serve

from .aio import bounded, until
from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler


def _full_unix_listener(path: str) -> tuple[socket.socket, list[socket.socket]]:
    """A unix listener nobody accepts on, its backlog filled by connections left pending."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(0)
    pending: list[socket.socket] = []
    for _ in range(64):  # the kernel takes backlog + 1; bounded
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(path)
        except BlockingIOError:
            sock.close()
            return listener, pending
        pending.append(sock)
    raise AssertionError("the listen backlog never filled")


def test_a_unix_connect_waits_for_room_in_a_full_backlog_and_times_out_as_a_timeout(socket_dir):
    path = f"{socket_dir}/full.sock"
    listener, pending = _full_unix_listener(path)
    try:
        url = f"unix://{path}?connect_timeout=0.3"
        with Client(AllTypes, url, retries=0) as client:
            start = time.monotonic()
            # A non-blocking connect would fail at once with EAGAIN ("Resource temporarily
            # unavailable", a ConnectError): this one waited in the kernel for room.
            with pytest.raises(ConnectTimeout, match=r"connect_timeout=0\.3s"):
                client.add(1, 2)
            assert time.monotonic() - start >= 0.25
        # Room in the backlog: the next connect goes through and is answered by its accept.
        listener.accept()[0].close()
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.settimeout(5)
        extra.connect(path)
        extra.close()
    finally:
        for sock in pending:
            sock.close()
        listener.close()


def test_a_unix_connect_interrupted_in_its_wait_is_not_taken_for_connected(socket_dir):
    """Once uvloop has run in the process, a unix connect waiting for room in a full backlog
    returns EINTR (no signal is delivered: work libuv left for the thread, it seems); Python
    then reports the connect done, as it would a TCP connect finishing in the background,
    though nothing is connected (the send failed with ENOTCONN). The connect is checked and
    made again: the call times out as a timeout."""
    uvloop = pytest.importorskip("uvloop")

    async def nothing() -> None:
        await asyncio.sleep(0)

    uvloop.run(nothing())
    path = f"{socket_dir}/full.sock"
    listener, pending = _full_unix_listener(path)
    try:
        with Client(AllTypes, f"unix://{path}?connect_timeout=0.3", retries=0) as client:
            with pytest.raises(ConnectTimeout, match=r"connect_timeout=0\.3s"):
                client.add(1, 2)
    finally:
        for sock in pending:
            sock.close()
        listener.close()


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _failures(url: str, **options: object) -> tuple[ConnectError, ConnectError]:
    """What the sync and the async client raise for a call to `url` that cannot connect."""
    with Client(AllTypes, url, retries=0, **options) as client:  # type: ignore[arg-type]
        with pytest.raises(ConnectError) as sync_error:
            client.add(1, 2)

    async def async_call() -> None:
        async with AsyncClient(AllTypes, url, retries=0, **options) as client:  # type: ignore[arg-type]
            await asyncio.wait_for(client.add(1, 2), 10)

    with pytest.raises(ConnectError) as async_error:
        asyncio.run(async_call())
    return sync_error.value, async_error.value


def test_sync_and_async_clients_word_a_refused_connect_alike():
    sync_error, async_error = _failures(f"tcp://127.0.0.1:{_closed_port()}?connect_timeout=5")
    assert type(sync_error) is type(async_error) is ConnectError
    assert str(sync_error) == str(async_error)
    assert "Connection refused" in str(sync_error)
    assert sync_error.endpoint == async_error.endpoint is not None


def test_sync_and_async_clients_word_a_failed_tls_handshake_alike(ca_file):
    with serve(AllTypes.Processor(AllTypesHandler())) as server:  # plain: no TLS spoken
        url = server.url.replace("tcp://", "tcps://", 1) + "?connect_timeout=5"
        sync_error, async_error = _failures(url, ca_certs=ca_file)
    assert type(sync_error) is type(async_error) is ConnectError
    # The same explanation and fix after the cause's own words (OpenSSL's EOF for the sync
    # socket, a reset for asyncio's).
    explained = ": the server closed the connection during the handshake; it may not speak TLS"
    assert str(sync_error).startswith("TLS failed: ")
    assert str(async_error).startswith("TLS failed: ")
    assert str(sync_error).split(explained)[1] == str(async_error).split(explained)[1]
    assert sync_error.endpoint == async_error.endpoint is not None


@pytest.mark.anyio
async def test_an_async_unix_connect_waits_for_room_in_a_full_backlog_then_connects(socket_dir):
    """As the sync client's: a full backlog is waited out within connect_timeout (a
    `ConnectTimeout` when it stays full), and a connect that gets room goes through."""
    path = f"{socket_dir}/full.sock"
    listener, pending = _full_unix_listener(path)
    try:
        url = f"unix://{path}?connect_timeout=0.3"
        async with AsyncClient(AllTypes, url, retries=0) as client:
            start = time.monotonic()
            with pytest.raises(ConnectTimeout, match=r"connect_timeout=0\.3s"):
                await asyncio.wait_for(client.add(1, 2), 10)
            assert time.monotonic() - start >= 0.25
        async with AsyncClient(AllTypes, f"unix://{path}?connect_timeout=10") as client:
            call = asyncio.ensure_future(client.add(1, 2))
            await asyncio.sleep(0.1)  # no event says "still waiting": give it time to go wrong
            assert not call.done()
            assert client.stats()["created"] == 0
            accepted, _ = listener.accept()  # room in the backlog
            await until(lambda: client.stats()["created"] == 1, "the waiting call connected")
            call.cancel()
            accepted.close()
    finally:
        for sock in pending:
            sock.close()
        listener.close()


def _open_sockets() -> int:
    """How many sockets this process has open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own, closed since
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def _full_tcp_listener() -> tuple[socket.socket, socket.socket]:
    """A TCP listener on 127.0.0.1 whose accept queue is full (backlog 0, one connection
    pending): the kernel drops the SYNs of any further connect, which then waits."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=5)
    return listener, filler


@pytest.mark.anyio
async def test_an_async_connect_waits_in_the_calling_task_and_times_out_there():
    """The connect timeout is the calling task's own: no task of its own for the connect,
    which a busy loop would have to turn to twice when the timeout came (Python 3.11's
    `asyncio.wait_for` made one, and ended a connect cut by a deadline milliseconds late
    among 256 tasks; 3.9 and 3.10 still do). A cancel from outside stays a cancel, and
    leaves no socket open."""
    listener, filler = _full_tcp_listener()
    try:
        url = f"tcp://127.0.0.1:{listener.getsockname()[1]}?connect_timeout=0.3"
        async with AsyncClient(AllTypes, url, retries=0) as client:
            tasks = len(asyncio.all_tasks())
            sockets = _open_sockets()
            call = asyncio.ensure_future(client.add(1, 2))
            most = 0
            for _ in range(200):  # bounded: the connect waits 0.3 s; each turn checks
                if call.done():
                    break
                most = max(most, len(asyncio.all_tasks()) - tasks)
                await asyncio.sleep(0.001)
            if sys.version_info >= (3, 11):  # before, only `wait_for`, which makes a task
                assert most == 1, "the connect ran in a task besides the caller's"
            with pytest.raises(ConnectTimeout, match=r"connect_timeout=0\.3s"):
                await bounded(call)

            call = asyncio.ensure_future(client.add(1, 2))
            await until(lambda: _open_sockets() == sockets + 1, "the connect under way")
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            assert client.stats()["created"] == 0
            assert _open_sockets() == sockets
    finally:
        filler.close()
        listener.close()
