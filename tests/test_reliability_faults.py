"""Restarts, kill -9, hostile servers, TLS faults: a clean error of ours, in time, no leaks."""

from __future__ import annotations

import contextlib
import datetime
import gc
import logging
import os
import ssl
import struct
import threading
import time
import tracemalloc
import zlib
from typing import TYPE_CHECKING, Any

import pytest
import trustme
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.Thrift import TMessageType
from thrift.transport.TTransport import TMemoryBuffer

from thrift_bridge import (
    Client,
    ConfigError,
    ConnectError,
    ConnectTimeout,
    HTTPError,
    ProtocolError,
    ReadTimeout,
    TransportError,
    parse_url,
)
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler
from .procs import ServerProcess

if TYPE_CHECKING:
    import socket

MiB = 1024 * 1024
#: How late past its timeout a call may end (scheduling on a loaded 2-core machine).
SLACK = 1.0


def _message_header(name: bytes, seqid: int = 1) -> bytes:
    """A strict binary-protocol REPLY header for `name`."""
    return struct.pack("!iI", -2147418110, len(name)) + name + struct.pack("!i", seqid)


def _hostile(payload: bytes, *, then_wait: bool = True):
    """A raw server that reads the request, sends `payload`, then waits (or closes)."""

    def handler(conn: socket.socket) -> None:
        conn.recv(65536)
        if payload:
            conn.sendall(payload)
        if then_wait:
            conn.recv(1)

    return handler


def _slow_bytes(conn: socket.socket) -> None:
    conn.recv(65536)
    reply = _message_header(b"echo_big") + b"\x0b\x00\x00" + struct.pack("!i", 1000) + b"x" * 1000
    for byte in reply:
        conn.sendall(bytes([byte]))
        time.sleep(0.02)  # the trickle is what is under test


def _frame(payload: bytes) -> bytes:
    """`payload` as one complete frame."""
    return struct.pack("!i", len(payload)) + payload


_STRING_1E9 = _message_header(b"echo_big") + b"\x0b\x00\x00" + struct.pack("!i", 10**9)

ZLIB_BOMB = zlib.compressobj()
BOMB = b"".join(ZLIB_BOMB.compress(b"\0" * MiB) for _ in range(256)) + ZLIB_BOMB.flush(
    zlib.Z_SYNC_FLUSH
)  # 256 MiB of zeros in ~256 KiB


def _varint(n: int) -> bytes:
    """`n` as a compact-protocol unsigned varint."""
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out) + bytes([n])


_COMPACT_STRING_1E9 = (
    bytes([0x82, 2 << 5 | 1]) + _varint(1) + _varint(8) + b"echo_big" + b"\x08" + _varint(10**9)
)
DEFAULT = None  # no max_message_size option: the defaults must hold memory down too

HOSTILE = [
    ("garbage", "", b"\xde\xad\xbe\xef" * 64, ProtocolError, 4 * MiB),
    ("2 GiB frame", "transport=framed", struct.pack("!I", 2**31 - 1), ProtocolError, 4 * MiB),
    ("negative frame", "transport=framed", struct.pack("!i", -5), ProtocolError, 4 * MiB),
    (
        "truncated frame",
        "transport=framed",
        struct.pack("!i", 100) + b"\x80\x01",
        ReadTimeout,
        4 * MiB,
    ),
    (
        "string beyond the message",
        "transport=framed",
        _frame(_STRING_1E9 + bytes(8)),
        ProtocolError,
        4 * MiB,
    ),
    ("string length 1e9", "", _STRING_1E9, ProtocolError, 4 * MiB),
    ("zlib bomb", "transport=zlib", BOMB, ProtocolError, 4 * MiB),
    ("framed zlib bomb", "transport=framed&zlib=true", _frame(BOMB), ProtocolError, 4 * MiB),
    ("never answers", "", b"", ReadTimeout, 4 * MiB),
    ("garbage, defaults", "", b"\xde\xad\xbe\xef" * 64, ProtocolError, DEFAULT),
    (
        "2 GiB frame, defaults",
        "transport=framed",
        struct.pack("!I", 2**31 - 1),
        ProtocolError,
        DEFAULT,
    ),
    ("string length 1e9, defaults", "", _STRING_1E9, ProtocolError, DEFAULT),
    ("zlib bomb, defaults", "transport=zlib", BOMB, ProtocolError, DEFAULT),
    (
        "THeader 2 GiB frame",
        "transport=header",
        struct.pack("!I", 2**31 - 1),
        ProtocolError,
        DEFAULT,
    ),
    ("compact string length 1e9", "protocol=compact", _COMPACT_STRING_1E9, ProtocolError, DEFAULT),
    ("JSON garbage", "protocol=json", b"\xff\xfe not json " * 8, ProtocolError, DEFAULT),
    (
        "JSON string never closed",
        "protocol=json",
        b'[1,"echo_big",2,1,{"0":{"str":"xx',
        ReadTimeout,
        DEFAULT,
    ),
]


