"""The Flask adapter with Flask's test client against real Thrift servers."""

from __future__ import annotations

import contextlib
import gc
import logging
import re
import threading
import time
import urllib.request
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.transport.TSocket import TSocket
from thrift.transport.TTransport import TFramedTransport
from thrift.transport.TZlibTransport import TZlibTransport

from thrift_bridge import (
    ConfigError,
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    ReadTimeout,
    TransportError,
)
from thrift_bridge.adapters import ClientRegistry
from thrift_bridge.adapters.flask import Thrift_Client, ThriftClient
from thrift_bridge.demo._service import CustomerServiceHandler
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.testing import serve, serve_raw

from .generated.alltypes import AllTypes
from .generated.calculator import Calculator
from .gunicorn import Gunicorn, pids_answering
from .handlers import CalculatorHandler

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo_url():
    with serve(CustomerService.Processor(CustomerServiceHandler())) as server:
        yield server.url


@pytest.fixture
def calc_url():
    with serve(Calculator.Processor(CalculatorHandler())) as server:
        yield server.url


# --- flask-thriftclient's README examples, verbatim but for the import -----------------------


def test_readme_introduction(demo_url):
    MyService = CustomerService  # noqa: N806 - the README's name

    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = demo_url

    thriftclient = ThriftClient(MyService.Client, app)

    @app.route("/")
    def home():
        data = thriftclient.client.ping()
        return data

    assert app.test_client().get("/").data == b"pong"


def test_readme_connection_modes(demo_url):
    MyService = CustomerService  # noqa: N806

    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = demo_url
    app.config["THRIFTCLIENT_ALWAYS_CONNECT"] = False

    thriftclient = ThriftClient(MyService.Client, app)

    @app.route("/with_autoconnect")
    @thriftclient.autoconnect
    def with_autoconnect():
        data = thriftclient.client.ping()
        return data

    @app.route("/with_context")
    def with_context():
        with thriftclient.connect():
            data = thriftclient.client.ping()
            return data

    @app.route("/with_manual_connection")
    def with_manual_connection():
        thriftclient.transport.open()
        data = thriftclient.client.ping()
        thriftclient.transport.close()
        return data

    web = app.test_client()
    for path in ("/with_autoconnect", "/with_context", "/with_manual_connection"):
        assert web.get(path).data == b"pong"
    with app.app_context():
        stats = thriftclient.pool.stats()
    assert stats["in_use"] == 0
    assert stats["created"] == 1  # one pooled connection served all three modes


def test_readme_ssl_options(demo_url, server_ssl_context, ca_file, caplog):
    with serve(
        CustomerService.Processor(CustomerServiceHandler()),
        scheme="tcps",
        ssl_context=server_ssl_context,
    ) as tls_server:
        MyService = CustomerService  # noqa: N806
        app = Flask(__name__)
        app.config["THRIFTCLIENT_SSL_VALIDATE"] = False
        app.config["THRIFTCLIENT_TRANSPORT"] = tls_server.url
        insecure = ThriftClient(MyService.Client, app)
        other = Flask(__name__)
        other.config["THRIFTCLIENT_SSL_CA_CERTS"] = ca_file
        other.config["THRIFTCLIENT_TRANSPORT"] = tls_server.url
        verified = ThriftClient(MyService.Client, other)
        with caplog.at_level(logging.WARNING, logger="thrift_bridge"), app.app_context():
            assert insecure.client.ping() == "pong"
        assert any("validation is disabled" in r.getMessage() for r in caplog.records)
        with other.app_context():
            assert verified.client.ping() == "pong"
        insecure.close(app)
        verified.close(other)


@pytest.mark.parametrize("scheme", ["tcps", "https"])
def test_validation_off_with_a_ca_file_set_works_with_one_warning(
    scheme, server_ssl_context, tmp_path, caplog
):
    """A dev config turning validation off over a base config that sets the CA file: accepted
    by Flask, the registry (Django's OPTIONS) and parse_url alike, one warning per endpoint.
    The CA file given did not sign the server's certificate: validation is really off."""
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    processor = CustomerService.Processor(CustomerServiceHandler())
    with serve(processor, scheme=scheme, ssl_context=server_ssl_context) as tls_server:
        app = Flask(__name__)
        app.config["THRIFTCLIENT_TRANSPORT"] = tls_server.url
        app.config["THRIFTCLIENT_SSL_CA_CERTS"] = str(other_ca)  # the base config
        app.config["THRIFTCLIENT_SSL_VALIDATE"] = False  # the dev override
        thriftclient = ThriftClient(CustomerService.Client, app)
        options = {"ca_certs": str(other_ca), "validate": False}
        registry = ClientRegistry(
            {"demo": {"service": CustomerService, "url": tls_server.url, "OPTIONS": options}}
        )
        with caplog.at_level(logging.WARNING, logger="thrift_bridge"):
            with app.app_context():
                assert [thriftclient.client.ping() for _ in range(3)] == ["pong"] * 3
            assert [registry["demo"].ping() for _ in range(3)] == ["pong"] * 3
        thriftclient.close(app)
        registry.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings  # one endpoint, warned once
    assert "validation is disabled" in warnings[0]


