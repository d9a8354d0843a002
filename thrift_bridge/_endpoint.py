"""Endpoint URLs: parse and validate them into frozen `Endpoint` values, with no I/O.

    tcp://host:9090   tcps://host:9090   http://host/path   https://host/path
    unix:///abs.sock  unix:/abs.sock     unix:./rel.sock    unixs:... (TLS over a unix socket)

Options come from the query string or as keyword arguments, never both for the same name.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

from ._exceptions import ConfigError

__all__ = [
    "DEFAULT_URL",
    "Endpoint",
    "is_secret_header",
    "is_secret_name",
    "parse_url",
    "parse_urls",
    "scrub",
]

Scheme = Literal["tcp", "tcps", "http", "https", "unix", "unixs"]
ProtocolName = Literal["binary", "compact", "json", "header"]
HeaderProtocolName = Literal["binary", "compact"]
TransportName = Literal["buffered", "framed", "zlib", "header"]

SCHEMES: tuple[str, ...] = get_args(Scheme)
PROTOCOLS: tuple[str, ...] = get_args(ProtocolName)
HEADER_PROTOCOLS: tuple[str, ...] = get_args(HeaderProtocolName)
TRANSPORTS: tuple[str, ...] = get_args(TransportName)
TLS_SCHEMES = frozenset({"tcps", "https", "unixs"})
HTTP_SCHEMES = frozenset({"http", "https"})
UNIX_SCHEMES = frozenset({"unix", "unixs"})
DEFAULT_PORTS = {"tcp": 9090, "tcps": 9090, "http": 80, "https": 443}
DEFAULT_URL = "tcp://localhost:9090"

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_MESSAGE_SIZE = 100 * 1024 * 1024  # Thrift TConfiguration default
DEFAULT_MAX_FRAME_SIZE = 16_384_000  # Thrift TConfiguration default
_MAX_DURATION = 24 * 3600.0

_URL_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?P<rest>[^?#]*)(?:\?(?P<query>[^#]*))?$"
)
_AUTHORITY_RE = re.compile(
    r"^(?:(?P<userinfo>[^@/]*)@)?(?P<host>\[[^\]/]*\]|[^:/\[\]@]*)(?::(?P<port>[^/]*))?(?P<path>/.*)?$"
)
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$"
)
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _duration(name: str, value: object) -> float:
    """A positive, finite number of seconds from a number or a text like '1.5', '2s', '250ms'."""
    if isinstance(value, bool):
        seconds = math.nan
    elif isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float
            seconds = math.nan
    elif isinstance(value, str):
        text = value.strip().lower()
        scale = 1.0
        if text.endswith("ms"):
            text, scale = text[:-2], 0.001
        elif text.endswith("s"):
            text = text[:-1]
        try:
            number = r"[0-9]{0,20}\.?[0-9]{1,20}(?:e[-+]?[0-9]{1,3})?"
            seconds = float(text) * scale if re.fullmatch(number, text) else math.nan
        except ValueError:
            seconds = math.nan
    else:
        seconds = math.nan
    if not (0 < seconds <= _MAX_DURATION):
        raise ConfigError(
            f"invalid {name} {value!r} (expected seconds > 0 and at most {_MAX_DURATION:g}, "
            "as a number or text like '1.5', '2s', '250ms')"
        )
    return seconds


def _size(name: str, value: object) -> int:
    """A positive byte count from an int or its decimal text."""
    if isinstance(value, str) and re.fullmatch(r"[0-9][0-9_]{0,15}", value.strip()):
        value = int(value.strip().replace("_", ""))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 2**31 - 1:
        raise ConfigError(
            f"invalid {name} {value!r} (expected a whole number of bytes from 1 to {2**31 - 1})"
        )
    return value


def _boolean(name: str, value: object) -> bool:
    """True or False from a bool or the usual spellings of one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
    raise ConfigError(f"invalid {name} {value!r} (expected true or false)")


def _choice(choices: tuple[str, ...]) -> Callable[[str, object], str]:
    """A parser accepting one of `choices`, case-insensitively."""

    def parse(name: str, value: object) -> str:
        text = value.strip().lower() if isinstance(value, str) else None
        if text not in choices:
            raise ConfigError(f"unknown {name} {value!r} (expected one of: {', '.join(choices)})")
        return text

    return parse


