"""Planted secrets never show in a message, repr, traceback or log line, whatever fails."""

from __future__ import annotations

import logging
import socket
import threading
import traceback

import pytest
import trustme

from thrift_bridge import (
    AccessLog,
    Client,
    ConfigError,
    ConnectError,
    HTTPError,
    PoolTimeout,
    ProtocolError,
    ReadTimeout,
    ThriftBridgeError,
    WriteTimeout,
    parse_url,
)
from thrift_bridge.adapters import ClientRegistry
from thrift_bridge.testing import serve_raw

from .generated.alltypes import AllTypes

# Each secret is planted once; every text the run produces is searched for each of them.
SECRETS = {
    "user_token": "ghp_T0kenUserOnly",
    "password": "Pa55-word-x",
    "access_token": "at-0123456789",
    "api_key": "ak-abcdefgh",
    "token": "tk-zyxwvuts",
    "key": "kk-qwertyui",
    "password_param": "pp-asdfghjk",
    "secret": "sc-zxcvbnmq",
    "signature": "sg-poiuytre",
    "sig": "sx-lkjhgfds",
    "client_secret": "cs-mnbvcxzl",
    "bearer": "br-1q2w3e4r",
    "header": "hx-5t6y7u8i",
    "access_key": "ax-9o0p1a2s",
}
QUERY = (
    f"access_token={SECRETS['access_token']}&api_key={SECRETS['api_key']}"
    f"&token={SECRETS['token']}&key={SECRETS['key']}&password={SECRETS['password_param']}"
    f"&secret={SECRETS['secret']}&signature={SECRETS['signature']}&sig={SECRETS['sig']}"
    f"&client_secret={SECRETS['client_secret']}&page=2"
)


