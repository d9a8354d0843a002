"""Mismatched endpoints say what is probably wrong: each message asserted against a real
server that speaks something else (HTTP, TLS, plaintext, another protocol or transport), for
Client and AsyncClient; TLS verification failures name `ca_certs`; several endpoints list
every attempt, and each retry and skipped endpoint is logged."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import struct
from typing import TYPE_CHECKING

import pytest
from thrift.protocol.TBinaryProtocol import TBinaryProtocolFactory
from thrift.protocol.TCompactProtocol import TCompactProtocolFactory
from thrift.protocol.THeaderProtocol import THeaderProtocol
from thrift.protocol.TJSONProtocol import TJSONProtocolFactory
from thrift.transport.THeaderTransport import THeaderClientType
from thrift.transport.TSocket import TSocket
from thrift.transport.TTransport import TBufferedTransport, TFramedTransport
from thrift.transport.TZlibTransport import TZlibTransport

from thrift_bridge import (
    AsyncClient,
    Client,
    ConfigError,
    ConnectError,
    ProtocolError,
    ThriftBridgeError,
    TransportError,
    parse_url,
)
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.testing import serve, serve_raw

from .gunicorn import Gunicorn, free_port
from .handlers import CustomerServiceHandler

if TYPE_CHECKING:
    import socket

_TRANSPORTS = {"buffered": TBufferedTransport, "framed": TFramedTransport, "zlib": TZlibTransport}
_PROTOCOLS = {
    "binary": TBinaryProtocolFactory,
    "compact": TCompactProtocolFactory,
    "json": TJSONProtocolFactory,
}


def misconfigured(reads: tuple[str, str], writes: tuple[str, str]):
    """A server whose Apache processor reads requests as `reads` (transport, protocol) and
    writes replies as `writes`: Apache's TServer takes input and output factories apart, so a
    server set up with two different ones answers a request it understood in another format."""

    def work(sock: socket.socket) -> None:
        tsocket = TSocket()
        tsocket.setHandle(sock)
        read, write = (
            THeaderProtocol(tsocket, (THeaderClientType.HEADERS,))  # THeader only, binary inside
            if transport == "header"
            else _PROTOCOLS[protocol]().getProtocol(_TRANSPORTS[transport](tsocket))
            for transport, protocol in (reads, writes)
        )
        CustomerService.Processor(CustomerServiceHandler()).process(read, write)

    return work


def call_sync(url: str, *, request=("get_customer", (1,)), **options) -> BaseException:
    """What one call (get_customer(1) unless `request` says) through `Client` raised."""
    options = {"retries": 0, "timeout": 5, **options}
    name, args = request
    with Client(CustomerService, url, **options) as client:
        with pytest.raises(ThriftBridgeError) as caught:
            getattr(client, name)(*args)
    return caught.value


def call_async(url: str, *, request=("get_customer", (1,)), **options) -> BaseException:
    """What one call (get_customer(1) unless `request` says) through `AsyncClient` raised."""
    name, args = request

    async def run() -> BaseException:
        async with AsyncClient(
            CustomerService, url, **{"retries": 0, "timeout": 5, **options}
        ) as client:
            with pytest.raises(ThriftBridgeError) as caught:
                await asyncio.wait_for(getattr(client, name)(*args), 10)
        return caught.value

    return asyncio.run(run())


CALLS = pytest.mark.parametrize("call", [call_sync, call_async], ids=["sync", "async"])

#: (server reads, server writes, the client's query, the hint expected).
MISMATCHES = [
    (
        ("buffered", "binary"),
        ("buffered", "compact"),
        "",
        "the server answered unframed compact Thrift: try protocol=compact",
    ),
    (
        ("buffered", "compact"),
        ("buffered", "binary"),
        "?protocol=compact",
        "the server answered unframed binary Thrift: try protocol=binary",
    ),
    (
        ("buffered", "binary"),
        ("buffered", "json"),
        "",
        "the server answered unframed JSON Thrift: try protocol=json",
    ),
    (
        ("buffered", "json"),
        ("buffered", "binary"),
        "?protocol=json",
        "the server answered unframed binary Thrift: try protocol=binary",
    ),
    (
        ("buffered", "binary"),
        ("framed", "binary"),
        "",
        "the server answered framed binary Thrift: try transport=framed",
    ),
    (
        ("framed", "binary"),
        ("buffered", "binary"),
        "?transport=framed",
        "the server answered unframed binary Thrift: try transport=buffered",
    ),
    (
        ("framed", "compact"),
        ("framed", "binary"),
        "?transport=framed&protocol=compact",
        "the server answered framed binary Thrift: try protocol=binary",
    ),
    (
        ("buffered", "binary"),
        ("zlib", "binary"),
        "",
        "the server answered zlib-compressed Thrift: try transport=zlib",
    ),
    (
        ("zlib", "binary"),
        ("buffered", "binary"),
        "?transport=zlib",
        "the server answered unframed binary Thrift: try transport=buffered",
    ),
    (
        ("buffered", "binary"),
        ("header", "binary"),
        "",
        "the server answered THeader-framed Thrift: try transport=header",
    ),
    (
        ("header", "binary"),
        ("buffered", "binary"),
        "?transport=header",
        "the server answered unframed binary Thrift: try transport=buffered",
    ),
    (
        ("framed", "binary"),
        ("header", "binary"),
        "?transport=framed",
        "the server answered THeader-framed Thrift: try transport=header",
    ),
    (
        ("header", "binary"),
        ("framed", "binary"),
        "?transport=header",
        "the server answered framed binary Thrift: try transport=framed",
    ),
]


@CALLS
@pytest.mark.parametrize(("reads", "writes", "query", "hint"), MISMATCHES)
def test_a_reply_in_another_protocol_or_transport_names_the_option(
    call, reads, writes, query, hint
):
    with serve_raw(misconfigured(reads, writes)) as server:
        error = call(server.url + query)
    assert isinstance(error, ProtocolError)
    assert error.message.startswith(f"{hint} (")


@CALLS
def test_a_web_page_on_a_tcp_url_says_use_http(call):
    # Python's http.server answers Thrift bytes as an HTTP/0.9 request: a bare error page.
    with serve(CustomerService.Processor(CustomerServiceHandler()), scheme="http") as web:
        error = call(f"tcp://127.0.0.1:{web.address[1]}")
    assert isinstance(error, ProtocolError)
    # Python 3.9's error page starts `<!DOCTYPE HTML PUBLIC ...`, later ones `<!DOCTYPE HTML>`.
    assert re.match(
        r"the server answered a web page \('<!DOCTYPE HTML[^']*'\.\.\.\): use an http:// or "
        r"https:// URL \(",
        error.message,
    )


@CALLS
def test_an_http_reply_on_a_tcp_url_says_use_http(call):
    # gunicorn answers bytes that are not HTTP with a status line: 400 Bad Request, once it
    # has a request line (gunicorn 23, the last for Python 3.9, waits for its CRLF).
    env = {"DJANGO_SETTINGS_MODULE": "examples.django_app.settings"}
    web = Gunicorn("examples.django_app.wsgi:application", env, "/")
    try:
        error = call(f"tcp://127.0.0.1:{web.port}", request=("search", ("\r\n\r\n", 1)))
    finally:
        web.stop()
    assert isinstance(error, ProtocolError)
    assert re.match(
        r"the server answered in HTTP \('HTTP/1\.[01] 400 Bad Request'\): use an http:// or "
        r"https:// URL \(",
        error.message,
    )


@CALLS
def test_a_tls_server_on_a_plain_url_closes_and_the_hint_names_tcps(call, server_ssl_context):
    # OpenSSL answers a plaintext request with no byte at all (checked: Python's ssl server
    # resets, `openssl s_server` closes): the hint lists what a server that closes may expect.
    processor = CustomerService.Processor(CustomerServiceHandler())
    with serve(processor, scheme="tcps", ssl_context=server_ssl_context) as tls_server:
        error = call(f"tcp://127.0.0.1:{tls_server.address[1]}")
    assert isinstance(error, TransportError)
    assert error.message.startswith(
        "the server closed the connection without replying; if every call fails so, it may "
        "expect TLS (tcps://), HTTP, or another protocol= or transport= than protocol=binary, "
        "transport=buffered ("
    )


def openssl_alert(server_cert) -> bytes:
    """The bytes of a TLS alert, made by OpenSSL's own server engine: it refuses a TLS 1.2
    ClientHello when it accepts TLS 1.3 only (`protocol_version`)."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    client.maximum_version = ssl.TLSVersion.TLSv1_2
    hello_in, hello_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    with pytest.raises(ssl.SSLWantReadError):
        client.wrap_bio(hello_in, hello_out).do_handshake()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(server)
    server.minimum_version = ssl.TLSVersion.TLSv1_3
    alert_in, alert_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    alert_in.write(hello_out.read())
    with pytest.raises(ssl.SSLError, match="UNSUPPORTED_PROTOCOL"):
        server.wrap_bio(alert_in, alert_out, server_side=True).do_handshake()
    alert = alert_out.read()
    assert alert[:3] == b"\x15\x03\x03"  # an alert record, TLS 1.2 framing
    return alert