def _text(name: str, value: object) -> str:
    """A non-empty string of valid Unicode without NUL."""
    if isinstance(value, str) and value and "\x00" not in value:
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            pass
    shown = "a value" if name == "bearer_token" and value else repr(value)
    raise ConfigError(f"invalid {name} {shown} (expected a non-empty string)")


def _headers(name: str, value: object) -> tuple[tuple[str, str], ...]:
    """HTTP headers from a mapping or pairs, as a sorted tuple of (name, value)."""
    if isinstance(value, Mapping):
        items: Iterable[Any] = value.items()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ConfigError(
            f"invalid {name} {value!r} (expected a mapping of header names to values)"
        )
    out = []
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ConfigError(f"invalid {name} entry {item!r} (expected a (name, value) pair)")
        key, val = item
        if not isinstance(key, str) or not _HEADER_NAME_RE.fullmatch(key):
            raise ConfigError(f"invalid HTTP header name {key!r} in {name}")
        if not isinstance(val, str) or any(c in val for c in "\r\n\x00"):
            raise ConfigError(
                f"invalid value for HTTP header {key!r} in {name} "
                "(expected text without line breaks)"
            )
        out.append((key, val))
    return tuple(sorted(out))


_Parser = Callable[[str, object], Any]

# name -> (parser, schemes it applies to, may appear in the URL query)
_OPTIONS: dict[str, tuple[_Parser, frozenset[str], bool]] = {
    "protocol": (_choice(PROTOCOLS), frozenset(SCHEMES), True),
    "header_protocol": (_choice(HEADER_PROTOCOLS), frozenset(SCHEMES) - HTTP_SCHEMES, True),
    "transport": (_choice(TRANSPORTS), frozenset(SCHEMES), True),
    "zlib": (_boolean, frozenset(SCHEMES) - HTTP_SCHEMES, True),
    "timeout": (_duration, frozenset(SCHEMES), True),
    "connect_timeout": (_duration, frozenset(SCHEMES), True),
    "max_message_size": (_size, frozenset(SCHEMES), True),
    "max_frame_size": (_size, frozenset(SCHEMES), True),
    "ca_certs": (_text, TLS_SCHEMES, True),
    "validate": (_boolean, TLS_SCHEMES, True),
    "certfile": (_text, TLS_SCHEMES, True),
    "keyfile": (_text, TLS_SCHEMES, True),
    "server_hostname": (_text, TLS_SCHEMES, True),
    "headers": (_headers, frozenset(SCHEMES), False),
    "bearer_token": (_text, HTTP_SCHEMES, False),
}
OPTION_NAMES: tuple[str, ...] = tuple(sorted(_OPTIONS))


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
    port: int = 0
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
            parser, _, in_query = _OPTIONS.get(field.name, (None, frozenset(), False))
            value = getattr(self, field.name)
            if parser is None or not in_query or value == field.default:
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
            path = _redact_query(self.path) if redact else self.path
            base = f"{self.scheme}://{userinfo}{host}:{self.port}{path}"
        if not options:
            return base
        return base + ("&" if "?" in base else "?") + urlencode(options)


def _fail(url: str, problem: str) -> ConfigError:
    """A ConfigError about `url` that never echoes its password."""
    return ConfigError(f"{problem} in {_redact(url)!r}")


#: Query parameters whose values are secrets by convention (RFC 6750's access_token, API
#: keys, signatures...): exact names, and names ending in one of `_SECRET_SUFFIXES`.
SECRET_NAMES = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "bearer_token",
        "headers",
        "key",
        "passwd",
        "password",
        "pwd",
        "secret",
        "sig",
        "signature",
        "token",
    }
)
_SECRET_SUFFIXES = ("_token", "-token", "_key", "-key", "_secret", "-secret", "_password")
#: HTTP headers whose values are secrets (besides names that `is_secret_name` accepts).
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def is_secret_name(name: str) -> bool:
    """Whether a query parameter called `name` carries a secret (case-insensitive)."""
    lowered = name.lower()
    return lowered in SECRET_NAMES or lowered.endswith(_SECRET_SUFFIXES)


