"""How a call ends (`_steps`, driven by `_calls` and `_async._calls`): keep or discard, retry or
raise, the same on every call path of both clients."""

from __future__ import annotations

import os
import random
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from thrift.Thrift import TApplicationException

from thrift_bridge import (
    Client,
    ConnectError,
    ProtocolError,
    ReadTimeout,
    TransportError,
)
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import BadInput
from .handlers import AllTypesHandler
from .misbehaving import serve_misbehaving
from .paths import KINDS, AsyncPath, SyncPath, public_type

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator

    from thrift_bridge.testing import LoopbackServer

#: The call timeout of the matrix: the "read timeout" server never answers, so each of those
#: cases waits this long; every other call is a loopback round trip well within it.
TIMEOUT = 1.0

# --- every call path x every way a call can fail ------------------------------------------

#: How a call fails: (id, method, positional arguments, argument names, what the caller
#: gets, what its message says, whether the connection is kept).
OUTCOMES = [
    ("read timeout", "echo_string", ("hang",), ("value",), ReadTimeout, "no complete reply", False),
    ("reset mid-reply", "echo_string", ("reset",), ("value",), TransportError, "reset by", False),
    ("malformed reply", "echo_string", ("garbage",), ("value",), ProtocolError, "malformed", False),
    ("declared exception", "raise_error", (1,), ("kind",), BadInput, "bad input", True),
    (
        "application exception",
        "raise_error",
        (3,),
        ("kind",),
        TApplicationException,
        "Internal",
        True,
    ),
]


PATHS = [(SyncPath, kind) for kind in KINDS] + [(AsyncPath, kind) for kind in KINDS]


@pytest.fixture
def misbehaving() -> Iterator[list[LoopbackServer]]:
    """Two misbehaving AllTypes servers (framed binary), stopped afterwards."""
    with serve_misbehaving() as one, serve_misbehaving() as two:
        yield [one, two]


@pytest.mark.parametrize(
    ("path_class", "kind"),
    PATHS,
    ids=[f"{'sync' if cls is SyncPath else 'async'} {kind}" for cls, kind in PATHS],
)
@pytest.mark.parametrize(
    ("method", "args", "names", "expected", "message", "kept"),
    [outcome[1:] for outcome in OUTCOMES],
    ids=[outcome[0] for outcome in OUTCOMES],
)
def test_every_call_path_ends_a_failed_call_the_same_way(
    misbehaving, path_class, kind, method, args, names, expected, message, kept
):
    """The caller gets the same exception, the connection is kept or discarded alike, stats
    show it, and the path's next call succeeds."""
    path = path_class(kind)
    urls = [server.url for server in misbehaving]
    path.open(urls if kind == "several endpoints" else urls[:1], timeout=TIMEOUT)
    try:
        with pytest.raises(expected, match=message) as caught:
            path.call(method, args, names)
        assert public_type(caught.value) is expected
        if kind == "middleware":
            assert path.seen == [expected]  # the middleware saw what the caller got
        discarded = 0 if kept else 1
        stats = path.stats_when(lambda s: s["discarded"] == discarded and not s["in_use"])
        assert stats["discarded"] == discarded
        assert stats["open"] == (1 if kept else 0)
        assert stats["in_use"] == 0
        assert stats["retries"] == 0  # the request was sent and is not idempotent
        assert path.call("echo_string", ("next",), ("value",)) == "next"
        if kept and kind != "several endpoints":  # (there the next call is the other's turn)
            assert path.client.stats()["created"] == 1  # the same connection answered it
    finally:
        path.close()


# --- what is retried -----------------------------------------------------------------------


@pytest.mark.parametrize("path_class", [SyncPath, AsyncPath], ids=["Client", "AsyncClient"])
@pytest.mark.parametrize("idempotent", [False, True], ids=["not idempotent", "idempotent"])
def test_a_request_lost_after_sending_is_retried_only_when_idempotent(path_class, idempotent):
    """A peer that reads each request and hangs up: only an idempotent method is sent again."""
    requests: list[bytes] = []

    def read_and_hang_up(conn: socket.socket) -> None:
        requests.append(conn.recv(65536))

    with serve_raw(read_and_hang_up) as raw:
        path = path_class("single endpoint")
        path.open([raw.url], retries=2, retry_backoff=0, idempotent={"add"} if idempotent else ())
        try:
            with pytest.raises(TransportError) as caught:
                path.call("add", (1, 2), ("a", "b"))
            sent = len(requests)
            stats = path.stats_when(lambda s: s["discarded"] == sent)
        finally:
            path.close()
    assert public_type(caught.value) is TransportError
    assert len(requests) == (3 if idempotent else 1)
    assert all(b"add" in request for request in requests)  # each a whole request, sent
    assert stats["retries"] == (2 if idempotent else 0)
    assert stats["discarded"] == len(requests)


def test_a_stopped_server_is_a_connect_error_and_once_back_every_call_succeeds(socket_dir):
    path = os.path.join(socket_dir, "stop.sock")
    handler = AllTypesHandler()
    client = Client(AllTypes, f"unix://{path}", retries=1, retry_backoff=0)
    with serve(AllTypes.Processor(handler), scheme="unix", socket_path=path):
        assert client.add(1, 1) == 2
    with pytest.raises(ConnectError):
        client.add(1, 1)
    with serve(AllTypes.Processor(handler), scheme="unix", socket_path=path):
        assert [client.add(i, 0) for i in range(10)] == list(range(10))
    client.close()


# --- what is discarded ---------------------------------------------------------------------


def test_a_keyboard_interrupt_awaiting_the_reply_discards_the_connection():
    """A real Ctrl-C (SIGINT, sent by the server once it has the request) while the call
    waits for its reply: the reply may come later, so the connection must go."""
    assert threading.current_thread() is threading.main_thread()  # where SIGINT lands
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with serve_misbehaving() as server, Client(AllTypes, server.url, timeout=10) as client:
            with pytest.raises(KeyboardInterrupt):
                client.echo_string("interrupt")
            stats = client.stats()
            assert (stats["discarded"], stats["open"], stats["in_use"]) == (1, 0, 0)
            assert client.echo_string("next") == "next"
    finally:
        signal.signal(signal.SIGINT, previous)


def test_no_caller_ever_receives_another_calls_reply_after_timeouts():
    """Calls time out mid-reply at random; no later call may read a stale reply."""
    rng = random.Random(7)
    with (
        serve(AllTypes.Processor(AllTypesHandler())) as server,
        Client(AllTypes, server.url, pool_size=4, timeout=0.03, retries=0) as client,
    ):
        timeouts = ok = 0

        def work(worker: int) -> tuple[int, int]:
            got_ok = got_timeout = 0
            for i in range(300):
                nonce = f"{worker}-{i}-{rng.random()}"
                # The server's delay is what is under test: some replies come after the timeout.
                delay = rng.choice((0.0, 0.0, 0.0, 0.02, 0.05))
                try:
                    assert client.slow_echo(nonce, delay) == nonce
                    got_ok += 1
                except ReadTimeout:
                    got_timeout += 1
            return got_ok, got_timeout

        with ThreadPoolExecutor(8) as executor:
            for got_ok, got_timeout in executor.map(work, range(8)):
                ok += got_ok
                timeouts += got_timeout
        assert ok > 0
        assert timeouts > 0
        assert client.stats()["discarded"] >= timeouts
