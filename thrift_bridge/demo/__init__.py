"""The demo behind `make demo`: serve the customer service on loopback and call it every way.

Starts the demo service embedded in this process over tcp, tcps, unix, unixs, http and https,
calls it through every scheme x protocol x transport with a pooled `Client` and with an
`AsyncClient` (on a fresh event loop per row), and prints a table; a row passes when both
clients answer, and answer the same. Everything it starts is stopped before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import ssl
import statistics
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

from .._async._client import AsyncClient
from .._client import Client
from .._exceptions import ThriftBridgeError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["main", "run_demo"]

CALLS_PER_ROW = 30
SCHEMES = ("tcp", "tcps", "unix", "unixs", "http", "https")
PROTOCOLS = ("binary", "compact", "json", "header")
TRANSPORTS = ("buffered", "framed", "zlib", "header")


def combinations() -> Iterator[tuple[str, str, str]]:
    """Every (scheme, protocol, transport) the SDK supports."""
    for scheme, protocol, transport in itertools.product(SCHEMES, PROTOCOLS, TRANSPORTS):
        if scheme.startswith("http") and (transport != "buffered" or protocol == "header"):
            continue
        if transport == "header" and protocol in ("json", "header"):
            continue
        if protocol == "header" and transport == "buffered":
            continue  # the same wire format as transport=header
        yield scheme, protocol, transport


@contextlib.contextmanager
def _tls_contexts(workdir: str) -> Iterator[tuple[ssl.SSLContext | None, str | None]]:
    """A server context and the CA file trusting it, from a certificate made on the fly."""
    try:
        import trustme
    except ImportError:  # TLS rows are skipped without it; install the 'test' extra to see them
        yield None, None
        return
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server)
    ca_file = os.path.join(workdir, "demo-ca.pem")
    ca.cert_pem.write_to_path(ca_file)
    yield server, ca_file


def run_demo(out: Any = sys.stdout) -> int:
    """Run the demo, print the table; returns the number of failed rows."""
    from ..generated.demo import CustomerService
    from ..testing import serve
    from ._service import CustomerServiceHandler

    handler = CustomerServiceHandler()
    rows: list[tuple[str, ...]] = []
    failures = 0
    workdir = tempfile.mkdtemp(prefix="tb-demo-", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        with _tls_contexts(workdir) as (server_tls, ca_file):
            for number, (scheme, protocol, transport) in enumerate(combinations()):
                tls = scheme in ("tcps", "unixs", "https")
                if tls and server_tls is None:
                    skipped = "skipped (pip install trustme)"
                    rows.append((scheme, protocol, transport, skipped, "-", "-"))
                    continue
                path = (
                    os.path.join(workdir, f"s{number}.sock") if scheme.startswith("unix") else None
                )
                with serve(
                    CustomerService.Processor(handler),
                    scheme=scheme,  # type: ignore[arg-type]
                    transport=transport,  # type: ignore[arg-type]
                    protocol="binary" if transport == "header" else protocol,  # type: ignore[arg-type]
                    header_protocol=protocol if transport == "header" else "binary",  # type: ignore[arg-type]
                    ssl_context=server_tls if tls else None,
                    socket_path=path,
                ) as server:
                    options = {"ca_certs": ca_file} if tls else {}
                    try:
                        result, micros = _call_row(CustomerService, server.url, options)
                        answer, amicros = asyncio.run(
                            _call_row_async(CustomerService, server.url, options)
                        )
                        if answer != result:
                            result = f"FAILED: async answered {answer!r}, sync {result!r}"
                    except ThriftBridgeError as exc:
                        result, micros, amicros = f"FAILED: {exc}", "-", "-"
                    failures += result.startswith("FAILED")
                    rows.append((server.url, protocol, transport, result, micros, amicros))
    finally:
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))
        os.rmdir(workdir)
    _print_table(rows, out)
    ok = len(rows) - failures
    print(f"\n{ok} of {len(rows)} combinations answered correctly; {failures} failed.", file=out)
    return failures


def _call_row(service: Any, url: str, options: dict[str, Any]) -> tuple[str, str]:
    """Call the demo service through `url`; the result text and the median latency in µs."""
    with Client(service, url, **options) as client:
        customer = client.get_customer(1)
        times = []
        for _ in range(CALLS_PER_ROW):
            start = time.perf_counter()
            client.get_customer(1)
            times.append(time.perf_counter() - start)
        return _row(customer, client.accounts(customer.id), times)


async def _call_row_async(service: Any, url: str, options: dict[str, Any]) -> tuple[str, str]:
    """`_call_row` through `AsyncClient`, awaiting each call in turn."""
    async with AsyncClient(service, url, **options) as client:
        customer = await client.get_customer(1)
        times = []
        for _ in range(CALLS_PER_ROW):
            start = time.perf_counter()
            await client.get_customer(1)
            times.append(time.perf_counter() - start)
        return _row(customer, await client.accounts(customer.id), times)


def _row(customer: Any, accounts: list[Any], times: list[float]) -> tuple[str, str]:
    """A row's result text and median latency in µs, from its calls' answers and times."""
    return f"{customer.name}, {len(accounts)} accounts", f"{statistics.median(times) * 1e6:.0f}"


def _print_table(rows: list[tuple[str, ...]], out: Any) -> None:
    """Print rows under a header, columns padded to fit."""
    header = ("URL", "protocol", "transport", "result", "sync µs", "async µs")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)), file=out)


def main() -> int:
    """Entry point of `python -m thrift_bridge.demo`; exit status 1 if any row failed."""
    return 1 if run_demo() else 0


if __name__ == "__main__":
    raise SystemExit(main())
