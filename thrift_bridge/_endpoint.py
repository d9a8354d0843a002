"""Endpoint URLs: parse and validate them into frozen `Endpoint` values, with no I/O.

    tcp://host:9090   tcps://host:9090   http://host/path   https://host/path
    unix:///abs.sock  unix:/abs.sock     unix:./rel.sock    unixs:... (TLS over a unix socket)

Options come from the query string or as keyword arguments, never both for the same name;
what each option accepts, and which combinations work, is `_options`' to say. An `Endpoint`
built directly is held to the same rules as one parsed from a URL.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from ._exceptions import ConfigError, shown
from ._options import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_PORTS,
    DEFAULT_TIMEOUT,
    HTTP_SCHEMES,
    OPTION_DEFAULTS,
    OPTION_NAMES,
    QUERY_OPTIONS,
    SCHEMES,
    TLS_SCHEMES,
    UNIX_SCHEMES,
    HeaderProtocolName,
    ProtocolName,
    Scheme,
    TransportName,
    close_options,
    unknown_option,
    validate_options,
)
from ._secrets import is_secret_header, is_secret_name, redact_query, redact_url

__all__ = ["DEFAULT_URL", "Endpoint", "parse_url", "parse_urls"]

DEFAULT_URL = "tcp://localhost:9090"

_URL_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?P<rest>[^?#]*)(?:\?(?P<query>[^#]*))?$"
)
_AUTHORITY_RE = re.compile(
    r"^(?:(?P<userinfo>[^@/]*)@)?(?P<host>\[[^\]/]*\]|[^:/\[\]@]*)(?::(?P<port>[^/]*))?(?P<path>/.*)?$"
)
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$"
)
_ENCODE_USERINFO = (
    "a user name or password holding '@', ':', '/', '?' or '#' must be percent-encoded "
    "('@' as %40, ':' as %3A, '/' as %2F, '?' as %3F, '#' as %23)"
)


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

    @property
    def url(self) -> str:
        """The URL that `parse_url` turns back into this endpoint (keyword-only options aside)."""
        return self._format(redact=False)

    @property
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


def _fail(url: str, problem: str) -> ConfigError:
    """A ConfigError about `url` that never echoes its password."""
    return ConfigError(f"{problem} in {redact_url(url)!r}")


def _parse_host(url: str, raw: str) -> str:
    """A validated host name or IP literal (brackets removed from IPv6)."""
    from urllib.parse import unquote

    if raw.startswith("["):
        import ipaddress

        try:
            return str(ipaddress.IPv6Address(raw[1:-1]))
        except ValueError:
            raise _fail(url, f"invalid IPv6 address {raw!r}") from None
    if not raw:
        return "localhost"
    host = unquote(raw)
    if not _HOSTNAME_RE.fullmatch(host):
        raise _fail(
            url, f"invalid host {host!r} (expected a host name, IPv4 address or [IPv6] literal)"
        )
    return host.lower()


def _parse_port(url: str, scheme: str, raw: str | None) -> int:
    """A port from 1 to 65535, or the scheme's default when absent."""
    if raw is None or raw == "":
        return DEFAULT_PORTS[scheme]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 5) or not 0 < int(raw) < 65536:
        if "@" in url:  # most likely a password split at a reserved character: never echoed
            raise _fail(
                url, f"invalid port (expected a number from 1 to 65535; {_ENCODE_USERINFO})"
            )
        raise _fail(url, f"invalid port {raw!r} (expected a number from 1 to 65535)")
    return int(raw)


def _parse_unix_path(url: str, rest: str) -> str:
    """The socket path of a unix URL: '///abs', '/abs' or './rel' (and '../rel')."""
    from urllib.parse import unquote

    path = unquote(rest)
    if path.startswith("///") and not path.startswith("////"):
        path = path[2:]
    elif path.startswith("/") and not path.startswith("//"):
        pass
    elif not (path.startswith("./") or path.startswith("../")):
        raise _fail(
            url,
            "invalid unix socket location "
            "(expected unix:///abs/path, unix:/abs/path or unix:./relative/path)",
        )
    name = path.rsplit("/", 1)[-1]
    if name in ("", ".", "..") or "\x00" in path:
        raise _fail(url, f"invalid unix socket path {path!r}")
    return path


def _query_pairs(url: str, query: str | None, *, http: bool) -> list[tuple[str, str, str]]:
    """(name, value, raw text) of each query parameter; strict unless the URL is http(s).

    On http(s) a parameter may be anything the server accepts (``?wsdl``, ``a=b=c``); those
    that are not our options stay in the path exactly as written.
    """
    if not query:
        return []
    if not http:
        return [(k, v, "") for k, v in _split_query(url, query)]
    from urllib.parse import unquote_plus

    pairs = []
    for raw in query.split("&"):
        if raw:
            name, _, value = raw.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value), raw))
    return pairs


def _split_query(url: str, query: str | None, *, strict: bool = True) -> list[tuple[str, str]]:
    """The (name, value) pairs of a query string."""
    if not query:
        return []
    from urllib.parse import parse_qsl

    try:
        return parse_qsl(query, keep_blank_values=True, strict_parsing=strict)
    except ValueError:
        raise _fail(url, f"malformed query string {query!r}") from None


