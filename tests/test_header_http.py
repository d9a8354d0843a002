"""THeader over HTTP, as Apache's cross-language matrix runs it: THeader frames as the POST
bodies, against Apache's own `THttpServer` with `THeaderProtocolFactory`, over http and https,
through `Client` and `AsyncClient`, with per-call headers both ways."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import pytest
from thrift.protocol.THeaderProtocol import THeaderProtocolFactory
from thrift.server.THttpServer import THttpServer
from thrift.transport.THeaderTransport import THeaderSubprotocolID

from thrift_bridge import AsyncClient, Client
from thrift_bridge.generated.demo import CustomerService

from .handlers import CustomerServiceHandler


class RecordingProcessor:
    """The demo processor, recording each request's THeader headers and subprotocol, and
    answering with a reply header."""

    def __init__(self) -> None:
        self.inner = CustomerService.Processor(CustomerServiceHandler())
        self.seen: list[tuple[dict[bytes, bytes], int]] = []

    def on_message_begin(self, func: Any) -> None:
        self.inner.on_message_begin(func)

    def process(self, iprot: Any, oprot: Any) -> Any:
        oprot.trans.set_header(b"served-by", b"apache-thttpserver")
        result = self.inner.process(iprot, oprot)
        self.seen.append((dict(iprot.trans.get_headers()), iprot.trans.protocol_id))
        return result


@contextlib.contextmanager
def apache_header_http_server(scheme: str, server_cert: Any, tmp_path: Any):
    """Apache's THttpServer with THeaderProtocolFactory on loopback (https: its own TLS)."""
    processor = RecordingProcessor()
    tls: dict[str, str] = {}
    if scheme == "https":
        pem = tmp_path / "server.pem"
        server_cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
        tls = {"cert_file": str(pem), "key_file": str(pem)}
    server = THttpServer(processor, ("127.0.0.1", 0), THeaderProtocolFactory(), **tls)
    server.httpd.timeout = 5  # a handshake that never comes cannot hold the server forever
    thread = threading.Thread(target=server.serve, name="apache-thttpserver", daemon=True)
    thread.start()
    try:
        yield processor, server.httpd.server_address[1]
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive()


SPELLINGS = [
    ("protocol=header", THeaderSubprotocolID.BINARY),
    ("protocol=header&header_protocol=compact", THeaderSubprotocolID.COMPACT),
    ("transport=header&protocol=compact", THeaderSubprotocolID.COMPACT),
]


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize(("query", "subprotocol"), SPELLINGS)
def test_sync_client_calls_apache_thttpserver_with_theader(
    scheme, query, subprotocol, server_cert, ca_file, tmp_path
):
    with apache_header_http_server(scheme, server_cert, tmp_path) as (processor, port):
        url = f"{scheme}://127.0.0.1:{port}/?{query}"
        options = {"ca_certs": ca_file} if scheme == "https" else {}
        with Client(CustomerService, url, retries=0, **options) as client:
            with client.call_headers({"trace-id": "t-1"}) as scope:
                assert client.get_customer(1).name == "Ada Lovelace"
            assert scope.reply == {"served-by": "apache-thttpserver"}
            assert client.accounts(1)  # a second call on the same client
            with client.connection() as pinned:
                assert pinned.visit_count(1) >= 0
    assert processor.seen[0] == ({b"trace-id": b"t-1"}, subprotocol)
    assert [headers for headers, _ in processor.seen[1:]] == [{}, {}]
    assert {protocol for _, protocol in processor.seen} == {subprotocol}


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize(("query", "subprotocol"), SPELLINGS)
def test_async_client_calls_apache_thttpserver_with_theader(
    scheme, query, subprotocol, server_cert, ca_file, tmp_path
):
    async def run(url: str, options: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        async with AsyncClient(CustomerService, url, retries=0, **options) as client:
            with client.call_headers({"trace-id": "t-2"}) as scope:
                first = await asyncio.wait_for(client.get_customer(2), 10)
            second = await asyncio.wait_for(client.get_customer(3), 10)
            return [first.name, second.name], scope.reply

    with apache_header_http_server(scheme, server_cert, tmp_path) as (processor, port):
        options = {"ca_certs": ca_file} if scheme == "https" else {}
        names, reply = asyncio.run(run(f"{scheme}://127.0.0.1:{port}/?{query}", options))
    assert names == ["Alan Turing", "Grace Hopper"]
    assert reply == {"served-by": "apache-thttpserver"}
    assert processor.seen == [({b"trace-id": b"t-2"}, subprotocol), ({}, subprotocol)]


def test_http_headers_option_stays_http_with_theader(server_cert, tmp_path):
    """Over http(s) `headers=` are the HTTP request's headers; THeader carries the call's."""
    with apache_header_http_server("http", server_cert, tmp_path) as (processor, port):
        url = f"http://127.0.0.1:{port}/?protocol=header"
        with Client(CustomerService, url, retries=0, headers={"X-Api": "k"}) as client:
            with client.call_headers({"trace-id": "t-3"}):
                client.ping()
    assert processor.seen == [({b"trace-id": b"t-3"}, THeaderSubprotocolID.BINARY)]