def test_readme_protocol_constants(calc_url):
    for constant in (ThriftClient.BINARY, ThriftClient.COMPACT, ThriftClient.JSON, "COMPACT"):
        with serve(Calculator.Processor(CalculatorHandler()), protocol=constant.lower()) as server:
            app = Flask(__name__)
            app.config["THRIFTCLIENT_TRANSPORT"] = server.url.split("?")[0]
            app.config["THRIFTCLIENT_PROTOCOL"] = constant
            ext = Thrift_Client(Calculator.Client, app)
            with app.app_context():
                assert ext.client.add(2, 3) == 5
            ext.close(app)


@pytest.mark.parametrize(
    ("url", "where"),
    [  # every URL of flask-thriftclient's "Transport" and "SSL" sections
        ("tcp://127.0.0.1", ("127.0.0.1", 9090, "")),
        ("tcp://localhost:1234/", ("localhost", 1234, "")),
        ("http://myservice.local/", ("myservice.local", 80, "/")),
        ("unix:///tmp/mysocket", ("localhost", 0, "/tmp/mysocket")),
        ("unix:/tmp/mysocket", ("localhost", 0, "/tmp/mysocket")),
        ("unix:./mysocket", ("localhost", 0, "./mysocket")),
        ("https://myserver/", ("myserver", 443, "/")),
        ("unixs:/tmp/mysocket", ("localhost", 0, "/tmp/mysocket")),
        ("tcps://localhost:5533/", ("localhost", 5533, "")),
    ],
)
def test_readme_transport_urls_need_no_server_at_init_app(url, where):
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = url
    ext = ThriftClient(Calculator.Client, app)
    with app.app_context():
        endpoint = ext.pool.endpoints[0]
        assert (endpoint.host, endpoint.port, endpoint.path) == where
        assert ext.pool.stats()["created"] == 0


def test_readme_ssl_snippet_verbatim(tmp_path, monkeypatch, ca_file):
    monkeypatch.chdir(tmp_path)
    Path("cacert.pem").write_bytes(Path(ca_file).read_bytes())
    MyService = Calculator  # noqa: N806
    app, other = Flask(__name__), Flask(__name__)

    app.config["THRIFTCLIENT_SSL_VALIDATE"] = False
    app.config["THRIFTCLIENT_TRANSPORT"] = "https://127.0.0.1/"

    # or

    other.config["THRIFTCLIENT_SSL_CA_CERTS"] = "./cacert.pem"
    other.config["THRIFTCLIENT_TRANSPORT"] = "https://127.0.0.1/"

    # flask-thriftclient crashed on the first with current thrift; both build, without I/O.
    insecure, verified = ThriftClient(MyService.Client, app), ThriftClient(MyService.Client, other)
    with app.app_context():
        assert insecure.pool.endpoints[0].validate is False
    with other.app_context():
        assert verified.pool.endpoints[0].ca_certs == "./cacert.pem"