def parse_url(url: str | None = None, **options: Any) -> Endpoint:
    """Parse an endpoint URL plus keyword options into a validated `Endpoint`, with no I/O.

    Raises `ConfigError` naming the bad part and what is accepted.
    """
    if url is None:
        url = DEFAULT_URL
    if not isinstance(url, str):
        raise ConfigError(
            f"invalid endpoint URL of type {type(url).__name__} "
            f"(expected a string like {DEFAULT_URL!r})"
        )
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            f"invalid endpoint URL {redact_url(url.encode('utf-8', 'replace').decode())!r} "
            "(it holds characters that are not valid Unicode)"
        ) from None
    text = url.strip()
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise _fail(url, "whitespace or control characters inside the URL (percent-encode them)")
    match = _URL_RE.match(text)
    if not match:
        hint = f"; {_ENCODE_USERINFO}" if "@" in text else ""
        raise _fail(url, f"malformed endpoint URL (expected a URL like {DEFAULT_URL!r}{hint})")
    scheme = match["scheme"].lower()
    if scheme not in SCHEMES:
        raise _fail(
            url, f"unknown scheme {match['scheme']!r} (expected one of: {', '.join(SCHEMES)})"
        )
    fields = _location(url, scheme, match["rest"])
    given = _given_options(url, scheme, match["query"], options, fields)
    try:
        fields.update(validate_options(scheme, given, given))
        return Endpoint(**fields)
    except ConfigError as exc:
        raise _fail(url, exc.message) from None


def _location(url: str, scheme: str, rest: str) -> dict[str, Any]:
    """Scheme, host, port, path and credentials from the part of a URL before its query."""
    fields: dict[str, Any] = {"scheme": scheme}
    if scheme in UNIX_SCHEMES:
        fields["path"] = _parse_unix_path(url, rest)
        return fields
    if not rest.startswith("//"):
        raise _fail(url, f"expected '{scheme}://host:port' after the scheme")
    authority = _AUTHORITY_RE.match(rest[2:])
    if not authority:
        hint = f" ({_ENCODE_USERINFO})" if "@" in rest else ""
        raise _fail(url, f"malformed host or port{hint}")
    fields["host"] = _parse_host(url, authority["host"])
    fields["port"] = _parse_port(url, scheme, authority["port"])
    userinfo = authority["userinfo"]
    if userinfo is not None:
        if scheme not in HTTP_SCHEMES:
            raise _fail(url, f"user credentials are only accepted for http and https, not {scheme}")
        from urllib.parse import unquote

        user, sep, password = userinfo.partition(":")
        fields["username"] = unquote(user)
        fields["password"] = unquote(password) if sep else None
    path = authority["path"] or ""
    if scheme in HTTP_SCHEMES:
        fields["path"] = path or "/"
    elif path not in ("", "/"):
        raise _fail(url, f"a {scheme} URL has no path, got {path!r}")
    return fields


def _given_options(
    url: str, scheme: str, query: str | None, options: dict[str, Any], fields: dict[str, Any]
) -> dict[str, object]:
    """The options set in the query and as keywords (each once); other HTTP parameters stay
    in `fields["path"]`, as written."""
    extra_query: list[str] = []
    given: dict[str, object] = {}
    for name, value, raw in _query_pairs(url, query, http=scheme in HTTP_SCHEMES):
        key = name.lower()
        if key in OPTION_NAMES and key not in QUERY_OPTIONS:
            raise _fail(
                url,
                f"option {key!r} goes in a keyword argument, not in the URL (URLs end up in logs)",
            )
        if key not in OPTION_NAMES:
            if scheme in HTTP_SCHEMES and not close_options(key, 0.8):
                extra_query.append(raw)  # the HTTP server's own parameter, kept as written
                continue
            raise _fail(url, unknown_option(name))
        if key in given:
            raise _fail(url, f"option {key!r} given twice")
        given[key] = value
    for key, option in options.items():
        if key not in OPTION_NAMES:
            raise _fail(url, unknown_option(key))
        if key in given:
            raise _fail(url, f"option {key!r} given both in the URL and as a keyword argument")
        given[key] = option
    if extra_query:
        fields["path"] += "?" + "&".join(extra_query)
    return given


def parse_urls(urls: str | Endpoint | Sequence[str | Endpoint], **options: Any) -> list[Endpoint]:
    """Parse one URL with a comma-separated host list, or several URLs, into endpoints."""
    if isinstance(urls, str):
        match = _URL_RE.match(urls.strip())
        if match and "," in match["rest"] and match["scheme"].lower() not in UNIX_SCHEMES:
            scheme, rest, query = match["scheme"], match["rest"], match["query"]
            prefix = "//" if rest.startswith("//") else ""
            hosts, slash, path = rest[len(prefix) :].partition("/")
            suffix = (slash + path) + (f"?{query}" if query is not None else "")
            if any(not h for h in hosts.split(",")):
                raise ConfigError(
                    f"empty host in the host list of {redact_url(urls)!r} "
                    "(expected host[:port],host[:port],...)"
                )
            items: list[str | Endpoint] = [
                f"{scheme}:{prefix}{h}{suffix}" for h in hosts.split(",")
            ]
        else:
            items = [urls]
    elif isinstance(urls, Endpoint):
        items = [urls]
    elif isinstance(urls, (list, tuple)):
        items = list(urls)
    else:
        raise ConfigError(
            f"invalid endpoint {shown(urls)} "
            "(expected a URL string, an Endpoint, or a list of them)"
        )
    if not items:
        raise ConfigError("no endpoint given (expected a URL or a non-empty list of URLs)")
    result = []
    for item in items:
        if not isinstance(item, (str, Endpoint)):
            named = type(item).__name__ if isinstance(item, (bytes, bytearray)) else shown(item)
            raise ConfigError(
                f"invalid endpoint {named} in the list (expected URL strings or Endpoint values)"
            )
        if isinstance(item, Endpoint):
            if options:
                raise ConfigError(
                    f"options {sorted(options)} apply to URL strings, "
                    f"not to the ready Endpoint {item}"
                )
            result.append(item)
        else:
            result.append(parse_url(item, **options))
    return result
