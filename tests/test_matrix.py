"""Every scheme x protocol x transport and every type of the test IDL, against real servers."""

from __future__ import annotations

import importlib.util
import logging
import os
import socket

import pytest

from thrift_bridge import (
    Client,
    ConfigError,
    ConnectError,
    HTTPError,
    ProtocolError,
    TransportError,
    parse_url,
)
from thrift_bridge.demo import combinations
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler
from .roundtrip import decodes_in_c, round_trip_every_type


@pytest.mark.parametrize(("scheme", "protocol", "transport"), list(combinations()))
def test_every_type_through_every_combination(
    scheme, protocol, transport, server_ssl_context, ca_file, socket_dir
):
    tls = scheme in ("tcps", "unixs", "https")
    path = os.path.join(socket_dir, "m.sock") if scheme.startswith("unix") else None
    with serve(
        AllTypes.Processor(AllTypesHandler()),
        scheme=scheme,
        transport=transport,
        protocol="binary" if transport == "header" else protocol,
        header_protocol=protocol if transport == "header" else "binary",
        ssl_context=server_ssl_context if tls else None,
        socket_path=path,
    ) as server:
        options = {"ca_certs": ca_file} if tls else {}
        with Client(AllTypes, server.url, pool_size=1, **options) as client:
            round_trip_every_type(client)
            assert client.stats()["created"] == 1  # one connection carried every call


@pytest.mark.parametrize("protocol", ["binary", "compact"])
@pytest.mark.parametrize("transport", ["buffered", "framed", "zlib"])
def test_large_payloads_with_accelerated_protocols(protocol, transport):
    assert importlib.util.find_spec("thrift.protocol.fastbinary")  # Apache's C codec
    blob = os.urandom(1024 * 1024) + b"\x00" * (1024 * 1024)
    text = "compressible text " * 70_000  # ~1.2 MB
    with (
        serve(AllTypes.Processor(AllTypesHandler()), transport=transport, protocol=protocol) as srv,
        Client(AllTypes, srv.url) as client,
    ):
        assert decodes_in_c(srv.url)
        for size in (5000, 70_000, len(text)):
            assert client.echo_big(text[:size]) == text[:size]
        assert client.echo_blob(blob) == blob
        assert client.echo_string("small after large") == "small after large"


def test_http_keeps_the_connection_alive_and_uses_the_c_codec():
    with (
        serve(AllTypes.Processor(AllTypesHandler()), scheme="http") as srv,
        Client(AllTypes, srv.url) as client,
    ):
        for i in range(20):
            assert client.add(i, i) == 2 * i
        assert srv.connections_accepted == 1
        assert decodes_in_c(srv.url)