# --- every config key ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "check"),
    [
        (
            {},
            lambda c: (c.endpoints[0].url, c.settings.pool_size) == ("tcp://localhost:9090", 8),
        ),
        ({"PROTOCOL": "json"}, lambda c: c.endpoints[0].protocol == "json"),
        ({"FRAMED": True}, lambda c: c.endpoints[0].transport == "framed"),
        ({"ZLIB": True}, lambda c: c.endpoints[0].transport == "zlib"),
        ({"FRAMED": True, "ZLIB": True}, lambda c: c.endpoints[0].zlib),
        ({"BUFFERED": True}, lambda c: c.endpoints[0].transport == "buffered"),
        (
            {"TIMEOUT": 2, "CONNECT_TIMEOUT": "500ms"},
            lambda c: c.endpoints[0].connect_timeout == 0.5,
        ),
        (
            {"POOL_SIZE": 3, "POOL_TIMEOUT": 1},
            lambda c: (c.settings.pool_size, c.settings.pool_timeout) == (3, 1),
        ),
        ({"RETRIES": 0}, lambda c: c.settings.retry.retries == 0),
        ({"TELEMETRY": False}, lambda c: c.settings.telemetry is False),
        (
            {"TRANSPORT": "tcps://h:1", "SSL_VALIDATE": False},
            lambda c: c.endpoints[0].validate is False,
        ),
        (
            {"TRANSPORT": "tcps://h:1", "SSL_CA_CERTS": "system"},
            lambda c: c.endpoints[0].ca_certs == "system",
        ),
    ],
)
def test_config_keys(config, check):
    app = Flask(__name__)
    app.config.update({f"THRIFTCLIENT_{k}": v for k, v in config.items()})
    ext = ThriftClient(Calculator.Client, app)
    with app.app_context():
        assert check(ext.pool)
    ext.close(app)


def _framed_zlib_calculator(sock):
    """A Calculator server speaking zlib inside frames (Apache's classes; testing has none)."""
    tsocket = TSocket()
    tsocket.setHandle(sock)
    protocol = TBinaryProtocol(TZlibTransport(TFramedTransport(tsocket)))
    processor = Calculator.Processor(CalculatorHandler())
    with contextlib.suppress(Exception):  # the peer hung up
        while True:
            processor.process(protocol, protocol)


@pytest.mark.parametrize(
    ("server", "config"),
    [
        ({"transport": "framed"}, {"FRAMED": True}),
        ({"transport": "zlib"}, {"ZLIB": True}),
        ("framed+zlib", {"FRAMED": True, "ZLIB": True}),
        ({}, {"BUFFERED": True}),
        ({"protocol": "compact"}, {"PROTOCOL": ThriftClient.COMPACT}),
        ({"protocol": "json"}, {"PROTOCOL": "json"}),
        ({"transport": "framed", "protocol": "compact"}, {"FRAMED": True, "PROTOCOL": "COMPACT"}),
        ({"protocol": "compact"}, {"URL_QUERY": "?protocol=compact&timeout=2"}),
    ],
)
def test_wire_keys_against_real_servers(thrift_server, server, config):
    config = dict(config)
    with contextlib.ExitStack() as stack:
        if server == "framed+zlib":
            url = stack.enter_context(serve_raw(_framed_zlib_calculator)).url
        else:
            url = thrift_server("calculator", **server).url.split("?")[0]
        app = Flask(__name__)
        app.config["THRIFTCLIENT_TRANSPORT"] = url + config.pop("URL_QUERY", "")
        app.config.update({f"THRIFTCLIENT_{k}": v for k, v in config.items()})
        ext = ThriftClient(Calculator.Client, app)
        stack.callback(ext.close, app)
        app.add_url_rule("/", "add", lambda: str(ext.client.add(20, 22)))
        assert app.test_client().get("/").data == b"42"
        assert app.test_client().get("/").data == b"42"
        with app.app_context():
            assert ext.pool.stats()["created"] == 1


@pytest.mark.parametrize("scheme", ["unix", "unix-short", "http", "https", "unixs", "tcps-mtls"])
def test_schemes_and_tls_keys_against_real_servers(
    thrift_server,
    scheme,
    socket_dir,
    server_ssl_context,
    mtls_server_ssl_context,
    ca_file,
    client_cert,
):
    config = {}
    if scheme.startswith("unix"):
        path = f"{socket_dir}/calc.sock"
        tls = {"ssl_context": server_ssl_context} if scheme == "unixs" else {}
        server = thrift_server("calculator", scheme=scheme.split("-")[0], socket_path=path, **tls)
        url = server.url if scheme != "unix-short" else f"unix:{path}"
    elif scheme == "tcps-mtls":
        server = thrift_server("calculator", scheme="tcps", ssl_context=mtls_server_ssl_context)
        url = server.url
        config = {"SSL_CERTFILE": client_cert[0], "SSL_KEYFILE": client_cert[1]}
    else:
        tls = {"ssl_context": server_ssl_context} if scheme == "https" else {}
        url = thrift_server("calculator", scheme=scheme, **tls).url
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = url
    if scheme in ("https", "unixs", "tcps-mtls"):
        app.config["THRIFTCLIENT_SSL_CA_CERTS"] = ca_file
    app.config.update({f"THRIFTCLIENT_{k}": v for k, v in config.items()})
    ext = ThriftClient(Calculator.Client, app)
    app.add_url_rule("/", "add", lambda: str(ext.client.add(40, 2)))
    assert app.test_client().get("/").data == b"42"
    ext.close(app)


