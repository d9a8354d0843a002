"""`Endpoint`: the frozen, self-validating value that says how to reach a Thrift service.

An `Endpoint` built directly is held to the same rules as one parsed from a URL (`_urls`):
every field is checked in `__post_init__` and brought to its one spelling; what each option
accepts, and which combinations work, is `_options`' to say. No I/O.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

from ._exceptions import ConfigError, shown
from ._options import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_PORTS,
    DEFAULT_RESOLVE_INTERVAL,
    DEFAULT_TIMEOUT,
    DEFAULT_ZLIB_LEVEL,
    HTTP_SCHEMES,
    OPTION_DEFAULTS,
    OPTION_NAMES,
    QUERY_OPTIONS,
    SCHEMES,
    TLS_SCHEMES,
    UNIX_SCHEMES,
    DiscoveryName,
    HeaderProtocolName,
    ProtocolName,
    Scheme,
    TransportName,
    validate_options,
)
from ._secrets import is_secret_header, is_secret_name, redact_query

__all__ = ["Endpoint", "is_host_name"]

_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$"
)


def is_host_name(text: str) -> bool:
    """Whether `text` is a valid host name or IPv4 address (as written, before lower-casing)."""
    return bool(_HOSTNAME_RE.fullmatch(text))


def _valid_host(host: object) -> str:
    """A host name, IPv4 address or IPv6 address (without brackets), lower-cased."""
    if isinstance(host, str) and ":" in host:
        import ipaddress

        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            pass
    elif isinstance(host, str) and _HOSTNAME_RE.fullmatch(host):
        return host.lower()
    raise ConfigError(
        f"invalid host {shown(host)} (expected a host name, IPv4 address or IPv6 address)"
    )


def _valid_unix_path(path: object) -> str:
    """A unix socket path: absolute, or relative starting with './' or '../'."""
    if (
        isinstance(path, str)
        and (path.startswith(("/", "./", "../")) and not path.startswith("//"))
        and path.rsplit("/", 1)[-1] not in ("", ".", "..")
        and "\x00" not in path
    ):
        return path
    raise ConfigError(
        f"invalid unix socket path {shown(path)} "
        "(expected '/abs/path', './rel/path' or '../rel/path', naming a file)"
    )


def _is_default(value: object, default: object) -> bool:
    """Whether an option holds its default (a value that cannot be compared does not)."""
    try:
        return bool(value == default)
    except Exception:  # Decimal('sNaN') and other values that refuse comparison
        return False


def _valid_fields(endpoint: Endpoint) -> dict[str, Any]:
    """The endpoint's fields checked and in their one spelling; raises `ConfigError`."""
    scheme = endpoint.scheme.lower() if isinstance(endpoint.scheme, str) else endpoint.scheme
    if scheme not in SCHEMES:
        raise ConfigError(
            f"unknown scheme {shown(endpoint.scheme)} (expected one of: {', '.join(SCHEMES)})"
        )
    out: dict[str, Any] = {"scheme": scheme}
    port = endpoint.port
    if isinstance(port, bool) or not isinstance(port, int):
        raise ConfigError(f"invalid port {shown(port)} (expected a number from 1 to 65535)")
    if scheme in UNIX_SCHEMES:
        if endpoint.host != "localhost" or port != 0:
            raise ConfigError(
                f"a {scheme} endpoint has a path, not a host or port (got host "
                f"{shown(endpoint.host)} and port {shown(port)}; expected neither)"
            )
        out["path"] = _valid_unix_path(endpoint.path)
    else:
        out["host"] = _valid_host(endpoint.host)
        out["port"] = port or DEFAULT_PORTS[scheme]
        if not 0 < out["port"] < 65536:
            raise ConfigError(f"invalid port {shown(port)} (expected a number from 1 to 65535)")
        path = endpoint.path
        if scheme in HTTP_SCHEMES:
            path = path or "/"
            if (
                not isinstance(path, str)
                or not path.startswith("/")
                or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in path)
            ):
                raise ConfigError(f"invalid HTTP path {shown(path)} (expected '/' and a URL path)")
            out["path"] = path
        elif path != "":
            raise ConfigError(
                f"a {scheme} endpoint has no path, got {shown(path)} "
                "(expected '': only http(s) and unix sockets take a path)"
            )
    for name in ("username", "password"):
        value = getattr(endpoint, name)
        if value is not None and (scheme not in HTTP_SCHEMES or not isinstance(value, str)):
            raise ConfigError(
                f"user credentials are only accepted for http and https as text, not for {scheme}"
            )
    if endpoint.password is not None and endpoint.username is None:
        raise ConfigError(  # never echoed: the value is a secret
            "incomplete user credentials: a password without a username "
            "(expected both, or a username alone as a token)"
        )
    values = {name: getattr(endpoint, name) for name in OPTION_NAMES}
    given = [
        name for name, value in values.items() if not _is_default(value, OPTION_DEFAULTS[name])
    ]
    out.update(validate_options(scheme, values, given))
    return out


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Everything that decides how to reach a Thrift service and what goes on the wire.

    Frozen and hashable, so equal endpoints can share a connection pool::

        >>> ep = parse_url("tcps://api.example:9443?protocol=compact&timeout=2")
        >>> ep.host, ep.port, ep.tls, ep.protocol, ep.timeout
        ('api.example', 9443, True, 'compact', 2.0)
    """

    scheme: Scheme
    host: str = "localhost"
    port: int = 0  #: 0: the scheme's default port (unix schemes have none)
    path: str = ""
    protocol: ProtocolName = "binary"
    header_protocol: HeaderProtocolName = "binary"
    transport: TransportName = "buffered"
    zlib: bool = False
    zlib_level: int = DEFAULT_ZLIB_LEVEL  #: 0 (stored) to 9 (smallest); zlib streams only
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    ca_certs: str | None = None
    validate: bool = True
    certfile: str | None = None
    keyfile: str | None = None
    server_hostname: str | None = None
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = ()
    bearer_token: str | None = dataclasses.field(default=None, repr=False)
    pipeline: int = 1
    discovery: DiscoveryName | None = None  #: dns: one endpoint per address; srv: per record
    resolve_interval: float = DEFAULT_RESOLVE_INTERVAL
    dns_server: str | None = None  #: 'host:port' of the resolver; None: the system's

    def __post_init__(self) -> None:
        """Check every field and bring it to its one spelling (also when built directly)."""
        for name, value in _valid_fields(self).items():
            if value != getattr(self, name) or type(value) is not type(getattr(self, name)):
                object.__setattr__(self, name, value)  # frozen: only this validation writes

    @property
    def tls(self) -> bool:
        """Whether the connection is wrapped in TLS."""
        return self.scheme in TLS_SCHEMES

    @property
    def is_http(self) -> bool:
        """Whether calls travel as HTTP POST requests."""
        return self.scheme in HTTP_SCHEMES

    @property
    def is_unix(self) -> bool:
        """Whether the endpoint is a unix domain socket."""
        return self.scheme in UNIX_SCHEMES

    # Both URLs are formatted once per endpoint (a frozen value): every error message, log
    # line and attempt of a call names its endpoint, and formatting takes about 8 us.
    @functools.cached_property
    def url(self) -> str:
        """The URL that `parse_url` turns back into this endpoint (keyword-only options aside)."""
        return self._format(redact=False)

    @functools.cached_property
    def redacted_url(self) -> str:
        """The URL with its secrets replaced by '***', safe for logs and messages.

        Hidden: a password; a user name given without a password (it is then a token); the
        values of query parameters named like secrets (see `is_secret_name`).
        """
        return self._format(redact=True)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret this endpoint sends, for scrubbing text a server echoes back."""
        from urllib.parse import unquote_plus

        found = [self.password, self.bearer_token]
        if self.password is None:
            found.append(self.username)
        if self.username is not None:
            import base64

            token = f"{self.username}:{self.password or ''}".encode()
            found.append(base64.b64encode(token).decode("ascii"))  # the Basic credentials
        found += [value for name, value in self.headers if is_secret_header(name)]
        _, _, query = self.path.partition("?")
        for pair in query.split("&") if query else ():
            name, _, value = pair.partition("=")
            if is_secret_name(unquote_plus(name)):
                found += [value, unquote_plus(value)]
        return tuple(sorted({text for text in found if text}, key=len, reverse=True))

    def __str__(self) -> str:
        return self.redacted_url

    def __repr__(self) -> str:
        return f"Endpoint({self.redacted_url!r})"

    def _format(self, *, redact: bool) -> str:
        from urllib.parse import quote, urlencode

        options: list[tuple[str, str]] = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name not in QUERY_OPTIONS or value == field.default:
                continue
            options.append(
                (field.name, str(value).lower() if isinstance(value, bool) else f"{value}")
            )
        if self.is_unix:
            location = self.path if self.path.startswith(".") else f"//{self.path}"
            base = f"{self.scheme}:{quote(location, safe='/.~-_')}"
        else:
            userinfo = ""
            if self.username is not None:
                # A user name without a password is how tokens are passed: hidden too.
                hide = redact and self.password is None
                userinfo = "***" if hide else quote(self.username, safe="")
                if self.password is not None:
                    userinfo += ":" + ("***" if redact else quote(self.password, safe=""))
                userinfo += "@"
            host = f"[{self.host}]" if ":" in self.host else self.host
            path = redact_query(self.path) if redact else self.path
            base = f"{self.scheme}://{userinfo}{host}:{self.port}{path}"
        if not options:
            return base
        return base + ("&" if "?" in base else "?") + urlencode(options)
