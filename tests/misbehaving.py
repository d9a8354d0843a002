"""A real AllTypes server that misbehaves on request: no reply, a reset mid-reply, garbage.

It speaks framed binary through Apache's own processor, so every call is answered as a real
server would, except ``echo_string`` of one of the `TRIGGERS`, which the server acts out on
the socket instead of answering (or, for "interrupt", sends the test's main thread SIGINT,
a Ctrl-C while the call awaits its reply).
"""

from __future__ import annotations

import signal
import socket
import struct
import threading
from typing import TYPE_CHECKING

from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.transport.TTransport import TMemoryBuffer

from thrift_bridge.testing import serve_raw

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler

if TYPE_CHECKING:
    from thrift_bridge.testing import LoopbackServer

#: echo_string arguments the server acts out: it never answers (and waits for the client to
#: hang up), resets the connection halfway through the reply, answers with garbage, or
#: interrupts the main thread and then never answers.
TRIGGERS = ("hang", "reset", "garbage", "interrupt")
#: Requests one connection may carry before the server hangs up (every loop is bounded).
MAX_REQUESTS = 10_000


def recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    """`size` bytes from `sock`, or None if the peer closed first."""
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def frame(payload: bytes) -> bytes:
    """`payload` as one frame of the framed transport."""
    return struct.pack("!i", len(payload)) + payload


def trigger_of(request: bytes) -> str | None:
    """The echo_string argument of a binary request, if it is one of `TRIGGERS`."""
    proto = TBinaryProtocol(TMemoryBuffer(request))
    name, _, _ = proto.readMessageBegin()
    if name != "echo_string":
        return None
    args = AllTypes.echo_string_args()
    args.read(proto)
    return args.value if args.value in TRIGGERS else None


def _serve_connection(sock: socket.socket) -> None:
    """Answer framed requests through Apache's processor, acting out the triggers."""
    processor = AllTypes.Processor(AllTypesHandler())
    for _ in range(MAX_REQUESTS):
        head = recv_exactly(sock, 4)
        request = None if head is None else recv_exactly(sock, struct.unpack("!i", head)[0])
        if request is None:
            return  # the client hung up
        trigger = trigger_of(request)
        if trigger == "interrupt":
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        if trigger in ("hang", "interrupt"):
            sock.recv(1)  # no reply; returns when the client gives up and closes
            return
        if trigger == "garbage":
            sock.sendall(frame(b"\xde\xad\xbe\xef" * 8))  # a whole frame, not a message
            continue
        out = TMemoryBuffer()
        processor.process(TBinaryProtocol(TMemoryBuffer(request)), TBinaryProtocol(out))
        reply = frame(out.getvalue())
        if trigger == "reset":
            sock.sendall(reply[: len(reply) // 2])
            # Linger 0: closing sends RST, not FIN (serve_raw closes the socket on return).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        sock.sendall(reply)


def serve_misbehaving() -> LoopbackServer:
    """Start a misbehaving AllTypes server on 127.0.0.1; its `.url` is framed binary."""
    server = serve_raw(_serve_connection)
    server.url += "?transport=framed"
    return server
