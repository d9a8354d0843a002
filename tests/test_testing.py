"""The loopback servers in thrift_bridge.testing, checked with plain Apache Thrift clients."""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.protocol.TCompactProtocol import TCompactProtocol
from thrift.protocol.THeaderProtocol import THeaderProtocol
from thrift.protocol.TJSONProtocol import TJSONProtocol
from thrift.Thrift import TApplicationException
from thrift.transport.THeaderTransport import THeaderClientType, THeaderSubprotocolID
from thrift.transport.THttpClient import THttpClient
from thrift.transport.TSocket import TSocket
from thrift.transport.TSSLSocket import TSSLSocket
from thrift.transport.TTransport import (
    TBufferedTransport,
    TFramedTransport,
    TMemoryBuffer,
    TTransportException,
)
from thrift.transport.TZlibTransport import TZlibTransport

from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.generated.demo.ttypes import CustomerNotFound
from thrift_bridge.testing import LoopbackServer, serve, serve_raw

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import (
    BadInput,
    Choice,
    Color,
    Everything,
    Inner,
    Unavailable,
)
from .generated.calculator import Calculator
from .generated.calculator.ttypes import DivideByZero
from .handlers import AllTypesHandler

if TYPE_CHECKING:
    from collections.abc import Iterator

PROTOCOL_CLASSES = {"binary": TBinaryProtocol, "compact": TCompactProtocol, "json": TJSONProtocol}
SOCKET_SCHEMES = ["tcp", "tcps", "unix", "unixs"]
SOCKET_CASES = [
    (scheme, transport, protocol)
    for scheme in SOCKET_SCHEMES
    for transport in ("buffered", "framed", "zlib")
    for protocol in ("binary", "compact", "json")
] + [
    (scheme, "header", protocol) for scheme in SOCKET_SCHEMES for protocol in ("binary", "compact")
]
HTTP_CASES = [(scheme, protocol) for scheme in ("http", "https") for protocol in PROTOCOL_CLASSES]


@pytest.fixture
def client_ssl_context(ca_file: str) -> ssl.SSLContext:
    """A verifying client SSLContext trusting the session CA."""
    return ssl.create_default_context(cafile=ca_file)


def serve_kwargs(
    scheme: str, transport: str, protocol: str, server_ctx: ssl.SSLContext, socket_dir: str
) -> dict[str, Any]:
    """The serve() arguments for one matrix case."""
    kwargs: dict[str, Any] = {"scheme": scheme, "transport": transport}
    if transport == "header":
        kwargs["header_protocol"] = protocol
    else:
        kwargs["protocol"] = protocol
    if scheme in ("tcps", "unixs", "https"):
        kwargs["ssl_context"] = server_ctx
    if scheme in ("unix", "unixs"):
        kwargs["socket_path"] = os.path.join(socket_dir, f"{scheme}.sock")
    return kwargs


def apache_socket(
    server: LoopbackServer, scheme: str, client_ctx: ssl.SSLContext | None, **extra: Any
) -> Any:
    """An unopened Apache TSocket/TSSLSocket pointing at the server."""
    tls = scheme in ("tcps", "unixs")
    if scheme in ("unix", "unixs"):
        assert isinstance(server.address, str)
        if tls:
            return TSSLSocket(
                unix_socket=server.address,
                ssl_context=client_ctx,
                server_hostname="localhost",
                **extra,
            )
        return TSocket(unix_socket=server.address)
    host, port = server.address  # type: ignore[str-unpack]
    if tls:
        return TSSLSocket(host, port, ssl_context=client_ctx, **extra)
    return TSocket(host, port)


