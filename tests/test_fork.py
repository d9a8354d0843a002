"""fork() while connections are checked out or pinned: no process ever reads another's reply."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

import pytest

from thrift_bridge import Client, PoolError

from .generated.alltypes import AllTypes

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)


def in_child(work: Callable[[], str]) -> str:
    """Run `work` in a forked child; its result (or the exception it raised) as text."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            try:
                outcome = work()
            except BaseException as exc:  # reported to the parent, which asserts on it
                outcome = f"raised {type(exc).__name__}: {exc}"
            os.write(write_end, outcome.encode()[:4000])
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return b"".join(chunks).decode()


def test_the_child_drops_inherited_connections_and_the_parent_keeps_its_own(thrift_server):
    server = thrift_server("alltypes")
    with Client(AllTypes, server.url) as client:
        assert client.add(1, 1) == 2

        def child() -> str:  # must open its own connection and leave the parent's alone
            return f"answered {client.add(2, 2)}, created {client.stats()['created']}"

        assert in_child(child) == "answered 4, created 1"
        assert client.add(3, 3) == 6  # the parent's socket is untouched and still in step
        stats = client.stats()
    assert stats["created"] == 1
    assert stats["discarded"] == 0


@pytest.mark.parametrize("scheme", ["tcp", "unix"])
def test_a_connection_pinned_before_fork_refuses_calls_in_the_child(
    thrift_server, scheme, socket_dir
):
    kwargs = {"socket_path": os.path.join(socket_dir, "s.sock")} if scheme == "unix" else {}
    server = thrift_server("alltypes", scheme=scheme, **kwargs)
    with Client(AllTypes, server.url) as client:
        for _ in range(5):  # each round used to hand one process the other's answer
            with client.connection() as pinned:
                assert pinned.add(0, 0) == 0

                def child() -> str:
                    # The parent keeps using the socket; the child must not write a byte to it.
                    return f"answered {pinned.echo_string('child')!r}"

                outcome = in_child(child)
                assert outcome.startswith("raised PoolError: this connection was pinned before")
                nonce = secrets.token_hex(8)
                assert pinned.echo_string(nonce) == nonce  # still in step after the child left
                assert pinned.add(2, 3) == 5
        stats = client.stats()
    assert stats["discarded"] == 0
    assert stats["created"] == 1


def test_the_child_can_pin_its_own_connection_after_the_parents_refused(thrift_server):
    server = thrift_server("alltypes")
    with Client(AllTypes, server.url) as client, client.connection() as pinned:
        assert pinned.add(1, 1) == 2

        def child() -> str:
            with pytest.raises(PoolError):
                pinned.add(1, 2)
            with client.connection() as own:
                return f"answered {own.add(20, 22)}"

        assert in_child(child) == "answered 42"
        assert pinned.add(3, 4) == 7


def test_a_connection_checked_out_at_fork_is_abandoned_not_shut_down(thrift_server):
    """The child releasing an inherited connection closes only its own descriptor."""
    server = thrift_server("alltypes")
    with Client(AllTypes, server.url, pool_size=1) as client:
        pinned = client.connection()
        assert pinned.add(1, 1) == 2

        def child() -> str:
            pinned.release()  # would send FIN (shutdown) if it were not abandoned
            return f"stats {client.stats()['open']}"

        assert in_child(child) == "stats 0"
        assert pinned.add(5, 5) == 10  # the parent's socket still works
        pinned.release()
        assert client.add(1, 2) == 3
        assert client.stats()["created"] == 1


def test_flask_pinned_modes_refuse_the_parents_connection_in_a_child(thrift_server):
    from flask import Flask

    from thrift_bridge.adapters.flask import ThriftClient

    server = thrift_server("alltypes")
    app = Flask(__name__)
    app.config.update(THRIFTCLIENT_TRANSPORT=server.url, THRIFTCLIENT_ALWAYS_CONNECT=False)
    ext = ThriftClient(AllTypes.Client, app)
    with app.app_context(), ext.connect():
        assert ext.client.add(1, 1) == 2

        def child() -> str:
            return f"answered {ext.client.add(2, 2)}"

        assert in_child(child).startswith("raised PoolError: this connection was pinned")
        assert ext.client.add(3, 3) == 6
    with app.app_context():
        ext.transport.open()  # the seed's manual mode pins the same way
        assert in_child(lambda: f"answered {ext.client.add(4, 4)}").startswith("raised PoolError")
        assert ext.client.add(5, 5) == 10
        ext.transport.close()
    ext.close(app)


#: Seconds a forked child may take before it counts as hung (then it is killed by PID).
CHILD_BOUND = 10.0


def in_child_bounded(work: Callable[[], str]) -> tuple[int, str]:
    """Run `work` in a forked child: its exit status (0 when `work` returned) and its result
    or the exception it raised, as text. Every wait is bounded; a hung child is killed."""
    import select
    import signal
    import time

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            try:
                outcome, status = work(), 0
            except BaseException as exc:  # reported to the parent, which asserts on it
                outcome = f"raised {type(exc).__name__}: {exc}"
            os.write(write_end, outcome.encode()[:4000])
        finally:
            os._exit(status)
    os.close(write_end)
    chunks, ends = [], time.monotonic() + CHILD_BOUND
    try:
        while time.monotonic() < ends:
            if select.select([read_end], [], [], max(0.0, ends - time.monotonic()))[0]:
                chunk = os.read(read_end, 4096)
                if not chunk:
                    break
                chunks.append(chunk)
        while time.monotonic() < ends:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status), b"".join(chunks).decode()
            select.select([], [], [], 0.01)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError(f"the child {pid} did not finish in {CHILD_BOUND}s: killed")
    finally:
        os.close(read_end)


def test_an_async_clients_idle_pooled_connection_stays_the_parents(thrift_server):
    """A warm idle pooled connection of AsyncClient at fork: the child's call (a loop of its
    own, then aclose) opens its own and leaves the parent's socket alone; the parent's next
    call goes on that connection, in step."""
    import asyncio

    from thrift_bridge import AsyncClient

    server = thrift_server("alltypes")
    loop = asyncio.new_event_loop()
    try:
        client = AsyncClient(AllTypes, server.url)

        def on_loop(method: str, *args: object) -> object:
            """One call on the parent's loop (the coroutine made there), bounded."""

            async def call() -> object:
                return await asyncio.wait_for(getattr(client, method)(*args), CHILD_BOUND)

            return loop.run_until_complete(call())

        assert on_loop("add", 1, 1) == 2
        assert client.stats()["idle"] == 1

        def child() -> str:
            async def main() -> str:
                answer = await asyncio.wait_for(client.add(2, 2), CHILD_BOUND)
                created = client.stats()["created"]  # the child's own, as with Client
                await client.aclose()
                return f"answered {answer}, created {created}"

            return asyncio.run(main())

        status, outcome = in_child_bounded(child)
        assert (status, outcome) == (0, "answered 4, created 1")
        for _ in range(3):  # the parent's connection: still in step, never replaced
            nonce = secrets.token_hex(8)
            assert on_loop("echo_string", nonce) == nonce
        stats = client.stats()
        loop.run_until_complete(client.aclose())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    assert stats["created"] == 1
    assert stats["discarded"] == 0