def test_mutual_tls_refused_without_the_client_certificate(
    thrift_server, mtls_server_ssl_context, ca_file
):
    server = thrift_server("calculator", scheme="tcps", ssl_context=mtls_server_ssl_context)
    app = Flask(__name__)
    app.config.update(
        THRIFTCLIENT_TRANSPORT=server.url, THRIFTCLIENT_SSL_CA_CERTS=ca_file, THRIFTCLIENT_RETRIES=0
    )
    ext = ThriftClient(Calculator.Client, app)
    with app.app_context(), pytest.raises(TransportError):
        ext.client.add(1, 1)
    ext.close(app)


def test_timeout_bounds_a_call_that_never_answers(thrift_server):
    # flask-thriftclient had no timeout at all: such a request hung its worker forever.
    server = thrift_server("alltypes")
    app = Flask(__name__)
    app.config.update(THRIFTCLIENT_TRANSPORT=server.url, THRIFTCLIENT_TIMEOUT=0.1)
    ext = ThriftClient(AllTypes.Client, app)
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(ReadTimeout):
            ext.client.slow_echo("x", 0.6)
        assert time.monotonic() - started < 0.5  # not retried: slow_echo is not idempotent
        assert ext.client.slow_echo("y", 0) == "y"  # a fresh connection for the next call
    ext.close(app)


def test_connect_timeout_bounds_a_stalled_tls_handshake():
    def silent(sock):  # accepts, then never answers the TLS client hello
        with contextlib.suppress(OSError):
            while sock.recv(4096):
                pass

    with serve_raw(silent) as server:
        app = Flask(__name__)
        app.config.update(
            THRIFTCLIENT_TRANSPORT=server.url.replace("tcp://", "tcps://"),
            THRIFTCLIENT_CONNECT_TIMEOUT="200ms",
            THRIFTCLIENT_RETRIES=0,
        )
        ext = ThriftClient(Calculator.Client, app)
        with app.app_context():
            started = time.monotonic()
            with pytest.raises(ConnectTimeout):
                ext.client.add(1, 1)
            assert time.monotonic() - started < 1.5
        ext.close(app)


def test_pool_size_and_pool_timeout_bound_the_connections(calc_url):
    app = Flask(__name__)
    app.config.update(
        THRIFTCLIENT_TRANSPORT=calc_url, THRIFTCLIENT_POOL_SIZE=1, THRIFTCLIENT_POOL_TIMEOUT=0.1
    )
    ext = ThriftClient(Calculator.Client, app)
    errors = []

    def other_thread():
        with app.app_context():
            try:
                ext.client.add(1, 1)
            except PoolTimeout as exc:
                errors.append(exc)

    with app.app_context(), ext.connect():  # holds the only connection
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join(10)
    assert len(errors) == 1
    with app.app_context():
        assert ext.client.add(1, 1) == 2  # free again after the block
    ext.close(app)


