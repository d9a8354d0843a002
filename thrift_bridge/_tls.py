"""TLS client contexts built from an `Endpoint`'s settings, and what a failed handshake means
(shared by the sync and async clients; no I/O).

Secure by default: certifi's CA bundle (or the system store, or a file), host name checks,
TLS 1.2 at least, client certificates for mutual TLS; `validate=false` is explicit and logged
once per endpoint. One context per TLS setting, built on first use. `tls_failure` words a
handshake error with what to change: the `ca_certs` option for an untrusted certificate
(and its spellings in the adapters), `server_hostname` for a name mismatch, a plaintext URL
for a server that does not speak TLS.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from ._exceptions import ConfigError

if TYPE_CHECKING:
    import ssl

    from ._endpoint import Endpoint

__all__ = ["ssl_context_for", "tls_failure"]

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


#: OpenSSL's verification codes (X509_V_ERR_*) of a certificate no trusted CA signed.
_UNTRUSTED = {2, 18, 19, 20, 21}
_HOSTNAME_MISMATCH = {62, 64}  # host name, IP address
_EXPIRED = 10
#: Reasons OpenSSL gives for a peer that answered the handshake with bytes that are not TLS.
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQ")
_PLAIN = {"tcps": "tcp://", "https": "http://", "unixs": "unix:"}


def tls_failure(exc: BaseException, endpoint: Endpoint) -> str:
    """The message for a TLS handshake with `endpoint` that raised `exc`: OpenSSL's words,
    then the option or URL that would fix it."""
    import ssl

    words = str(exc) or (  # an exception may carry none (ConnectionResetError())
        "the connection was reset" if isinstance(exc, ConnectionResetError) else type(exc).__name__
    )
    failed = f"TLS failed: {words}"
    plain = _PLAIN.get(endpoint.scheme, "tcp://")
    code = getattr(exc, "verify_code", None)
    if isinstance(exc, ssl.SSLCertVerificationError) and code is not None:
        if code in _UNTRUSTED:
            trusted = (
                "certifi's CA bundle"
                if endpoint.ca_certs is None
                else "the OS store"
                if endpoint.ca_certs == "system"
                else f"ca_certs={endpoint.ca_certs!r}"
            )
            return (
                f"{failed}: the server's certificate is not signed by a CA in {trusted}; give "
                "the CA file that signed it as ca_certs (the ca_certs= option or URL query; "
                "Flask: THRIFTCLIENT_SSL_CA_CERTS, or <prefix>_SSL_CA_CERTS; Django and "
                'ClientRegistry: OPTIONS={"ca_certs": ...}), or ca_certs=system for the OS store'
            )
        if code in _HOSTNAME_MISMATCH:
            name = endpoint.server_hostname or endpoint.host
            return (
                f"{failed}: the certificate is not valid for {name!r}; connect by a name it "
                "holds, or set server_hostname to one"
            )
        if code == _EXPIRED:
            return f"{failed} (or this machine's clock is wrong)"
        return failed
    reason = getattr(exc, "reason", None) or ""
    if isinstance(exc, ssl.SSLError) and any(r in reason.upper() for r in _NOT_TLS):
        return (
            f"{failed}: the server answered the handshake with bytes that are not TLS; it "
            f"probably speaks plaintext: use the {plain} scheme"
        )
    # A close during the handshake: SSLEOFError, or SSLZeroReturnError on Python 3.9.
    closed = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError)
    if isinstance(exc, closed) or "EOF" in reason.upper():
        return (
            f"{failed}: the server closed the connection during the handshake; it may not "
            f"speak TLS (then use the {plain} scheme), or it refused this client (its "
            "certificate, certfile/keyfile, or TLS version)"
        )
    return failed