@CALLS
@pytest.mark.parametrize(
    ("scheme", "hint"),
    [
        ("tcp", "the server answered in TLS: use the tcps:// scheme ("),
        ("http", "the server answered in TLS, not HTTP: use an https:// URL ("),
    ],
)
def test_tls_bytes_on_a_plain_url_say_use_tls(call, scheme, hint, server_cert):
    """A TLS peer that answers a plaintext request with an alert (OpenSSL's own servers
    send nothing and close: see the test above)."""
    alert = openssl_alert(server_cert)

    def answer_in_tls(sock: socket.socket) -> None:
        sock.recv(65536)
        sock.sendall(alert)

    with serve_raw(answer_in_tls) as peer:
        error = call(f"{scheme}://127.0.0.1:{peer.address[1]}/" if scheme == "http" else peer.url)
    assert isinstance(error, TransportError)
    assert error.message.startswith(hint)


@CALLS
def test_a_server_that_closes_on_another_protocol_names_the_options(call):
    processor = CustomerService.Processor(CustomerServiceHandler())
    with serve(processor) as binary_server:  # Apache's binary server closes on compact bytes
        error = call(binary_server.url + "?protocol=compact")
    assert isinstance(error, TransportError)
    assert "than protocol=compact, transport=buffered (" in error.message