@pytest.mark.parametrize("retries", [0, 2])
def test_retries_key_retries_failed_connects(closed_port, retries):
    app = Flask(__name__)
    app.config.update(
        THRIFTCLIENT_TRANSPORT=f"tcp://127.0.0.1:{closed_port}", THRIFTCLIENT_RETRIES=retries
    )
    ext = ThriftClient(Calculator.Client, app)
    with app.app_context():
        with pytest.raises(ConnectError):
            ext.client.add(1, 1)
        assert ext.pool.stats()["retries"] == retries
    ext.close(app)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"TRANSPORT": "ftp://h"}, "invalid THRIFTCLIENT_TRANSPORT: unknown scheme 'ftp'"),
        ({"TRANSPORT": 9090}, "invalid THRIFTCLIENT_TRANSPORT 9090 (expected an endpoint URL"),
        ({"TRANSPORT": None}, "invalid THRIFTCLIENT_TRANSPORT None (expected an endpoint URL"),
        ({"TRANSPORT": "tcp://h/path"}, "invalid THRIFTCLIENT_TRANSPORT: a tcp URL has no path"),
        ({"PROTOCOL": "XML"}, "invalid THRIFTCLIENT_PROTOCOL 'XML' (expected ThriftClient.BINARY"),
        ({"PROTOCOL": 2}, "invalid THRIFTCLIENT_PROTOCOL 2 (expected ThriftClient.BINARY"),
        ({"FRAMED": "yes"}, "invalid THRIFTCLIENT_FRAMED 'yes' (expected True or False)"),
        ({"ZLIB": 1}, "invalid THRIFTCLIENT_ZLIB 1 (expected True or False)"),
        ({"BUFFERED": None}, "invalid THRIFTCLIENT_BUFFERED None (expected True or False)"),
        ({"SSL_VALIDATE": "no"}, "invalid THRIFTCLIENT_SSL_VALIDATE 'no' (expected True or"),
        ({"ALWAYS_CONNECT": 1}, "invalid THRIFTCLIENT_ALWAYS_CONNECT 1 (expected True or False)"),
        ({"POOL_SIZE": 0}, "invalid THRIFTCLIENT_POOL_SIZE 0 (expected a whole number >= 1)"),
        ({"POOL_TIMEOUT": "5"}, "invalid THRIFTCLIENT_POOL_TIMEOUT '5' (expected a number of"),
        ({"RETRIES": -1}, "invalid THRIFTCLIENT_RETRIES -1 (expected a whole number >= 0)"),
        ({"TIMEOUT": -1}, "invalid THRIFTCLIENT_TIMEOUT: invalid timeout -1 (expected seconds"),
        ({"CONNECT_TIMEOUT": "soon"}, "invalid THRIFTCLIENT_CONNECT_TIMEOUT: invalid connect_"),
        ({"SSL_CA_CERTS": "/ca.pem"}, "THRIFTCLIENT_SSL_CA_CERTS applies to tcps, unixs and https"),
        ({"SSL_CERTFILE": "/c.pem"}, "THRIFTCLIENT_SSL_CERTFILE applies to tcps, unixs and https"),
        (
            {"TRANSPORT": "tcps://h", "SSL_CA_CERTS": "/nope.pem"},
            "invalid THRIFTCLIENT_SSL_CA_CERTS '/nope.pem': no such file (expected the path of a "
            "PEM file, 'system' for the OS store, or None for certifi's bundle)",
        ),
        (
            {"TRANSPORT": "tcps://h", "SSL_CERTFILE": "/nope.pem"},
            "invalid THRIFTCLIENT_SSL_CERTFILE '/nope.pem': no such file",
        ),
        (
            {"TRANSPORT": "tcps://h", "SSL_KEYFILE": "/k.pem"},
            "THRIFTCLIENT_SSL_KEYFILE needs THRIFTCLIENT_SSL_CERTFILE",
        ),
        (
            {"TRANSPORT": "http://h", "FRAMED": True},
            "invalid THRIFTCLIENT_FRAMED: transport 'framed' is not supported over http",
        ),
        ({"TRANSPORT": "http://h", "ZLIB": True}, "invalid THRIFTCLIENT_ZLIB: option 'zlib'"),
        (
            {"TRANSPORT": "tcp://h?timeout=1", "TIMEOUT": 2},
            "invalid THRIFTCLIENT_TIMEOUT: option 'timeout' given both in the URL and as a",
        ),
        ({"TIMOUT": 3}, "unknown setting 'THRIFTCLIENT_TIMOUT' (did you mean 'THRIFTCLIENT_TIME"),
        ({"POOLSIZE": 3}, "unknown setting 'THRIFTCLIENT_POOLSIZE' (did you mean 'THRIFTCLIENT_P"),
    ],
)
def test_bad_config_fails_at_init_app_naming_the_key(config, message):
    app = Flask(__name__)
    app.config.update({f"THRIFTCLIENT_{k}": v for k, v in config.items()})
    ext = ThriftClient(Calculator.Client)
    with pytest.raises(ConfigError, match=re.escape(message)):
        ext.init_app(app)
    assert isinstance(ConfigError("x"), ValueError)
    assert "thriftclient" not in app.extensions  # nothing half-registered


def test_config_prefix_is_checked():
    with pytest.raises(ConfigError, match="invalid config_prefix ''"):
        ThriftClient(Calculator.Client, config_prefix="")


def test_other_prefixes_are_not_mistaken_for_typos():
    app = Flask(__name__)
    app.config["THRIFTCLIENT_CALC_TRANSPORT"] = "tcp://127.0.0.1:1"  # another extension's key
    app.config["THRIFTCLIENT_CALC_FRAMED"] = True  # close to FRAMED, but a longer prefix's key
    app.config["THRIFTCLIENT_EXTRA_NOTE"] = "not ours"
    ThriftClient(Calculator.Client, app)
    ThriftClient(Calculator.Client, app, config_prefix="THRIFTCLIENT_CALC")
    assert sorted(app.extensions["thriftclient"]) == ["THRIFTCLIENT", "THRIFTCLIENT_CALC"]