@contextmanager
def apache_client(
    server: LoopbackServer, scheme: str, transport: str, protocol: str, client_ctx: ssl.SSLContext
) -> Iterator[Any]:
    """A plain Apache AllTypes client over the given stack, closed on exit."""
    if scheme in ("http", "https"):
        trans = THttpClient(server.url, ssl_context=client_ctx if scheme == "https" else None)
        prot = PROTOCOL_CLASSES[protocol](trans)
    else:
        sock = apache_socket(server, scheme, client_ctx)
        if transport == "header":
            sub = (
                THeaderSubprotocolID.COMPACT
                if protocol == "compact"
                else THeaderSubprotocolID.BINARY
            )
            trans = sock
            prot = THeaderProtocol(sock, [THeaderClientType.HEADERS], sub)
        else:
            wrapper = {"buffered": TBufferedTransport, "framed": TFramedTransport}.get(
                transport, TZlibTransport
            )
            trans = wrapper(sock)
            prot = PROTOCOL_CLASSES[protocol](trans)
    trans.open()
    try:
        yield AllTypes.Client(prot)
    finally:
        trans.close()


def exercise(client: Any) -> None:
    """Calls covering replies, structs, unions, void, oneway and declared/undeclared errors."""
    assert client.add(2**40, 2) == 2**40 + 2
    assert client.echo_string("héllo") == "héllo"
    assert client.echo_binary(b"\x00\xff") == b"\x00\xff"
    value = Everything(
        a_bool=True,
        a_byte=-7,
        a_double=2.5,
        a_color=Color.BLUE,
        inner=Inner(number=1, label="x"),
        names={"a", "b"},
        nested={"k": [{1, 2}, set()]},
        must="yes",
    )
    assert client.echo_struct(value) == value
    assert client.echo_union(Choice(words=["a", "b"])) == Choice(words=["a", "b"])
    client.nothing()
    client.fire("token-1")
    # Over HTTP the server answers a oneway call before running it (as THttpServer does) and
    # THttpClient opens a new connection per call, so the next call may overtake it.
    deadline = time.monotonic() + 5
    while client.last_fired() != "token-1" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.last_fired() == "token-1"
    with pytest.raises(BadInput):
        client.raise_error(1)
    with pytest.raises(Unavailable):
        client.raise_error(2)
    with pytest.raises(TApplicationException) as info:
        client.raise_error(3)
    assert info.value.type == TApplicationException.INTERNAL_ERROR
    assert client.echo_i32(-5) == -5  # the connection is still in step


@pytest.mark.parametrize(("scheme", "transport", "protocol"), SOCKET_CASES)
def test_socket_server_with_apache_client(
    thrift_server, server_ssl_context, client_ssl_context, socket_dir, scheme, transport, protocol
):
    kwargs = serve_kwargs(scheme, transport, protocol, server_ssl_context, socket_dir)
    server = thrift_server("alltypes", **kwargs)
    with apache_client(server, scheme, transport, protocol, client_ssl_context) as client:
        exercise(client)
    assert server.connections_accepted == 1


@pytest.mark.parametrize(("scheme", "protocol"), HTTP_CASES)
def test_http_server_with_apache_client(
    thrift_server, server_ssl_context, client_ssl_context, scheme, protocol
):
    kwargs = serve_kwargs(scheme, "buffered", protocol, server_ssl_context, "")
    server = thrift_server("alltypes", **kwargs)
    with apache_client(server, scheme, "buffered", protocol, client_ssl_context) as client:
        exercise(client)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "tcp://127.0.0.1:{port}"),
        ({"transport": "framed", "protocol": "compact"}, "tcp://127.0.0.1:{port}?transport=framed&protocol=compact"),
        ({"transport": "header", "header_protocol": "compact", "protocol": "json"}, "tcp://127.0.0.1:{port}?transport=header&protocol=compact"),
        ({"scheme": "http", "protocol": "json"}, "http://127.0.0.1:{port}/thrift?protocol=json"),
        ({"scheme": "https", "ssl_context": True}, "https://127.0.0.1:{port}/thrift"),
    ],
)  # fmt: skip
def test_url(thrift_server, server_ssl_context, kwargs, expected):
    if kwargs.get("ssl_context"):
        kwargs = {**kwargs, "ssl_context": server_ssl_context}
    server = thrift_server("alltypes", **kwargs)
    assert server.url == expected.format(port=server.address[1])


def test_unix_url_and_socket_file_removed(thrift_server, socket_dir):
    path = os.path.join(socket_dir, "s.sock")
    with serve(AllTypes.Processor(AllTypesHandler()), scheme="unix", socket_path=path) as server:
        assert server.url == f"unix://{path}"
        assert server.address == path
        assert os.path.exists(path)
    assert not os.path.exists(path)