def echoing_http(status: bytes, *, content_type: bytes = b"text/plain", raw: bytes = b""):
    """An HTTP server that answers every request with `status` and the request itself."""

    def handler(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        if raw:  # a reply that is not HTTP at all: the request line echoed as a status line
            conn.sendall(data.split(b"\r\n", 1)[0] + b"\r\n\r\n")
            conn.recv(1)
            return
        body = data
        conn.sendall(
            b"HTTP/1.1 "
            + status
            + b"\r\nContent-Type: "
            + content_type
            + b"\r\nLocation: "
            + data.split(b" ")[1]
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        conn.recv(1)

    return handler


def never_answers(conn: socket.socket) -> None:
    """Read the request, then say nothing until the client goes."""
    conn.recv(65536)
    conn.recv(1)


def slow_reader(conn: socket.socket) -> None:
    """Take the request a few bytes at a time."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    while conn.recv(512):
        threading.Event().wait(0.01)


def texts_of(exc: BaseException) -> list[str]:
    """Everything an exception can show: str, repr, attributes, the formatted chain."""
    texts = [
        str(exc),
        repr(exc),
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    ]
    if isinstance(exc, ThriftBridgeError):
        texts += [exc.message, exc.endpoint or "", exc.method or ""]
    if isinstance(exc, HTTPError):
        texts.append(repr(exc.body))
    return texts


class Run:
    """What one scenario produced, and the errors it expected."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def fails(self, expected: type[BaseException], call, *args) -> None:
        """Run `call(*args)`; it must raise `expected`; keep everything the error shows."""
        with pytest.raises(expected) as caught:
            call(*args)
        self.texts += texts_of(caught.value)


def http_url(server, scheme: str = "http", *, userinfo: str | None = None) -> str:
    """The planted URL of a raw server (user token in the URL, secrets in its query)."""
    host, port = server.address
    userinfo = userinfo if userinfo is not None else SECRETS["user_token"]
    return f"{scheme}://{userinfo}@{host}:{port}/rpc?{QUERY}"


KEYWORDS = {
    "headers": {"X-Api-Key": SECRETS["header"]},
    "retries": 0,
    "timeout": 1,
}


def test_the_error_table_never_shows_a_planted_secret(caplog, closed_port, tls, ca_file):
    run = Run()
    caplog.set_level(logging.DEBUG)
    bearer = {"bearer_token": SECRETS["bearer"]}
    # A URL that parses, its forms, and a client's repr.
    endpoint = parse_url(f"https://{SECRETS['user_token']}@h:1/rpc?{QUERY}", **bearer)
    run.texts += [repr(endpoint), str(endpoint), endpoint.redacted_url]
    # Bad URLs: a bad port, an unknown option, a bad option value, a password with '@'.
    for url in (
        f"https://u:{SECRETS['password']}@h:99999/rpc?{QUERY}",
        f"https://{SECRETS['user_token']}@h:1/rpc?{QUERY}&timeout=-1",
        f"tcp://h:1?protocol=nope&{QUERY}",
        f"https://u:{SECRETS['password']}@x@h/rpc",
    ):
        run.fails(ConfigError, parse_url, url)
    # Connection refused, plain and TLS; user with and without password.
    for url in (
        f"http://{SECRETS['user_token']}@127.0.0.1:{closed_port}/rpc?{QUERY}",
        f"https://u:{SECRETS['password']}@127.0.0.1:{closed_port}/rpc?{QUERY}",
    ):
        with Client(AllTypes, url, **KEYWORDS) as client:
            run.texts.append(repr(client))
            run.fails(ConnectError, client.add, 1, 1)
    # HTTP servers that echo the request back: 500, 302, a wrong content type, not HTTP.
    cases = [
        (echoing_http(b"500 Internal Server Error"), HTTPError),
        (echoing_http(b"302 Found"), HTTPError),
        (echoing_http(b"200 OK", content_type=b"text/html"), HTTPError),
        (echoing_http(b"200 OK", raw=b"yes"), ProtocolError),
        (echoing_http(b"200 OK", content_type=b"application/x-thrift"), ProtocolError),
        (never_answers, ReadTimeout),
    ]
    for handler, expected in cases:
        with serve_raw(handler) as server:
            for userinfo in (SECRETS["user_token"], f"u:{SECRETS['password']}"):
                url = http_url(server, userinfo=userinfo)
                with Client(AllTypes, url, **KEYWORDS) as client:
                    run.fails(expected, client.add, 1, 1)
            with Client(AllTypes, http_url(server, userinfo="u"), **KEYWORDS, **bearer) as client:
                run.fails(expected, client.add, 1, 1)
    # A request the server will not take in time.
    with serve_raw(slow_reader) as server, Client(AllTypes, http_url(server), **KEYWORDS) as c:
        run.fails(WriteTimeout, c.echo_big, "x" * (16 << 20))
    # TLS: a certificate from an unknown CA, then validation turned off (one warning).
    other = trustme.CA().issue_cert("127.0.0.1")
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    other.configure_cert(context)
    with serve_raw(never_answers, scheme="tcps", ssl_context=context) as server:
        url = http_url(server, "https")
        with Client(AllTypes, url, **KEYWORDS, ca_certs=ca_file) as client:
            run.fails(ConnectError, client.add, 1, 1)
        with Client(AllTypes, url, **KEYWORDS, validate=False) as client:
            run.fails(ReadTimeout, client.add, 1, 1)
    # A pool that stays busy, and the access log of registry clients with an access key (the
    # key travels as an HTTP header, or as a THeader header that middleware sees).
    with serve_raw(never_answers) as server:
        entry = {
            "service": AllTypes,
            "access_key": SECRETS["access_key"],
            "pool_size": 1,
            "pool_timeout": 0.01,
            "retries": 0,
            "middleware": [AccessLog()],
        }
        registry = ClientRegistry(
            {
                "http": {
                    **entry,
                    "url": http_url(server),
                    "options": {"timeout": 0.5, "headers": {"X-Api-Key": SECRETS["header"]}},
                },
                "theader": {
                    **entry,
                    "url": server.url,
                    "options": {"transport": "header", "timeout": 0.5},
                },
            }
        )
        for alias in registry:
            client = registry[alias]
            run.texts.append(repr(client))
            with client.connection() as pinned:
                run.texts.append(repr(pinned))
                run.fails(PoolTimeout, client.add, 1, 1)
                run.fails(ReadTimeout, pinned.echo_string, "x")
        registry.close()
    run.texts += [record.getMessage() for record in caplog.records]
    run.texts += [caplog.text]
    assert any("validation is disabled" in r.getMessage() for r in caplog.records)
    access = [r.getMessage() for r in caplog.records if r.name == "thrift_bridge.access"]
    assert len(access) == 4
    assert sum(line.startswith("#") for line in access) == 2  # the THeader client's fingerprint
    assert len(run.texts) > 100
    for name, secret in SECRETS.items():
        leaks = [text for text in run.texts if secret in text]
        assert not leaks, f"{name} leaked: {leaks[0][:300]}"