# --- behaviour -------------------------------------------------------------------------------


def test_no_connection_opened_for_requests_that_do_not_call_thrift(calc_url):
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = calc_url
    ext = ThriftClient(Calculator.Client, app)
    app.add_url_rule("/static-page", "page", lambda: "hello")
    web = app.test_client()
    for _ in range(5):
        assert web.get("/static-page").data == b"hello"
    with app.app_context():
        assert ext.pool.stats()["created"] == 0
    ext.close(app)


def test_pinned_connection_released_at_teardown_even_when_the_view_raises(calc_url):
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = calc_url
    app.config["THRIFTCLIENT_ALWAYS_CONNECT"] = False
    ext = ThriftClient(Calculator.Client, app)

    @app.route("/boom")
    def boom():
        ext.transport.open()
        ext.client.add(1, 1)
        raise RuntimeError("view failed")

    @app.route("/forgot-close")
    def forgot_close():
        ext.transport.open()
        return str(ext.client.add(1, 1))

    @app.route("/autoconnect-boom")
    @ext.autoconnect
    def autoconnect_boom():
        ext.client.add(1, 1)
        raise KeyError("view failed")

    web = app.test_client()
    assert web.get("/boom").status_code == 500
    assert web.get("/forgot-close").data == b"2"
    assert web.get("/autoconnect-boom").status_code == 500
    with app.app_context():
        stats = ext.pool.stats()
        assert stats["in_use"] == 0
        assert stats["discarded"] == 0
        assert not ext.transport.isOpen()
    ext.close(app)


def test_connect_block_that_raises_returns_the_connection(calc_url):
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = calc_url
    ext = ThriftClient(Calculator.Client, app)
    with app.app_context():

        def failing_block():
            with ext.connect():
                ext.client.add(1, 1)
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            failing_block()
        assert ext.pool.stats()["in_use"] == 0
        assert not hasattr(g, "_thriftclient_pinned_THRIFTCLIENT")
    ext.close(app)


def test_two_services_in_one_app(demo_url, calc_url):
    app = Flask(__name__)
    app.config["CUSTOMERS_TRANSPORT"] = demo_url
    app.config["CALC_TRANSPORT"] = calc_url
    customers = ThriftClient(CustomerService.Client, app, config_prefix="CUSTOMERS")
    calc = ThriftClient(Calculator.Client, app, config_prefix="CALC")

    @app.route("/")
    def both():
        return f"{customers.client.ping()} {calc.client.add(20, 22)}"

    @app.route("/pinned")
    def pinned_both():
        with customers.connect() as one, calc.connect() as two:
            assert (customers.client, calc.client) == (one, two)
            return f"{customers.client.ping()} {calc.client.add(1, 1)}"

    web = app.test_client()
    assert web.get("/").data == b"pong 42"
    assert web.get("/pinned").data == b"pong 2"
    registry = app.extensions["thriftclient"]  # one registry per app, one alias per prefix
    assert isinstance(registry, ClientRegistry)
    assert sorted(registry) == ["CALC", "CUSTOMERS"]
    assert registry["CALC"].stats()["in_use"] == registry["CUSTOMERS"].stats()["in_use"] == 0
    customers.close(app)
    calc.close(app)


def test_app_factory_several_apps_per_extension(calc_url):
    with serve(Calculator.Processor(CalculatorHandler()), protocol="compact") as other:
        ext = ThriftClient(Calculator.Client)

        def create_app(url, protocol):
            app = Flask(__name__)
            app.config["THRIFTCLIENT_TRANSPORT"] = url
            app.config["THRIFTCLIENT_PROTOCOL"] = protocol
            ext.init_app(app)
            app.add_url_rule("/", "add", lambda: str(ext.client.add(1, 2)))
            return app

        one = create_app(calc_url, "BINARY")
        two = create_app(other.url.split("?")[0], "COMPACT")
        assert one.test_client().get("/").data == b"3"
        assert two.test_client().get("/").data == b"3"
        with one.app_context():
            assert ext.pool.endpoints[0].protocol == "binary"
        with two.app_context():
            assert ext.pool.endpoints[0].protocol == "compact"
        assert not hasattr(ext, "client_instance")  # no state on the extension object
        ext.close(one)
        ext.close(two)