def test_unix_without_path_makes_and_removes_its_own_directory():
    with serve(AllTypes.Processor(AllTypesHandler()), scheme="unix") as server:
        assert isinstance(server.address, str)
        directory = os.path.dirname(server.address)
        assert len(server.address) < 108
        assert server.url.startswith("unix:///")
    assert not os.path.exists(directory)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheme": "ftp"}, "unknown scheme 'ftp'"),
        ({"transport": "framd"}, "unknown transport 'framd'"),
        ({"protocol": "xml"}, "unknown protocol 'xml'"),
        ({"scheme": "tcps"}, "needs ssl_context"),
        ({"scheme": "http", "transport": "framed"}, "does not apply to http"),
        ({"socket_path": "/tmp/x.sock"}, "socket_path applies only to unix"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        serve(AllTypes.Processor(AllTypesHandler()), **kwargs)


def test_http_keep_alive_and_status_codes(thrift_server):
    server = thrift_server("alltypes", scheme="http")
    host, port = server.address
    request = TMemoryBuffer()
    AllTypes.Client(TBinaryProtocol(request)).send_add(1, 2)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for _ in range(3):
            conn.request(
                "POST", "/thrift", request.getvalue(), {"Content-Type": "application/x-thrift"}
            )
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200
            assert response.getheader("Content-Type") == "application/x-thrift"
            assert int(response.getheader("Content-Length")) == len(body)
            reply = AllTypes.Client(TBinaryProtocol(TMemoryBuffer(body)))
            assert reply.recv_add() == 3
        conn.request("POST", "/elsewhere", b"")
        response = conn.getresponse()
        response.read()
        assert response.status == 404
    finally:
        conn.close()
    assert server.connections_accepted == 1


def test_http_oneway_gets_an_empty_reply(thrift_server):
    server = thrift_server("alltypes", scheme="http")
    host, port = server.address
    request = TMemoryBuffer()
    AllTypes.Client(TBinaryProtocol(request)).send_fire("t")
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("POST", "/thrift", request.getvalue())
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"")
    finally:
        conn.close()


def test_http_garbage_body_drops_the_connection(thrift_server):
    server = thrift_server("alltypes", scheme="http")
    conn = http.client.HTTPConnection(*server.address, timeout=10)  # type: ignore[misc]
    try:
        conn.request("POST", "/thrift", b"\x00garbage")
        with pytest.raises(http.client.RemoteDisconnected):
            conn.getresponse()
    finally:
        conn.close()


def test_mtls_requires_a_client_certificate(
    thrift_server, mtls_server_ssl_context, ca_file, client_cert
):
    server = thrift_server("alltypes", scheme="tcps", ssl_context=mtls_server_ssl_context)
    with_cert = ssl.create_default_context(cafile=ca_file)
    with_cert.load_cert_chain(*client_cert)
    with apache_client(server, "tcps", "buffered", "binary", with_cert) as client:
        assert client.add(1, 1) == 2
    without = ssl.create_default_context(cafile=ca_file)
    with (
        pytest.raises(TTransportException),
        apache_client(server, "tcps", "buffered", "binary", without) as client,
    ):
        client.add(1, 1)


def test_serve_raw_hands_each_connection_to_the_handler():
    seen: list[bytes] = []

    def greet(sock: socket.socket) -> None:
        seen.append(sock.recv(16))
        sock.sendall(b"garbage")

    with serve_raw(greet) as server:
        assert server.url == f"tcp://127.0.0.1:{server.address[1]}"
        for _ in range(2):
            with socket.create_connection(server.address, timeout=10) as client:
                client.sendall(b"hi")
                assert client.recv(16) == b"garbage"
                assert client.recv(16) == b""  # closed after the handler returns
        assert server.connections_accepted == 2
    assert seen == [b"hi", b"hi"]


