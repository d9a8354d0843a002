"""Endpoint URLs: parse them, plus keyword options, into validated `Endpoint` values, no I/O.

    tcp://host:9090   tcps://host:9090   http://host/path   https://host/path
    unix:///abs.sock  unix:/abs.sock     unix:./rel.sock    unixs:... (TLS over a unix socket)

Options come from the query string or as keyword arguments, never both for the same name.
Errors name the bad part of the URL and never echo its password.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ._endpoint import Endpoint, is_host_name
from ._exceptions import ConfigError, shown
from ._options import (
    DEFAULT_PORTS,
    HTTP_SCHEMES,
    OPTION_NAMES,
    QUERY_OPTIONS,
    SCHEMES,
    UNIX_SCHEMES,
    close_options,
    unknown_option,
    validate_options,
)
from ._secrets import redact_url

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DEFAULT_URL", "parse_url", "parse_urls"]

DEFAULT_URL = "tcp://localhost:9090"

_URL_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?P<rest>[^?#]*)(?:\?(?P<query>[^#]*))?$"
)
_AUTHORITY_RE = re.compile(
    r"^(?:(?P<userinfo>[^@/]*)@)?(?P<host>\[[^\]/]*\]|[^:/\[\]@]*)(?::(?P<port>[^/]*))?(?P<path>/.*)?$"
)
_ENCODE_USERINFO = (
    "a user name or password holding '@', ':', '/', '?' or '#' must be percent-encoded "
    "('@' as %40, ':' as %3A, '/' as %2F, '?' as %3F, '#' as %23)"
)


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
    if not is_host_name(host):
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
