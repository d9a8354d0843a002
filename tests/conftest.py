"""Shared fixtures: per-session TLS material and loopback Thrift servers."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trustme

from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.testing import LoopbackServer, serve

from .generated.alltypes import AllTypes
from .generated.calculator import Calculator
from .handlers import AllTypesHandler, CalculatorHandler, CustomerServiceHandler, HeldHandler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: The test Calculator service's dotted path, as configurations name it.
CALC = "tests.generated.calculator.Calculator"
#: Handler kinds the thrift_server factory accepts by name.
PROCESSORS: dict[str, Callable[[], Any]] = {
    "alltypes": lambda: AllTypes.Processor(AllTypesHandler()),
    "demo": lambda: CustomerService.Processor(CustomerServiceHandler()),
    "calculator": lambda: Calculator.Processor(CalculatorHandler()),
}


@pytest.fixture(scope="session", autouse=True)
def _private_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Caches written during the tests (thrift_bridge.load's) go to a temporary directory."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache-home"))
    yield
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved


@pytest.fixture(
    params=[("asyncio", {}), ("asyncio", {"use_uvloop": True})], ids=["asyncio", "uvloop"]
)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    """Run each async test on asyncio's default loop and on uvloop (anyio's pytest plugin)."""
    return request.param


@pytest.fixture(scope="session")
def compiler() -> str:
    """The Thrift compiler; skipped when missing, except under CI where that is a failure."""
    path = shutil.which("thrift")
    if path is None:
        reason = (
            "the Apache Thrift compiler 'thrift' is not installed (apt-get install thrift-compiler)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must have it")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def cpp_bench_servers() -> Iterator[Any]:
    """Apache's C++ bench server (`make bench-server`), one per module; skipped when it is not
    built, except under CI where that is a failure."""
    from benchmarks.servers import built, start_cpp

    if not built():
        if os.environ.get("CI"):
            pytest.fail("build/bench/ has no C++ bench server: make bench-server builds it")
        pytest.skip("the C++ bench server is not built (make bench-server)")
    servers = start_cpp()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def tls() -> trustme.CA:
    """A session CA; its server certificate (issued on demand) names localhost and loopback."""
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(tls: trustme.CA) -> trustme.LeafCert:
    """The server certificate for localhost, 127.0.0.1 and ::1."""
    return tls.issue_cert("localhost", "127.0.0.1", "::1")


@pytest.fixture(scope="session")
def server_ssl_context(server_cert: trustme.LeafCert) -> ssl.SSLContext:
    """A server-side SSLContext with the loopback certificate (no client cert required)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(ctx)
    return ctx


@pytest.fixture(scope="session")
def mtls_server_ssl_context(tls: trustme.CA, server_cert: trustme.LeafCert) -> ssl.SSLContext:
    """A server-side SSLContext that requires a client certificate from the session CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_cert.configure_cert(ctx)
    tls.configure_trust(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


@pytest.fixture(scope="session")
def tls_dir() -> Iterator[Path]:
    """A session directory for PEM files."""
    path = Path(tempfile.mkdtemp(prefix="tb-tls-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def ca_file(tls: trustme.CA, tls_dir: Path) -> str:
    """Path of the session CA certificate (PEM)."""
    path = tls_dir / "ca.pem"
    tls.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def client_cert(tls: trustme.CA, tls_dir: Path) -> tuple[str, str]:
    """(certificate PEM path, private key PEM path) of a client certificate for mTLS."""
    leaf = tls.issue_cert("client@example.test")
    cert, key = tls_dir / "client.pem", tls_dir / "client.key"
    for blob in leaf.cert_chain_pems:
        blob.write_to_path(str(cert), append=True)
    leaf.private_key_pem.write_to_path(str(key))
    return str(cert), str(key)


@pytest.fixture
def socket_dir() -> Iterator[str]:
    """A short temporary directory for unix sockets (AF_UNIX paths must be < 108 bytes)."""
    path = tempfile.mkdtemp(prefix="tb-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def thrift_server() -> Iterator[Callable[..., LoopbackServer]]:
    """Factory: ``thrift_server("alltypes" | "demo" | "calculator" | processor, **serve_kwargs)``.

    Every server it starts is closed at teardown.
    """
    servers: list[LoopbackServer] = []

    def start(processor_or_kind: Any, **kwargs: Any) -> LoopbackServer:
        processor = (
            PROCESSORS[processor_or_kind]()
            if isinstance(processor_or_kind, str)
            else processor_or_kind
        )
        server = serve(processor, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.close()


@pytest.fixture(scope="session")
def django_setup() -> None:
    """Django set up with tests/django_project when a test needs it, not at collection."""
    import django
    from django.conf import settings

    from .django_project import settings as project

    if not settings.configured:  # else set up already, from the same project (test_fuzz.py)
        settings.configure(
            **{name: getattr(project, name) for name in dir(project) if name.isupper()}
        )
    django.setup()


@pytest.fixture
def calc_settings(django_setup: None) -> Iterator[LoopbackServer]:
    """THRIFT_BRIDGE with one 'calc' alias (POOL_SIZE 4) pointing at a real Calculator server."""
    from django.test import override_settings

    from thrift_bridge.adapters.django import aclients, clients

    with serve(Calculator.Processor(CalculatorHandler())) as server:
        config = {"calc": {"SERVICE": CALC, "URL": server.url, "POOL_SIZE": 4}}
        with override_settings(THRIFT_BRIDGE=config):
            yield server
    clients.reset()
    aclients.reset()


@pytest.fixture
def demo_server() -> Iterator[LoopbackServer]:
    """The demo CustomerService on 127.0.0.1."""
    with serve(CustomerService.Processor(CustomerServiceHandler())) as server:
        yield server


@pytest.fixture
def held_server() -> Iterator[tuple[LoopbackServer, HeldHandler]]:
    """An AllTypes server whose slow_echo holds until released: (server, handler)."""
    handler = HeldHandler()
    with serve(AllTypes.Processor(handler)) as server:
        yield server, handler
        handler.release.set()  # before the server closes: no worker left waiting


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 TCP port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