def test_serve_raw_over_tls_unix(server_ssl_context, client_ssl_context, socket_dir):
    def echo(sock: socket.socket) -> None:
        sock.sendall(sock.recv(16))

    path = os.path.join(socket_dir, "raw.sock")
    with serve_raw(
        echo, scheme="unixs", ssl_context=server_ssl_context, socket_path=path
    ) as server:
        raw = socket.socket(socket.AF_UNIX)
        raw.settimeout(10)
        raw.connect(server.address)
        with client_ssl_context.wrap_socket(raw, server_hostname="localhost") as client:
            client.sendall(b"ping")
            assert client.recv(16) == b"ping"


def snapshot() -> tuple[set[str], set[threading.Thread]]:
    """The open file descriptors and live threads of this process."""
    return set(os.listdir("/proc/self/fd")), set(threading.enumerate())


@pytest.mark.parametrize("scheme", ["tcp", "tcps", "unix", "unixs", "http", "https", "raw"])
def test_close_leaves_no_fds_or_threads(server_ssl_context, client_ssl_context, scheme):
    def stall(sock: socket.socket) -> None:
        sock.recv(1)  # blocks until close() shuts the socket down

    fds_before, threads_before = snapshot()
    tls = scheme in ("tcps", "unixs", "https")
    ctx = server_ssl_context if tls else None
    if scheme == "raw":
        server = serve_raw(stall)
    else:
        server = serve(AllTypes.Processor(AllTypesHandler()), scheme=scheme, ssl_context=ctx)
    clients = []
    try:
        if scheme == "raw":
            clients.append(socket.create_connection(server.address, timeout=10))
            clients[0].sendall(b"")
        elif scheme in ("http", "https"):
            conn: Any = (http.client.HTTPSConnection if tls else http.client.HTTPConnection)(  # type: ignore[misc]
                *server.address, timeout=10, **({"context": client_ssl_context} if tls else {})
            )
            clients.append(conn)
            request = TMemoryBuffer()
            AllTypes.Client(TBinaryProtocol(request)).send_add(1, 2)
            conn.request("POST", "/thrift", request.getvalue())
            conn.getresponse().read()  # the keep-alive connection stays open on both ends
        else:
            sock = apache_socket(server, scheme, client_ssl_context)
            trans = TBufferedTransport(sock)
            trans.open()
            clients.append(trans)
            assert AllTypes.Client(TBinaryProtocol(trans)).add(1, 2) == 3
        # Close the server while the client still holds its connection open.
        server.close()
        assert set(threading.enumerate()) == threads_before
    finally:
        server.close()
        for client in clients:
            client.close()
    fds_after, threads_after = snapshot()
    assert fds_after == fds_before
    assert threads_after == threads_before


def test_close_is_idempotent_and_server_refuses_afterwards():
    server = serve(AllTypes.Processor(AllTypesHandler()))
    server.close()
    server.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=10).close()
    assert "closed" in repr(server)


@contextmanager
def plain_client(server: LoopbackServer, service: Any) -> Iterator[Any]:
    """A buffered binary Apache client of ``service`` on a tcp loopback server."""
    trans = TBufferedTransport(TSocket(*server.address))
    trans.open()
    try:
        yield service.Client(TBinaryProtocol(trans))
    finally:
        trans.close()


def test_demo_handler(thrift_server):
    server = thrift_server("demo")
    with plain_client(server, CustomerService) as client:
        assert client.ping() == "pong"
        ada = client.get_customer(1)
        assert (ada.name, ada.address.city, ada.address.country) == ("Ada Lovelace", "London", "GB")
        with pytest.raises(CustomerNotFound) as info:
            client.get_customer(999)
        assert info.value.customer_id == 999
        assert [c.id for c in client.search("al", 10)] == [2, 4]
        assert [c.id for c in client.search("AL", 1)] == [2]
        assert [a.id for a in client.accounts(1)] == [101, 102]
        assert client.accounts(999) == []
        client.record_visit(3)
        client.record_visit(3)
        assert client.visit_count(3) == 2


def test_calculator_handler(thrift_server):
    server = thrift_server("calculator")
    with plain_client(server, Calculator) as client:
        assert client.add(2, 3) == 5
        assert client.divide(1.0, 4.0) == 0.25
        with pytest.raises(DivideByZero):
            client.divide(1.0, 0.0)
