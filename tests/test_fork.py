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
