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


def _fleet_scenario(client, run: Run, expected: tuple[type[BaseException], ...], calls: int):
    """`calls` failing calls through a two-endpoint client; every text it shows is kept."""
    for _ in range(calls):
        run.fails(expected, client.add, 1, 1)
    run.texts += [repr(client), repr(client.fleet_stats()), str(client.fleet_stats())]


def _fleet_url(server, closed_port: int, userinfo: str) -> str:
    """Two endpoints in one planted URL: a closed port first, then `server`."""
    host, port = server.address
    return f"http://{userinfo}@127.0.0.1:{closed_port},{userinfo}@{host}:{port}/rpc?{QUERY}"


FLEET = {
    **KEYWORDS,
    "retries": 2,
    "retry_backoff": 0,
    "idempotent": {"add"},
    "balancer": "round_robin",
    "ejection": {"consecutive_failures": 1},
}


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_fleet_of_planted_urls_never_shows_a_secret(flavour, caplog, closed_port):
    """Two planted endpoints (a closed port, a server echoing the request in a 500), retries,
    ejection after one failure, DEBUG logging: the final error listing every attempt, the
    ejection WARNING, the DEBUG 'skipping' lines and fleet_stats() show no secret."""
    import asyncio

    from thrift_bridge import AsyncClient

    run = Run()
    caplog.set_level(logging.DEBUG)
    expected = (HTTPError, ConnectError, ThriftBridgeError)
    with serve_raw(echoing_http(b"500 Internal Server Error")) as server:
        for userinfo in (SECRETS["user_token"], f"u:{SECRETS['password']}"):
            url = _fleet_url(server, closed_port, userinfo)
            if flavour == "sync":
                with Client(AllTypes, url, **FLEET) as client:
                    _fleet_scenario(client, run, expected, 4)
                continue

            async def main(url: str = url) -> None:
                async with AsyncClient(AllTypes, url, **FLEET) as client:
                    for _ in range(4):
                        with pytest.raises(expected) as caught:
                            await asyncio.wait_for(client.add(1, 1), 10)
                        run.texts += texts_of(caught.value)
                    run.texts += [repr(client), repr(client.fleet_stats())]
                    run.texts.append(str(client.fleet_stats()))

            asyncio.run(main())
    messages = [record.getMessage() for record in caplog.records]
    run.texts += [*messages, caplog.text]
    # What the scenario must have produced for the search to mean something:
    assert any(m.startswith("ejected http://") for m in messages), messages
    assert any("skipping http://" in m for m in messages), messages
    assert any("attempt" in text and str(closed_port) in text for text in run.texts)
    assert any(f"127.0.0.1:{closed_port}" in text and "'state'" in text for text in run.texts)
    for name, secret in SECRETS.items():
        leaks = [text for text in run.texts if secret in text]
        assert not leaks, f"{name} leaked: {leaks[0][:300]}"


def test_the_async_client_never_shows_a_planted_secret(caplog, closed_port, ca_file):
    """The error table's calls through AsyncClient: refused, every echoing server, a silent
    one, an untrusted certificate, a busy pool; errors, reprs and log lines searched."""
    import asyncio
    import ssl

    from thrift_bridge import AsyncClient

    run = Run()
    caplog.set_level(logging.DEBUG)
    bearer = {"bearer_token": SECRETS["bearer"]}

    async def fails(expected, url: str, **options) -> None:
        async with AsyncClient(AllTypes, url, **{**KEYWORDS, **options}) as client:
            run.texts.append(repr(client))
            with pytest.raises(expected) as caught:
                await asyncio.wait_for(client.add(1, 1), 10)
            run.texts += texts_of(caught.value)

    async def busy(url: str) -> None:
        options = {**KEYWORDS, "pool_size": 1, "pool_timeout": 0.01, "timeout": 0.5}
        async with AsyncClient(AllTypes, url, **options) as client:
            async with client.connection() as pinned:
                run.texts.append(repr(pinned))
                with pytest.raises(PoolTimeout) as caught:
                    await asyncio.wait_for(client.add(1, 1), 10)
                run.texts += texts_of(caught.value)
                with pytest.raises(ReadTimeout) as timed_out:
                    await asyncio.wait_for(pinned.echo_string("x"), 10)
                run.texts += texts_of(timed_out.value)

    for url in (
        f"http://{SECRETS['user_token']}@127.0.0.1:{closed_port}/rpc?{QUERY}",
        f"https://u:{SECRETS['password']}@127.0.0.1:{closed_port}/rpc?{QUERY}",
    ):
        asyncio.run(fails(ConnectError, url))
    cases = [
        (echoing_http(b"500 Internal Server Error"), HTTPError),
        (echoing_http(b"302 Found"), HTTPError),
        (echoing_http(b"200 OK", content_type=b"text/html"), HTTPError),
        (echoing_http(b"200 OK", content_type=b"application/x-thrift"), ProtocolError),
        (never_answers, ReadTimeout),
    ]  # the reply that is not HTTP at all: test_..._a_non_http_reply_... below
    for handler, expected in cases:
        with serve_raw(handler) as server:
            for userinfo in (SECRETS["user_token"], f"u:{SECRETS['password']}"):
                asyncio.run(fails(expected, http_url(server, userinfo=userinfo)))
            asyncio.run(fails(expected, http_url(server, userinfo="u"), **bearer))
    other = trustme.CA().issue_cert("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    other.configure_cert(context)
    with serve_raw(never_answers, scheme="tcps", ssl_context=context) as server:
        asyncio.run(fails(ConnectError, http_url(server, "https"), ca_certs=ca_file))
    with serve_raw(never_answers) as server:
        asyncio.run(busy(http_url(server)))
    run.texts += [record.getMessage() for record in caplog.records] + [caplog.text]
    assert len(run.texts) > 60
    for name, secret in SECRETS.items():
        leaks = [text for text in run.texts if secret in text]
        assert not leaks, f"{name} leaked: {leaks[0][:300]}"


def test_the_async_client_scrubs_a_non_http_reply_that_echoes_the_request():
    import asyncio

    from thrift_bridge import AsyncClient

    async def main(url: str) -> list[str]:
        async with AsyncClient(AllTypes, url, **KEYWORDS) as client:
            with pytest.raises(ProtocolError) as caught:
                await asyncio.wait_for(client.add(1, 1), 10)
        return texts_of(caught.value)

    with serve_raw(echoing_http(b"200 OK", raw=b"yes")) as server:
        texts = asyncio.run(main(http_url(server)))
    assert any("not an HTTP/1.x reply" in text for text in texts)
    for name, secret in SECRETS.items():
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"{name} leaked: {leaks[0][:300]}"