def is_secret_header(name: str) -> bool:
    """Whether an HTTP header called `name` carries a secret."""
    return name.lower() in _SECRET_HEADERS or is_secret_name(name.replace("-", "_"))


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` (a server's words, say) with every occurrence of each of `secrets` as '***'."""
    for secret in secrets:  # longest first (as `Endpoint.secrets` orders them)
        text = text.replace(secret, "***")
    return text


def _redact_query(path: str) -> str:
    """`path` with the values of its secret query parameters replaced by '***'."""
    from urllib.parse import unquote_plus

    location, mark, query = path.partition("?")
    if not mark:
        return path
    pairs = []
    for pair in query.split("&"):
        name, equals, _ = pair.partition("=")
        pairs.append(f"{name}=***" if equals and is_secret_name(unquote_plus(name)) else pair)
    return f"{location}?{'&'.join(pairs)}"


def _redact(url: str) -> str:
    """`url` with its userinfo (up to the last '@') and secret query values replaced by '***'.

    A password may hold unencoded '/', '?', '#' or '@', so everything up to the last '@' goes.
    """
    url = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://).*@", r"\1***@", url, flags=re.DOTALL)
    location, mark, rest = url.partition("?")
    query, hash_mark, fragment = rest.partition("#")
    return location + mark + _redact_query("?" + query)[1:] + hash_mark + fragment


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
        shown = "" if "@" in url else f" {raw!r}"  # a mis-split password must not be echoed
        raise _fail(url, f"invalid port{shown} (expected a number from 1 to 65535)")
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
            f"invalid endpoint URL {_redact(url.encode('utf-8', 'replace').decode())!r} "
            "(it holds characters that are not valid Unicode)"
        ) from None
    text = url.strip()
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise _fail(url, "whitespace or control characters inside the URL (percent-encode them)")
    match = _URL_RE.match(text)
    if not match:
        raise _fail(url, f"malformed endpoint URL (expected a URL like {DEFAULT_URL!r})")
    scheme = match["scheme"].lower()
    if scheme not in SCHEMES:
        raise _fail(
            url, f"unknown scheme {match['scheme']!r} (expected one of: {', '.join(SCHEMES)})"
        )
    rest = match["rest"]
    fields: dict[str, Any] = {"scheme": scheme}
    if scheme in UNIX_SCHEMES:
        fields["path"] = _parse_unix_path(url, rest)
        fields["host"] = "localhost"
        fields["port"] = 0
    else:
        if not rest.startswith("//"):
            raise _fail(url, f"expected '{scheme}://host:port' after the scheme")
        authority = _AUTHORITY_RE.match(rest[2:])
        if not authority:
            raise _fail(url, "malformed host or port")
        fields["host"] = _parse_host(url, authority["host"])
        fields["port"] = _parse_port(url, scheme, authority["port"])
        userinfo = authority["userinfo"]
        if userinfo is not None:
            if scheme not in HTTP_SCHEMES:
                raise _fail(
                    url, f"user credentials are only accepted for http and https, not {scheme}"
                )
            from urllib.parse import unquote

            user, sep, password = userinfo.partition(":")
            fields["username"] = unquote(user)
            fields["password"] = unquote(password) if sep else None
        path = authority["path"] or ""
        if scheme in HTTP_SCHEMES:
            fields["path"] = path or "/"
        elif path not in ("", "/"):
            raise _fail(url, f"a {scheme} URL has no path, got {path!r}")

    extra_query: list[str] = []
    given: dict[str, object] = {}
    for name, value, raw in _query_pairs(url, match["query"], http=scheme in HTTP_SCHEMES):
        key = name.lower()
        spec = _OPTIONS.get(key)
        if spec is not None and not spec[2]:
            raise _fail(
                url,
                f"option {key!r} goes in a keyword argument, not in the URL (URLs end up in logs)",
            )
        if spec is None:
            if scheme in HTTP_SCHEMES and not _close_options(key, 0.8):
                extra_query.append(raw)  # the HTTP server's own parameter, kept as written
                continue
            raise _fail(url, _unknown_option(name))
        if key in given:
            raise _fail(url, f"option {key!r} given twice")
        given[key] = value
    for key, option in options.items():
        if key not in _OPTIONS:
            raise _fail(url, _unknown_option(key))
        if key in given:
            raise _fail(url, f"option {key!r} given both in the URL and as a keyword argument")
        given[key] = option
    if extra_query:
        fields["path"] += "?" + "&".join(extra_query)

    for key, given_value in given.items():
        parser, schemes, _ = _OPTIONS[key]
        if scheme not in schemes:
            raise _fail(
                url,
                f"option {key!r} does not apply to {scheme} (only to {', '.join(sorted(schemes))})",
            )
        try:
            fields[key] = parser(key, given_value)
        except ConfigError as exc:
            raise _fail(url, exc.message) from None
    _check_combination(url, fields)
    return Endpoint(**fields)


def _unknown_option(name: str) -> str:
    """The message for an unknown option, with a suggestion when one is close."""
    close = _close_options(name.lower(), 0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown option {name!r} (expected one of: {', '.join(OPTION_NAMES)}){hint}"


def _close_options(name: str, cutoff: float) -> list[str]:
    """The option name most similar to `name` (as a list of at most one), if any is close."""
    import difflib

    return difflib.get_close_matches(name, OPTION_NAMES, 1, cutoff)


def _check_combination(url: str, fields: dict[str, Any]) -> None:
    """Reject option combinations that cannot work, and normalise equivalent spellings."""
    scheme, transport = fields["scheme"], fields.get("transport", "buffered")
    if scheme in HTTP_SCHEMES and transport != "buffered":
        raise _fail(
            url,
            f"transport {transport!r} is not supported over {scheme} "
            "(expected buffered: HTTP frames each call itself)",
        )
    if fields.get("zlib"):
        if transport == "buffered":
            fields["transport"], fields["zlib"] = "zlib", False  # one spelling per wire format
        elif transport != "framed":
            raise _fail(
                url,
                f"zlib=true stacks only on transport=framed, not {transport!r} "
                "(or use transport=zlib)",
            )
    _check_header(url, fields)
    is_header = "header" in (fields.get("transport"), fields.get("protocol"))
    if fields.get("headers") and scheme not in HTTP_SCHEMES and not is_header:
        raise _fail(
            url,
            "headers apply to http(s) and to THeader endpoints "
            "(transport=header or protocol=header)",
        )
    if fields.get("keyfile") and not fields.get("certfile"):
        raise _fail(url, "keyfile given without certfile")
    if fields.get("validate") is False and any(fields.get(k) for k in ("ca_certs",)):
        raise _fail(url, "ca_certs has no effect with validate=false; drop one of them")
    if "max_frame_size" in fields and fields["max_frame_size"] > fields.get(
        "max_message_size", DEFAULT_MAX_MESSAGE_SIZE
    ):
        raise _fail(url, "max_frame_size exceeds max_message_size")


def _check_header(url: str, fields: dict[str, Any]) -> None:
    """THeader is a transport (frames on the socket) or a protocol over buffered|framed|zlib."""
    scheme = fields["scheme"]
    transport = fields.get("transport", "buffered")
    protocol = fields.get("protocol", "binary")
    if transport == "header" and protocol not in HEADER_PROTOCOLS:
        raise _fail(
            url,
            f"transport=header carries protocol=binary or compact, not {protocol!r} "
            "(or use protocol=header over transport=buffered, framed or zlib)",
        )
    if "header_protocol" in fields and protocol != "header":
        raise _fail(
            url,
            "header_protocol applies only with protocol=header "
            "(with transport=header, choose binary or compact with protocol=)",
        )
    if protocol == "header" and scheme in HTTP_SCHEMES:
        raise _fail(url, f"protocol=header is not supported over {scheme}")
    if protocol == "header" and transport == "buffered":
        # THeader frames over a buffered socket are exactly transport=header: one spelling.
        fields["transport"] = "header"
        fields["protocol"] = fields.pop("header_protocol", "binary")


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
                    f"empty host in the host list of {_redact(urls)!r} "
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
            f"invalid endpoint {urls!r} (expected a URL string, an Endpoint, or a list of them)"
        )
    if not items:
        raise ConfigError("no endpoint given (expected a URL or a non-empty list of URLs)")
    result = []
    for item in items:
        if not isinstance(item, (str, Endpoint)):
            shown = type(item).__name__ if isinstance(item, (bytes, bytearray)) else repr(item)
            raise ConfigError(
                f"invalid endpoint {shown} in the list (expected URL strings or Endpoint values)"
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
