"""`thrift-bridge demo --serve`: the demo service on every scheme, until Ctrl-C.

tcp on `port`, tcps on `port + 1`, http on `port + 2`, https on `port + 3` (`port` 0: free
ports), unix and unixs in a fresh temporary directory; binary protocol, buffered transport,
so the README's own commands (`thrift-bridge call tcp://127.0.0.1:9090 ...`) answer. The TLS
URLs carry the CA file of a certificate made on the fly (`ca_certs=`), so they can be copied
as printed. SIGINT or SIGTERM stops every server and removes the files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
from typing import Any
from urllib.parse import quote

from .._exceptions import ConfigError

__all__ = ["serve_demo"]

#: Each TCP scheme's port, as an offset from `--port`.
PORT_OFFSETS = {"tcp": 0, "tcps": 1, "http": 2, "https": 3}


def serve_demo(port: int = 9090, out: Any = sys.stdout) -> int:
    """Serve the demo service on every scheme, print the URLs, and block until SIGINT or
    SIGTERM; returns the exit status (0)."""
    from ..generated.demo import CustomerService
    from ..testing import serve
    from . import _tls_contexts
    from ._service import CustomerServiceHandler

    if not (isinstance(port, int) and (port == 0 or 0 < port <= 65535 - 3)):
        raise ConfigError(f"invalid --port {port!r} (expected 0 for free ports, or 1 to 65532)")
    processor = CustomerService.Processor(CustomerServiceHandler())
    workdir = tempfile.mkdtemp(prefix="tb-demo-", dir="/tmp" if os.path.isdir("/tmp") else None)
    stop = threading.Event()
    try:
        with contextlib.ExitStack() as servers, _tls_contexts(workdir) as (server_tls, ca_file):
            urls = []
            for scheme in ("tcp", "tcps", "unix", "unixs", "http", "https"):
                tls = scheme in ("tcps", "unixs", "https")
                if tls and server_tls is None:
                    print(f"  ({scheme} skipped: pip install trustme)", file=out)
                    continue
                place: dict[str, Any] = {"port": port + PORT_OFFSETS[scheme] if port else 0}
                if scheme.startswith("unix"):
                    place = {"socket_path": os.path.join(workdir, f"{scheme}.sock")}
                try:
                    server = servers.enter_context(
                        serve(
                            processor,
                            scheme=scheme,
                            ssl_context=server_tls if tls else None,
                            **place,
                        )
                    )
                except OSError as exc:
                    raise ConfigError(
                        f"cannot serve {scheme} on port {place.get('port')}: {exc.strerror or exc} "
                        "(choose other ports with --port N, or --port 0 for free ones)"
                    ) from None
                url = server.url
                if tls and ca_file:
                    url += f"{'&' if '?' in url else '?'}ca_certs={quote(ca_file, safe='/')}"
                urls.append(url)
            print("Serving the demo CustomerService (Ctrl-C to stop) on:", file=out)
            for url in urls:
                print(f"  {url}", file=out)
            print(
                f"Try: thrift-bridge call {urls[0]} CustomerService.get_customer '{{\"id\": 1}}' "
                "--module thrift_bridge.generated.demo",
                file=out,
                flush=True,
            )
            _wait_for_a_signal(stop)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("Stopped.", file=out, flush=True)
    return 0


def _wait_for_a_signal(stop: threading.Event) -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if in_main else None
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
