"""`_wire._connect` on real sockets: connecting within the connect timeout."""

from __future__ import annotations

import socket
import time

import pytest

from thrift_bridge import Client, ConnectTimeout

from .generated.alltypes import AllTypes


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