@pytest.mark.parametrize(
    ("case", "query", "payload", "expected", "cap"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_servers_give_a_clean_error_in_time_with_bounded_memory(
    case, query, payload, expected, cap
):
    options = {} if cap is DEFAULT else {"max_message_size": cap}
    with serve_raw(_hostile(payload)) as raw:
        url = f"{raw.url}?{query}" if query else raw.url
        with Client(AllTypes, url, timeout=1, retries=0, **options) as client:
            tracemalloc.start()
            start = time.monotonic()
            try:
                with pytest.raises(expected):
                    client.echo_big("x")
                elapsed = time.monotonic() - start
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert elapsed < 1 + SLACK, f"{case} took {elapsed:.2f}s"
            assert peak < 16 * MiB, f"{case} allocated {peak / MiB:.0f} MiB"
            assert client.stats()["discarded"] == 1


def test_early_close_mid_reply_is_a_transport_error():
    with serve_raw(_hostile(_message_header(b"echo_big")[:6], then_wait=False)) as raw:
        with Client(AllTypes, raw.url, retries=0) as client, pytest.raises(TransportError):
            client.echo_big("x")


def test_slow_byte_by_byte_reply_times_out_at_the_call_deadline():
    with serve_raw(_slow_bytes) as raw, Client(AllTypes, raw.url, timeout=0.5, retries=0) as client:
        start = time.monotonic()
        with pytest.raises(ReadTimeout):
            client.echo_big("x")
        assert time.monotonic() - start < 0.5 + SLACK  # the reply would take 30 s


def _reply(name: str, seqid: int, result: object) -> bytes:
    """A complete binary-protocol REPLY message carrying `result` (an `*_result` struct)."""
    buf = TMemoryBuffer()
    proto = TBinaryProtocol(buf)
    proto.writeMessageBegin(name, TMessageType.REPLY, seqid)
    result.write(proto)  # type: ignore[attr-defined]
    proto.writeMessageEnd()
    return buf.getvalue()


def _request_seqid(request: bytes) -> int:
    """The sequence id of a strict binary-protocol request."""
    (length,) = struct.unpack("!i", request[4:8])
    return int(struct.unpack("!i", request[8 + length : 12 + length])[0])


@pytest.mark.parametrize("extra", ["trailing garbage", "the reply twice"])
def test_bytes_after_a_complete_reply_never_fail_the_next_caller(extra):
    """A reply followed by more bytes leaves the stream out of step: that connection must go."""
    replies = 0

    def handler(conn: socket.socket) -> None:
        nonlocal replies
        while request := conn.recv(65536):
            reply = _reply("add", _request_seqid(request), AllTypes.add_result(success=3))
            replies += 1
            if replies == 1:  # only the first reply is followed by bytes nobody asked for
                reply += b"\x00garbage" if extra == "trailing garbage" else reply
            conn.sendall(reply)

    with serve_raw(handler) as raw, Client(AllTypes, raw.url, timeout=1, retries=0) as client:
        with contextlib.suppress(ProtocolError):  # refusing the first reply is fine too
            assert client.add(1, 2) == 3
        assert [client.add(1, 2) for _ in range(3)] == [3, 3, 3]
        assert client.stats()["discarded"] == 1


def _read_http_request(conn: socket.socket) -> bool:
    """Read one whole HTTP request (headers and Content-Length body); False at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += conn.recv(65536)
    return True


def _http_answer(payload: bytes, *, then: str = "wait", trickle_from: int | None = None):
    """A raw HTTP server: read the request, send `payload` (from `trickle_from` on byte by
    byte, 20 ms apart), then wait for the client to go or close at once."""

    def handler(conn: socket.socket) -> None:
        if not _read_http_request(conn):
            return
        if trickle_from is None:
            conn.sendall(payload)
        else:
            conn.sendall(payload[:trickle_from])
            with contextlib.suppress(OSError):
                for byte in payload[trickle_from:]:
                    conn.sendall(bytes([byte]))
                    time.sleep(0.02)  # the trickle is what is under test
        if then == "wait":
            conn.recv(1)

    return handler


_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-thrift\r\n"
_ECHO_REPLY = _reply("echo_big", 1, AllTypes.echo_big_result(success="x" * 200))
_WHOLE = _OK + b"Content-Length: %d\r\n\r\n" % len(_ECHO_REPLY) + _ECHO_REPLY
_CLOSE = b"Connection: close\r\n"
HTTP_HOSTILE = [
    ("never answers", b"", "wait", ReadTimeout),
    ("huge Content-Length", _OK + b"Content-Length: 9999999999\r\n\r\n", "wait", ProtocolError),
    ("no length, past the cap", _OK + _CLOSE + b"\r\n" + bytes(5 * MiB), "close", ProtocolError),
    (  # refused from the size line alone, not after waiting for 64 GiB
        "huge chunk size",
        _OK + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFF\r\nxx",
        "wait",
        ProtocolError,
    ),
    ("close mid-body", _OK + b"Content-Length: 500\r\n\r\nabc", "close", TransportError),
    ("close before any reply", b"", "close", TransportError),
    ("not HTTP", b"garbage\r\n\r\n", "close", TransportError),
    ("header line of 100 KB", _OK + b"X: " + b"y" * 100_000 + b"\r\n\r\n", "close", TransportError),
    ("200 headers", _OK + b"X: y\r\n" * 200 + b"\r\n", "close", TransportError),
    ("503, keep-alive", b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy", "wait", HTTPError),
    ("503, Connection: close", b"HTTP/1.1 503 Busy\r\n" + _CLOSE + b"\r\nbusy", "close", HTTPError),
    (
        "HTML, Connection: close",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + _CLOSE + b"\r\n<html>",
        "close",
        HTTPError,
    ),
]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize(
    ("case", "payload", "then", "expected"), HTTP_HOSTILE, ids=[h[0] for h in HTTP_HOSTILE]
)
def test_hostile_http_servers_give_a_clean_error_in_time(case, payload, then, expected):
    fds = _open_fds()
    with serve_raw(_http_answer(payload, then=then)) as raw:
        url = raw.url.replace("tcp:", "http:")
        with Client(AllTypes, url, timeout=1, retries=0, max_message_size=4 * MiB) as client:
            tracemalloc.start()
            start = time.monotonic()
            try:
                with pytest.raises(expected):
                    client.add(1, 2)
                elapsed = time.monotonic() - start
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert elapsed < 1 + SLACK, f"{case} took {elapsed:.2f}s"
            assert peak < 16 * MiB, f"{case} allocated {peak / MiB:.0f} MiB"
            assert client.stats()["discarded"] == 1
    # Counted before any garbage collection: a discarded connection's socket is closed, not
    # dropped; then collect here, so a dropped one's ResourceWarning fails this test, not a later.
    left_open = _open_fds() - fds
    gc.collect()
    assert left_open == 0, f"{case}: {left_open} file descriptor(s) left open"


@pytest.mark.parametrize("phase", ["status and headers", "body"])
def test_http_reply_trickling_byte_by_byte_times_out_at_the_call_deadline(phase):
    trickle_from = 0 if phase == "status and headers" else len(_WHOLE) - len(_ECHO_REPLY)
    with serve_raw(_http_answer(_WHOLE, trickle_from=trickle_from)) as raw:
        url = raw.url.replace("tcp:", "http:")
        with Client(AllTypes, url, timeout=0.5, retries=0) as client:
            start = time.monotonic()
            with pytest.raises(ReadTimeout):
                client.echo_big("x")
            elapsed = time.monotonic() - start
    assert elapsed < 0.5 + SLACK, f"the {phase} trickled for {elapsed:.2f}s past a 0.5 s timeout"


def test_kill_9_mid_call_then_restart(socket_dir):
    path = os.path.join(socket_dir, "k.sock")
    server = ServerProcess(announce=True, scheme="unix", socket_path=path)
    client = Client(AllTypes, server.url, timeout=10, retries=0)
    try:
        assert client.add(1, 1) == 2
        outcome: list[BaseException] = []

        def in_flight() -> None:
            try:
                client.slow_echo("x", 5)
            except BaseException as exc:
                outcome.append(exc)

        caller = threading.Thread(target=in_flight)
        caller.start()
        assert server.announced("slow_echo x")  # the request reached the server
        start = time.monotonic()
        server.kill()
        caller.join(10)
        assert isinstance(outcome[0], TransportError)
        assert time.monotonic() - start < 2  # not the 10 s timeout
        with pytest.raises(ConnectError):
            client.add(1, 1)
        server.stop()
        os.unlink(path)  # kill -9 leaves the socket file behind, as in production
        server = ServerProcess(scheme="unix", socket_path=path)
        assert [client.add(i, 1) for i in range(5)] == [1, 2, 3, 4, 5]
        stats = client.stats()
        assert stats["discarded"] >= 1  # the connection of the killed call was never reused
        assert stats["in_use"] == 0
    finally:
        client.close()
        server.stop()


def test_graceful_restart_mid_run_every_later_call_succeeds(socket_dir):
    path = os.path.join(socket_dir, "r.sock")
    with Client(AllTypes, f"unix://{path}", retries=2, retry_backoff=0.05) as client:
        for round_ in range(3):
            with serve(AllTypes.Processor(AllTypesHandler()), scheme="unix", socket_path=path):
                assert [client.add(round_, i) for i in range(20)] == [round_ + i for i in range(20)]


class Announcing(AllTypesHandler):
    """Sets `arrived` when a slow_echo call reaches it."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()

    def slow_echo(self, value: str, delay_seconds: float) -> str:
        self.arrived.set()
        return super().slow_echo(value, delay_seconds)


def test_server_closed_mid_call_is_a_transport_error_at_once_then_calls_succeed(socket_dir):
    path = os.path.join(socket_dir, "c.sock")
    handler = Announcing()
    server = serve(AllTypes.Processor(handler), scheme="unix", socket_path=path)
    outcome: list[Any] = []  # the error, then the seconds it took
    with Client(AllTypes, server.url, timeout=10, retries=0) as client:
        try:

            def in_flight() -> None:
                start = time.monotonic()
                try:
                    client.slow_echo("x", 3)
                except BaseException as exc:
                    outcome.append(exc)
                outcome.append(time.monotonic() - start)

            caller = threading.Thread(target=in_flight)
            caller.start()
            assert handler.arrived.wait(10)  # the request reached the server
            server.close()  # shuts every open connection down, as a stopping server does
            caller.join(10)
        finally:
            server.close()
        assert isinstance(outcome[0], TransportError)
        assert outcome[1] < 3  # not the server's 3 s, nor the 10 s timeout
        with serve(AllTypes.Processor(AllTypesHandler()), scheme="unix", socket_path=path):
            assert [client.add(1, i) for i in range(5)] == [1, 2, 3, 4, 5]
        assert client.stats()["discarded"] == 1


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def expired_context():
    ca = trustme.CA()
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    cert = ca.issue_cert(
        "localhost", "127.0.0.1", not_before=past, not_after=past + datetime.timedelta(days=1)
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context, ca


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("expired", "certificate has expired"),
        ("unknown CA", "certificate verify failed"),
        ("wrong host name", "match"),
    ],
)
def test_tls_refusals_are_clear(
    case, match, expired_context, server_ssl_context, ca_file, tmp_path
):
    if case == "expired":
        context, ca = expired_context
        ca_path = tmp_path / "expired-ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        options = {"ca_certs": str(ca_path)}
    elif case == "unknown CA":
        context, options = server_ssl_context, {}
    else:
        context, options = (
            server_ssl_context,
            {"ca_certs": ca_file, "server_hostname": "elsewhere.example"},
        )
    with serve(AllTypes.Processor(AllTypesHandler()), scheme="tcps", ssl_context=context) as server:
        with Client(AllTypes, server.url, retries=0, **options) as client:
            with pytest.raises(ConnectError, match=match):
                client.add(1, 1)


def test_plain_client_against_tls_server_fails_in_time(server_ssl_context):
    with serve(
        AllTypes.Processor(AllTypesHandler()), scheme="tcps", ssl_context=server_ssl_context
    ) as server:
        plain = server.url.replace("tcps://", "tcp://")
        with Client(AllTypes, plain, retries=0, timeout=2) as client:
            start = time.monotonic()
            with pytest.raises(TransportError):
                client.add(1, 1)
            assert time.monotonic() - start < 3


def test_credentials_never_appear_in_repr_str_errors_or_logs(caplog, closed_port):
    url = f"https://alice:s3cret-pass@127.0.0.1:{closed_port}/rpc"
    with caplog.at_level(logging.DEBUG, logger="thrift_bridge"):
        endpoint = parse_url(url)
        with Client(AllTypes, url, retries=0, validate=False) as client:
            texts = [repr(endpoint), str(endpoint), repr(client)]
            with pytest.raises(ConnectError) as info:
                client.add(1, 1)
            texts += [str(info.value), repr(info.value), info.value.endpoint or ""]
        with pytest.raises(ConfigError) as bad:
            parse_url(url + "?protocol=nope")
        texts.append(str(bad.value))
    texts += [record.getMessage() for record in caplog.records]
    assert all("s3cret-pass" not in text for text in texts)
    assert any("validation is disabled" in r.getMessage() for r in caplog.records)


def test_tls_handshake_never_answered_is_a_connect_timeout():
    with serve_raw(_hostile(b"")) as raw:  # accepts, reads the ClientHello, says nothing
        url = raw.url.replace("tcp://", "tcps://")
        with Client(AllTypes, url, connect_timeout=0.5, timeout=5, retries=0) as client:
            start = time.monotonic()
            with pytest.raises(ConnectTimeout):
                client.add(1, 1)
            elapsed = time.monotonic() - start
        assert raw.connections_accepted == 1  # retries=0: one connect attempt, not two
    assert elapsed < 0.5 + SLACK


SECRET = "Zq9x" + "Kw7v"  # asserted absent in halves too: a partial leak is still a leak


@pytest.mark.parametrize(
    "url",
    [
        f"https://alice:{SECRET[:4]}/{SECRET[4:]}@h:1/rpc",
        f"https://alice:{SECRET[:4]}@{SECRET[4:]}@h:1/rpc",
        f"https://alice:{SECRET[:4]}#{SECRET[4:]}@h:1/rpc",
        f"https://alice:{SECRET[:4]}?{SECRET[4:]}@h:1/rpc",
        f"https://alice:{SECRET}@h:99999/rpc",
        f"https://h:1/rpc?bearer_token={SECRET}",
        f"https://h:1/rpc?bearer_token={SECRET}&protocol=nope",
    ],
    ids=[
        "'/' in password",
        "'@' in password",
        "'#' in password",
        "'?' in password",
        "bad port",
        "bearer_token in the query",
        "bearer_token and a bad option",
    ],
)
def test_a_bad_url_never_echoes_its_credentials(url):
    """Unencoded reserved characters in a password, or a token in the query, are common."""
    try:
        endpoint = parse_url(url)
    except ConfigError as exc:
        texts = [str(exc), repr(exc)]
    else:
        texts = [str(endpoint), repr(endpoint), endpoint.redacted_url]
    for text in texts:
        assert SECRET[:4] not in text, text
        assert SECRET[4:] not in text, text