@CALLS
def test_a_plain_server_on_a_tls_url_says_use_the_plain_scheme(call, ca_file):
    with serve(CustomerService.Processor(CustomerServiceHandler())) as plain:
        error = call(plain.url.replace("tcp://", "tcps://"), ca_certs=ca_file)
    assert isinstance(error, ConnectError)
    assert re.match(
        r"TLS failed: .*: the server closed the connection during the handshake; it may not "
        r"speak TLS \(then use the tcp:// scheme\)",
        error.message,
    )


@CALLS
def test_an_http_server_on_an_https_url_says_use_http(call, ca_file):
    with serve(CustomerService.Processor(CustomerServiceHandler()), scheme="http") as web:
        error = call(web.url.replace("http://", "https://"), ca_certs=ca_file)
    assert isinstance(error, ConnectError)
    assert re.match(
        r"TLS failed: .*WRONG_VERSION_NUMBER.*: the server answered the handshake with bytes "
        r"that are not TLS; it probably speaks plaintext: use the http:// scheme$",
        error.message,
    )


@CALLS
def test_a_thrift_socket_on_an_http_url_says_use_tcp(call):
    with serve(CustomerService.Processor(CustomerServiceHandler())) as plain:
        error = call(f"http://127.0.0.1:{plain.address[1]}/")
    assert isinstance(error, TransportError)
    assert error.message.startswith(
        "the server closed the connection without replying; if every call fails so, it may "
        "expect Thrift over a plain socket (tcp://), TLS (https://) ("
    )


@CALLS
def test_a_tls_server_on_an_http_url_names_https(call, server_ssl_context):
    processor = CustomerService.Processor(CustomerServiceHandler())
    with serve(processor, scheme="https", ssl_context=server_ssl_context) as tls_web:
        error = call(tls_web.url.replace("https://", "http://"))
    assert isinstance(error, TransportError)
    assert "it may expect Thrift over a plain socket (tcp://), TLS (https://)" in error.message


@CALLS
@pytest.mark.parametrize("scheme", ["tcps", "https"])
def test_an_untrusted_certificate_names_ca_certs_and_its_adapter_settings(
    call, scheme, server_ssl_context
):
    processor = CustomerService.Processor(CustomerServiceHandler())
    with serve(processor, scheme=scheme, ssl_context=server_ssl_context) as server:
        error = call(server.url)  # certifi's bundle: the session CA is not in it
    assert isinstance(error, ConnectError)
    assert re.match(
        r"TLS failed: .*certificate verify failed: unable to get local issuer certificate.*: "
        r"the server's certificate is not signed by a CA in certifi's CA bundle; give the CA "
        r"file that signed it as ca_certs \(the ca_certs= option or URL query; Flask: "
        r"THRIFTCLIENT_SSL_CA_CERTS, or <prefix>_SSL_CA_CERTS; Django and ClientRegistry: "
        r'OPTIONS=\{"ca_certs": \.\.\.\}\), or ca_certs=system for the OS store$',
        error.message,
    )


