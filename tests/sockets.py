"""This process's open sockets, counted by what they are (a leak check for the tests)."""

from __future__ import annotations

import contextlib
import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


def count_sockets(which: Callable[[socket.socket], bool]) -> int:
    """How many of this process's sockets `which` holds for (each seen through a dup of its
    descriptor; a socket that is not connected counts as `which` raising OSError: no)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            sock = socket.socket(fileno=os.dup(int(fd)))
        except OSError:  # the listing's own, closed since
            continue
        with sock, contextlib.suppress(OSError):
            count += which(sock)
    return count


def client_sockets_to(port: int) -> int:
    """This process's TCP sockets connected to `port` (the client ends: the server's
    accepted sockets have `port` as their own)."""
    return count_sockets(
        lambda sock: (
            sock.family == socket.AF_INET
            and sock.getsockname()[1] != port
            and sock.getpeername()[1] == port
        )
    )


def udp_sockets() -> int:
    """This process's UDP sockets."""
    return count_sockets(lambda sock: sock.type == socket.SOCK_DGRAM)