def test_unregistered_app_says_what_to_do():
    ext = ThriftClient(Calculator.Client)
    with Flask(__name__).app_context(), pytest.raises(RuntimeError, match="init_app"):
        ext.client.add(1, 2)
    with pytest.raises(RuntimeError, match="app context"):
        ext.client.add(1, 2)


def test_outside_requests_cli_and_background_threads(calc_url):
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = calc_url
    ext = ThriftClient(Calculator.Client, app)
    assert ext.client.add(1, 1) == 2  # no app context: the app given at construction
    results = []

    def background():
        with app.app_context():
            results.append(ext.client.add(2, 2))

    worker = threading.Thread(target=background)
    worker.start()
    worker.join(10)
    assert results == [4]
    ext.close(app)


def test_flask_cli_command(calc_url):
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = calc_url
    ext = ThriftClient(Calculator.Client)
    ext.init_app(app)

    @app.cli.command("add")
    def add_command():
        print(ext.client.add(2, 40))

    result = app.test_cli_runner().invoke(args=["add"])
    assert (result.exit_code, result.output) == (0, "42\n")
    ext.close(app)


def test_pinning_outside_an_app_context(calc_url):
    app = Flask(__name__)
    app.config.update(THRIFTCLIENT_TRANSPORT=calc_url, THRIFTCLIENT_ALWAYS_CONNECT=False)
    ext = ThriftClient(Calculator.Client, app)
    with ext.connect() as pinned:  # a script or thread without app.app_context()
        assert ext.client is pinned
        assert ext.client.add(1, 2) == 3
        assert ext.transport.isOpen()
        seen = []
        worker = threading.Thread(target=lambda: seen.append(ext.transport.isOpen()))
        worker.start()
        worker.join(10)
        assert seen == [False]  # the pin belongs to this thread only
        with app.app_context():
            assert ext.client is pinned  # same app: the block's connection still applies
    assert not ext.transport.isOpen()
    ext.transport.open()
    ext.transport.open()  # idempotent, as in a view that opens twice
    assert ext.pool.stats()["in_use"] == 1
    ext.transport.close()
    assert ext.pool.stats()["in_use"] == 0
    ext.close(app)


def test_is_open_as_flask_thriftclient_reported_it(calc_url):
    # flask-thriftclient's test_connection: open during each request with ALWAYS_CONNECT.
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = calc_url
    client = ThriftClient(Calculator.Client, app)

    @app.route("/testme")
    def testme():
        return "OK" if client.transport.isOpen() else "KO"

    assert app.test_client().get("/testme").data == b"OK"
    assert not client.transport.isOpen()
    with app.app_context():
        assert client.pool.stats()["created"] == 0  # yet nothing was opened
    app.config["THRIFTCLIENT_ALWAYS_CONNECT"] = False
    assert app.test_client().get("/testme").data == b"KO"


def test_server_down_fails_only_the_views_that_call_it(closed_port):
    # flask-thriftclient's test_connection_no_server: every request got a 500 from
    # before_request, even views that never call Thrift.
    app = Flask(__name__)
    app.config.update(
        THRIFTCLIENT_TRANSPORT=f"tcp://127.0.0.1:{closed_port}", THRIFTCLIENT_RETRIES=0
    )
    client = ThriftClient(Calculator.Client, app)
    app.add_url_rule("/testme", "testme", lambda: "OK")
    app.add_url_rule("/calls", "calls", lambda: str(client.client.add(1, 1)))
    web = app.test_client()
    assert web.get("/testme").data == b"OK"
    assert web.get("/calls").status_code == 500
    with pytest.raises(ConnectError):  # what the view saw
        with app.app_context():
            client.client.add(1, 1)


def test_overlapping_requests_each_get_their_own_connection(calc_url):
    # flask-thriftclient shared one socket: a second overlapping request got a 500 and the
    # first had its socket closed under it.
    app = Flask(__name__)
    app.config.update(THRIFTCLIENT_TRANSPORT=calc_url, THRIFTCLIENT_ALWAYS_CONNECT=False)
    ext = ThriftClient(Calculator.Client, app)
    first_pinned, second_done = threading.Event(), threading.Event()

    @app.route("/slow")
    @ext.autoconnect
    def slow():
        before = ext.client.add(1, 1)
        first_pinned.set()
        second_done.wait(10)
        return f"{before} {ext.client.add(2, 2)}"

    @app.route("/fast")
    def fast():
        return str(ext.client.add(3, 3))

    answers: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: answers.update(slow=app.test_client().get("/slow")))
    worker.start()
    assert first_pinned.wait(10)
    answers["fast"] = app.test_client().get("/fast")
    second_done.set()
    worker.join(10)
    assert (answers["fast"].status_code, answers["fast"].data) == (200, b"6")
    assert (answers["slow"].status_code, answers["slow"].data) == (200, b"2 4")
    with app.app_context():
        assert ext.pool.stats()["created"] == 2
    ext.close(app)