@CALLS
def test_a_host_name_mismatch_names_server_hostname(call, server_ssl_context, ca_file):
    processor = CustomerService.Processor(CustomerServiceHandler())
    with serve(processor, scheme="tcps", ssl_context=server_ssl_context) as server:
        error = call(server.url, ca_certs=ca_file, server_hostname="elsewhere.example")
    assert isinstance(error, ConnectError)
    assert error.message.endswith(
        ": the certificate is not valid for 'elsewhere.example'; connect by a name it holds, "
        "or set server_hostname to one"
    )


def test_the_flask_adapter_names_its_ca_setting(server_ssl_context):
    from flask import Flask

    from thrift_bridge.adapters.flask import ThriftClient

    processor = CustomerService.Processor(CustomerServiceHandler())
    with serve(processor, scheme="tcps", ssl_context=server_ssl_context) as server:
        app = Flask(__name__)
        app.config["THRIFTCLIENT_TRANSPORT"] = server.url
        app.config["THRIFTCLIENT_RETRIES"] = 0
        thriftclient = ThriftClient(CustomerService.Client, app)
        with app.app_context(), pytest.raises(ConnectError) as caught:
            thriftclient.client.get_customer(1)
        thriftclient.close(app)
    assert "THRIFTCLIENT_SSL_CA_CERTS" in caught.value.message


SECRET = "s3cr3t-Pa55"


# A user name holding '/' or '?' ends the authority there: what follows is a path, and the URL
# a valid one for another host (nothing to detect).
@pytest.mark.parametrize(
    "userinfo",
    [
        *(f"alice:{SECRET}{char}x" for char in "@#/?"),
        *(f"al{char}ice:{SECRET}" for char in "@#"),
    ],
)
def test_user_info_with_a_reserved_character_says_percent_encode(userinfo):
    with pytest.raises(ConfigError) as caught:
        parse_url(f"https://{userinfo}@host.example/rpc")
    message = str(caught.value)
    assert message.startswith(
        "the host and port cannot be told from the user info: a user name or password holding "
        "'@', ':', '/', '?' or '#' must be percent-encoded ('@' as %40,"
    )
    assert SECRET not in message
    assert SECRET not in repr(caught.value)


@CALLS
def test_several_endpoints_list_every_attempt_and_log_each_retry(call, caplog):
    caplog.set_level(logging.DEBUG, logger="thrift_bridge")
    down = [f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"]  # nobody there
    processor = CustomerService.Processor(CustomerServiceHandler())
    with serve(processor, transport="framed") as framed:
        urls = [*down, framed.url.split("?")[0]]  # a buffered client: the server closes
        error = call(
            urls,
            retries=4,
            retry_backoff=0,
            cooldown=30,
            idempotent={"get_customer"},
        )
    assert isinstance(error, TransportError)
    message = error.message
    assert re.search(r"\[5 attempts: ", message), message
    attempts = message.split("[5 attempts: ", 1)[1]
    for url in down:  # each endpoint, and why it failed
        assert re.search(rf"{re.escape(url)}\?timeout=5\.0: ConnectError: ", attempts), attempts
    assert re.search(
        rf"{re.escape(urls[2])}\?timeout=5\.0: TransportError: the server closed the "
        r"connection without replying.* \(x\d\)",
        attempts,
    ), attempts
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retry ")]
    assert len(retries) == 4
    assert all(re.match(r"retry \d of CustomerService\.get_customer on ", r) for r in retries)
    skipped = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert any(down[0] in line and "cooling down" in line for line in skipped), skipped
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "thrift_bridge")


def test_a_reply_in_the_right_protocol_gets_no_hint():
    """A reply the bytes of which match the URL fails for its own reason, told unhinted."""

    def stale_reply(sock: socket.socket) -> None:
        sock.recv(65536)
        name = b"get_customer"
        head = struct.pack("!Ii", 0x80010002, len(name)) + name + struct.pack("!i", 999)
        sock.sendall(head + b"\x00")  # a binary reply to another call: out of step

    with serve_raw(stale_reply) as raw:
        error = call_sync(raw.url)
    assert isinstance(error, ProtocolError)
    assert error.message.startswith("reply out of step: got 'get_customer' #999")


@pytest.mark.parametrize(
    ("raised", "words"),
    [
        (ConnectionResetError(), "TLS failed: the connection was reset: the server closed"),
        (TimeoutError(), "TLS failed: TimeoutError"),
        (ssl.SSLEOFError(8, "EOF occurred"), "TLS failed: EOF occurred: the server closed"),
    ],
)
def test_a_tls_failure_without_words_of_its_own_still_says_what_happened(raised, words):
    from thrift_bridge import parse_url
    from thrift_bridge._tls import tls_failure

    message = tls_failure(raised, parse_url("tcps://127.0.0.1:9"))
    assert message.startswith(words)
    assert "TLS failed: :" not in message
