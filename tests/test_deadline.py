"""`timeout` is one deadline for the whole call: sending the request and reading the reply."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from thrift_bridge import Client, WriteTimeout
from thrift_bridge.testing import serve_raw

from .generated.alltypes import AllTypes

MiB = 1024 * 1024
TIMEOUT = 1.0
#: How late past its deadline a call may end (scheduling on a loaded 2-core machine).
SLACK = 1.0


def slow_reader(stop: threading.Event):
    """A server that drains requests 1 KiB every 5 ms (about 200 KiB/s) and never answers."""

    def handler(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        while not stop.is_set():
            try:
                if not conn.recv(1024):
                    return
            except OSError:
                return
            stop.wait(0.005)

    return handler


CASES = [
    pytest.param("tcp", "", "echo_big", id="tcp-fast-path"),
    pytest.param("tcp", "transport=framed", "echo_big", id="framed"),
    pytest.param("tcp", "protocol=compact", "echo_big", id="compact"),
    pytest.param("tcp", "protocol=json", "echo_blob", id="json-generated-path"),
    pytest.param("tcp", "transport=zlib", "echo_blob", id="zlib"),
    pytest.param("tcp", "transport=header", "echo_big", id="theader"),
    pytest.param("unix", "", "echo_blob", id="unix"),
    pytest.param("tcps", "", "echo_big", id="tls"),
    pytest.param("http", "", "echo_big", id="http"),
    pytest.param("https", "", "echo_big", id="https"),
]


def _url(server, scheme: str, query: str, ca_file: str) -> str:
    """The client URL for a raw server, in `scheme`."""
    if scheme in ("http", "https"):
        host, port = server.address
        url = f"{scheme}://{host}:{port}/thrift"
    else:
        url = server.url
    options = [query] if query else []
    if scheme in ("tcps", "https"):
        options.append(f"ca_certs={ca_file}")
    return url + ("?" + "&".join(options) if options else "")


@pytest.mark.parametrize(("scheme", "query", "method"), CASES)
def test_a_peer_draining_a_large_request_slowly_cannot_hold_a_call_past_its_timeout(
    scheme, query, method, server_ssl_context, ca_file, socket_dir
):
    stop = threading.Event()
    raw_scheme = {"http": "tcp", "https": "tcps"}.get(scheme, scheme)
    kwargs = {}
    if raw_scheme in ("tcps",):
        kwargs["ssl_context"] = server_ssl_context
    if raw_scheme in ("unix",):
        kwargs["socket_path"] = f"{socket_dir}/s.sock"
    # Over the socket buffers, under max_frame_size (framed and THeader refuse larger frames).
    payload = b"\x01" * (12 * MiB)
    argument = payload.decode() if method == "echo_big" else payload
    with serve_raw(slow_reader(stop), scheme=raw_scheme, **kwargs) as server:
        url = _url(server, scheme, query, ca_file)
        if "zlib" in query:  # random bytes keep the request 12 MiB on the wire
            argument = _incompressible(12 * MiB)
        try:
            with Client(AllTypes, url, timeout=TIMEOUT, retries=0) as client:
                start = time.monotonic()
                with pytest.raises(WriteTimeout, match=r"could not be sent within 1s") as caught:
                    getattr(client, method)(argument)
                elapsed = time.monotonic() - start
                assert client.stats()["discarded"] == 1
        finally:
            stop.set()
    assert elapsed < TIMEOUT + SLACK, f"the call took {elapsed:.1f}s"
    assert "the peer took" in str(caught.value)


def _incompressible(size: int) -> bytes:
    """`size` bytes that zlib cannot shrink."""
    import random

    return random.Random(7).randbytes(size)