def _http_answer(status_line: bytes, content_type: bytes, body: bytes):
    def handler(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(
            b"HTTP/1.1 "
            + status_line
            + b"\r\nContent-Type: "
            + content_type
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        conn.recv(1)

    return handler


@pytest.mark.parametrize(
    ("status_line", "content_type", "match"),
    [
        (b"503 Service Unavailable", b"text/html", "HTTP 503"),
        (b"404 Not Found", b"application/x-thrift", "HTTP 404"),
        (b"200 OK", b"text/html", "content type 'text/html'"),
    ],
)
def test_http_status_and_content_type_are_checked(status_line, content_type, match):
    body = b"<html>down for maintenance</html>"
    with serve_raw(_http_answer(status_line, content_type, body)) as raw:
        url = raw.url.replace("tcp://", "http://") + "/rpc"
        with Client(AllTypes, url, retries=0) as client:
            with pytest.raises(HTTPError, match=match) as info:
                client.add(1, 2)
            assert info.value.body.startswith(b"<html>")
            assert client.stats()["discarded"] == 1


def test_http_reply_over_max_message_size_refused_before_reading():
    with serve_raw(_http_answer(b"200 OK", b"application/x-thrift", b"x" * 5000)) as raw:
        url = raw.url.replace("tcp://", "http://")
        with Client(AllTypes, url, retries=0, max_message_size=1000) as client:
            with pytest.raises(ProtocolError, match="max_message_size"):
                client.add(1, 2)


def test_framed_reply_over_max_frame_size_refused():
    def huge_frame(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall((2**31 - 1).to_bytes(4, "big"))
        conn.recv(1)

    with serve_raw(huge_frame) as raw:
        with Client(AllTypes, raw.url, transport="framed", retries=0) as client:
            with pytest.raises(ProtocolError, match="frame size 2147483647"):
                client.add(1, 2)


def test_tls_unknown_ca_is_refused(server_ssl_context):
    with (
        serve(
            AllTypes.Processor(AllTypesHandler()), scheme="tcps", ssl_context=server_ssl_context
        ) as srv,
        Client(AllTypes, srv.url, retries=0) as client,
    ):  # certifi does not trust our test CA
        with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.add(1, 1)


def test_tls_wrong_host_name_is_refused(server_ssl_context, ca_file):
    with (
        serve(
            AllTypes.Processor(AllTypesHandler()), scheme="tcps", ssl_context=server_ssl_context
        ) as srv,
        Client(
            AllTypes, srv.url, ca_certs=ca_file, server_hostname="not-this-host.example", retries=0
        ) as client,
        pytest.raises(ConnectError, match=r"match|mismatch"),
    ):
        client.add(1, 1)


def test_tls_validate_false_connects_and_warns_once(server_ssl_context, caplog):
    with serve(
        AllTypes.Processor(AllTypesHandler()), scheme="tcps", ssl_context=server_ssl_context
    ) as srv:
        url = srv.url + "?validate=false"
        with caplog.at_level(logging.WARNING, logger="thrift_bridge"):
            with Client(AllTypes, url) as first:
                assert first.add(1, 1) == 2
            with Client(AllTypes, url) as second:
                assert second.add(1, 1) == 2
    warnings = [r for r in caplog.records if "validation is disabled" in r.getMessage()]
    assert len(warnings) == 1


def test_mutual_tls_with_client_certificate(mtls_server_ssl_context, ca_file, client_cert):
    certfile, keyfile = client_cert
    with serve(
        AllTypes.Processor(AllTypesHandler()), scheme="tcps", ssl_context=mtls_server_ssl_context
    ) as srv:
        with Client(
            AllTypes, srv.url, ca_certs=ca_file, certfile=certfile, keyfile=keyfile
        ) as client:
            assert client.add(20, 22) == 42
        with Client(AllTypes, srv.url, ca_certs=ca_file, retries=0) as anonymous:
            # TLS 1.3 finishes the client's handshake before the server checks its certificate,
            # so the refusal arrives with the first reply, as a TransportError.
            with pytest.raises(TransportError):
                anonymous.add(1, 1)


def test_tls_files_that_do_not_load_fail_at_construction():
    with pytest.raises(ConfigError, match="cannot load TLS files"):
        Client(AllTypes, "tcps://127.0.0.1:1", ca_certs="/nonexistent/ca.pem")


def test_ipv6_loopback_when_available():
    if not socket.has_ipv6:
        pytest.skip("this Python has no IPv6")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1 on this machine")
    with serve(AllTypes.Processor(AllTypesHandler()), host="::1") as srv:
        assert parse_url(srv.url).host == "::1"
        with Client(AllTypes, srv.url) as client:
            assert client.add(1, 2) == 3


def test_connect_refused_is_a_connect_error(closed_port):
    with Client(AllTypes, f"tcp://127.0.0.1:{closed_port}", retries=0) as client:
        with pytest.raises(ConnectError) as info:
            client.add(1, 1)
    assert f"127.0.0.1:{closed_port}" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_tls_handshake_against_plaintext_server_fails_cleanly(ca_file):
    with serve(AllTypes.Processor(AllTypesHandler())) as plain:
        url = plain.url.replace("tcp://", "tcps://")
        with Client(AllTypes, url, ca_certs=ca_file, retries=0, connect_timeout=2) as client:
            with pytest.raises(ConnectError):
                client.add(1, 1)


def test_http_sends_basic_auth_custom_headers_and_bearer_token():
    seen: list[bytes] = []

    def record(conn: socket.socket) -> None:
        seen.append(conn.recv(65536))
        conn.close()

    with serve_raw(record) as raw:
        base = raw.url.replace("tcp://", "")
        with Client(
            AllTypes,
            f"http://alice:s3cret@{base}/rpc?tenant=7",
            retries=0,
            headers={"X-Request-Id": "r-1"},
        ) as client:
            with pytest.raises(TransportError) as info:
                client.add(1, 2)
        assert "s3cret" not in str(info.value)
        with Client(AllTypes, f"http://{base}/rpc", retries=0, bearer_token="tok") as client:
            with pytest.raises(TransportError):
                client.add(1, 2)
    basic, bearer = (request.decode("latin-1") for request in seen)
    assert basic.startswith("POST /rpc?tenant=7 HTTP/1.1\r\n")
    assert "Authorization: Basic YWxpY2U6czNjcmV0\r\n" in basic  # alice:s3cret
    assert "X-Request-Id: r-1\r\n" in basic
    assert "Content-Type: application/x-thrift\r\n" in basic
    assert "Authorization: Bearer tok\r\n" in bearer