def test_state_lives_in_app_extensions_and_goes_with_the_app(calc_url):
    ext = ThriftClient(Calculator.Client)
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = calc_url
    ext.init_app(app)
    with app.app_context():
        assert ext.client.add(1, 1) == 2
        client = weakref.ref(ext.pool)
    gone = weakref.ref(app)
    del app
    gc.collect()
    assert gone() is None  # the extension keeps no hold on the app
    assert client() is None  # its pool's finalizer closed the idle socket (no ResourceWarning)


def test_16_threads_of_concurrent_requests(demo_url):
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = demo_url
    app.config["THRIFTCLIENT_POOL_SIZE"] = 4
    ext = ThriftClient(CustomerService.Client, app)

    @app.route("/customer/<int:cid>")
    def customer(cid):
        return ext.client.get_customer(cid).name

    @app.route("/pinned/<int:cid>")
    @ext.autoconnect
    def pinned(cid):
        return ext.client.get_customer(cid).name + "|" + ext.client.get_customer(cid).name

    with app.app_context():
        names = {c.id: c.name for c in ext.client.search("", 100)}
    expected = names

    def hammer(n):
        web = app.test_client()
        ok = True
        for i in range(40):
            cid = list(expected)[(n + i) % len(expected)]
            ok &= web.get(f"/customer/{cid}").data.decode() == expected[cid]
            ok &= web.get(f"/pinned/{cid}").data.decode() == f"{expected[cid]}|{expected[cid]}"
        return ok

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(hammer, range(16)))
    with app.app_context():
        stats = ext.pool.stats()
    assert stats["open"] <= 4
    assert stats["in_use"] == 0
    ext.close(app)


# --- the example app under real gunicorn, pre-forked -----------------------------------------


def test_example_app_with_the_test_client(demo_url, monkeypatch):
    monkeypatch.setenv("THRIFTCLIENT_TRANSPORT", demo_url)
    from examples.flask_app.app import create_app

    app = create_app()
    web = app.test_client()
    assert b"<form" in web.get("/").data
    assert b"Ada Lovelace" in web.post("/", data={"customer_id": "1"}).data
    assert b"no customer with id 999" in web.post("/", data={"customer_id": "999"}).data
    assert b"Please enter a customer number." in web.post("/", data={"customer_id": "x"}).data
    body = web.get("/api/customers/1").get_json()
    assert body["customer"]["name"] == "Ada Lovelace"
    assert [a["id"] for a in body["accounts"]] == [101, 102]
    assert web.get("/api/customers/999").status_code == 404
    too_big = "9" * 30  # past the IDL's i64: the service cannot take it (422), never a 500
    assert web.get(f"/api/customers/{too_big}").status_code == 422
    page = web.post("/", data={"customer_id": too_big})
    assert page.status_code == 422
    assert b"That customer number is out of range." in page.data
    assert b"Please enter a customer number." in web.post("/", data={}).data
    app.extensions["thriftclient"].close()


def test_example_app_under_gunicorn_with_3_preloaded_workers():
    """Workers forked after the master used the pool each open their own connections."""
    with serve(CustomerService.Processor(CustomerServiceHandler())) as thrift_server:
        env = {"THRIFTCLIENT_TRANSPORT": thrift_server.url}
        server = Gunicorn("examples.flask_app.wsgi:app", env, "/api/customers/1")
        try:
            assert thrift_server.connections_accepted >= 1  # wsgi.py's ping, in the master
            pids = pids_answering(server.url("/api/customers/1"))
            assert len(pids) >= 2, f"only {pids} answered"
            # The master's connection plus at least one of each answering worker's own.
            assert thrift_server.connections_accepted >= 1 + len(pids)
            form = urllib.request.Request(server.url("/"), data=b"customer_id=1")
            assert b"Ada Lovelace" in urllib.request.urlopen(form, timeout=5).read()
        finally:
            server.stop()
