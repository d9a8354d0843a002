"""TLS client contexts built from an `Endpoint`'s settings (shared by the sync and async clients).

Secure by default: certifi's CA bundle (or the system store, or a file), host name checks,
TLS 1.2 at least, client certificates for mutual TLS; `validate=false` is explicit and logged
once per endpoint. One context per TLS setting, built on first use.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ._exceptions import ConfigError

if TYPE_CHECKING:
    import ssl

    from ._endpoint import Endpoint

__all__ = ["ssl_context_for"]

log = logging.getLogger("thrift_bridge")

_contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()
_warned_insecure: set[str] = set()


def ssl_context_for(endpoint: Endpoint) -> ssl.SSLContext | None:
    """The client `SSLContext` for a TLS endpoint (built once per TLS setting), else None."""
    if not endpoint.tls:
        return None
    key = (endpoint.ca_certs, endpoint.validate, endpoint.certfile, endpoint.keyfile)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            context = _contexts[key] = _build_ssl_context(endpoint)
        if not endpoint.validate and endpoint.redacted_url not in _warned_insecure:
            _warned_insecure.add(endpoint.redacted_url)
            log.warning(
                "TLS certificate validation is disabled for %s (validate=false): "
                "the connection is encrypted but the server is not authenticated",
                endpoint.redacted_url,
            )
    return context


def _build_ssl_context(endpoint: Endpoint) -> ssl.SSLContext:
    """A TLS 1.2+ client context: certifi or system CAs, host name checks, client certs."""
    import ssl

    import certifi

    try:
        if not endpoint.validate:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif endpoint.ca_certs == "system":
            context = ssl.create_default_context()
        else:
            context = ssl.create_default_context(cafile=endpoint.ca_certs or certifi.where())
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if endpoint.certfile:
            context.load_cert_chain(endpoint.certfile, endpoint.keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load TLS files for {endpoint.redacted_url} (ca_certs={endpoint.ca_certs!r}, "
            f"certfile={endpoint.certfile!r}, keyfile={endpoint.keyfile!r}): {exc}"
        ) from exc
    return context
