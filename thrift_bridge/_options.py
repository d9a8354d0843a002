"""Endpoint options: the vocabulary, one parser per option, and the rules on their combinations.

The one place that knows which schemes, protocols and transports exist, what each option
accepts, where it applies and which combinations cannot work. `Endpoint` (built directly or
by `parse_url`), the registry, the adapters, the CLI and `testing` all validate through it.
No I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Literal, get_args

from ._exceptions import ConfigError, shown

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_PORTS",
    "DEFAULT_RESOLVE_INTERVAL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_ZLIB_LEVEL",
    "DISCOVERIES",
    "HEADER_PROTOCOLS",
    "HTTP_SCHEMES",
    "OPTION_DEFAULTS",
    "OPTION_NAMES",
    "PROTOCOLS",
    "QUERY_OPTIONS",
    "SCHEMES",
    "TLS_SCHEMES",
    "TRANSPORTS",
    "UNIX_SCHEMES",
    "DiscoveryName",
    "HeaderProtocolName",
    "ProtocolName",
    "Scheme",
    "TransportName",
    "close_options",
    "unknown_option",
    "validate_options",
]

Scheme = Literal["tcp", "tcps", "http", "https", "unix", "unixs"]
ProtocolName = Literal["binary", "compact", "json", "header"]
HeaderProtocolName = Literal["binary", "compact"]
TransportName = Literal["buffered", "framed", "zlib", "header"]
DiscoveryName = Literal["dns", "srv"]

SCHEMES: tuple[str, ...] = get_args(Scheme)
PROTOCOLS: tuple[str, ...] = get_args(ProtocolName)
HEADER_PROTOCOLS: tuple[str, ...] = get_args(HeaderProtocolName)
TRANSPORTS: tuple[str, ...] = get_args(TransportName)
DISCOVERIES: tuple[str, ...] = get_args(DiscoveryName)
TLS_SCHEMES = frozenset({"tcps", "https", "unixs"})
HTTP_SCHEMES = frozenset({"http", "https"})
UNIX_SCHEMES = frozenset({"unix", "unixs"})
DEFAULT_PORTS = {"tcp": 9090, "tcps": 9090, "http": 80, "https": 443}

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_MESSAGE_SIZE = 100 * 1024 * 1024  # Thrift TConfiguration default
DEFAULT_MAX_FRAME_SIZE = 16_384_000  # Thrift TConfiguration default
DEFAULT_ZLIB_LEVEL = 6  # zlib's own default (Z_DEFAULT_COMPRESSION), as Apache's C++ transport
#: How often a discovered name is resolved again: gRPC's DNS resolver's 30 s.
DEFAULT_RESOLVE_INTERVAL = 30.0
#: Where discovery applies: a name resolving to addresses. Not http(s): its Host header
#: would become the address; not unix: no name.
_DISCOVERY_SCHEMES = frozenset({"tcp", "tcps"})
_MAX_DURATION = 24 * 3600.0
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
            f"invalid {name} {shown(value)} (expected seconds > 0 and at most {_MAX_DURATION:g}, "
            "as a number or text like '1.5', '2s', '250ms')"
        )
    return seconds


def _size(name: str, value: object) -> int:
    """A positive byte count from an int or its decimal text."""
    if isinstance(value, str) and re.fullmatch(r"[0-9][0-9_]{0,15}", value.strip()):
        value = int(value.strip().replace("_", ""))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 2**31 - 1:
        raise ConfigError(
            f"invalid {name} {shown(value)} "
            f"(expected a whole number of bytes from 1 to {2**31 - 1})"
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
    raise ConfigError(f"invalid {name} {shown(value)} (expected true or false)")


def _choice(choices: tuple[str, ...]) -> Callable[[str, object], str]:
    """A parser accepting one of `choices`, case-insensitively."""

    def parse(name: str, value: object) -> str:
        text = value.strip().lower() if isinstance(value, str) else None
        if text not in choices:
            raise ConfigError(
                f"unknown {name} {shown(value)} (expected one of: {', '.join(choices)})"
            )
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
    named = "a value" if name == "bearer_token" and value else shown(value)
    raise ConfigError(f"invalid {name} {named} (expected a non-empty string)")


def _headers(name: str, value: object) -> tuple[tuple[str, str], ...]:
    """HTTP headers from a mapping or pairs, as a sorted tuple of (name, value)."""
    if isinstance(value, Mapping):
        items: Iterable[Any] = value.items()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ConfigError(
            f"invalid {name} {shown(value)} (expected a mapping of header names to values)"
        )
    out = []
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ConfigError(f"invalid {name} entry {shown(item)} (expected a (name, value) pair)")
        key, val = item
        if not isinstance(key, str) or not _HEADER_NAME_RE.fullmatch(key):
            raise ConfigError(
                f"invalid HTTP header name {shown(key)} in {name} "
                "(expected letters, digits and !#$%&'*+-.^_`|~)"
            )
        if not isinstance(val, str) or any(c in val for c in "\r\n\x00"):
            raise ConfigError(
                f"invalid value for HTTP header {key!r} in {name} "
                "(expected text without line breaks)"
            )
        out.append((key, val))
    return tuple(sorted(out))


def _pipeline(name: str, value: object) -> int:
    """How many calls may be in flight on one connection: a whole number from 1 to 1024."""
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 4:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1024:
        raise ConfigError(f"invalid {name} {shown(value)} (expected a whole number from 1 to 1024)")
    return value


def _zlib_level(name: str, value: object) -> int:
    """A zlib compression level: a whole number from 0 (stored) to 9 (smallest)."""
    if isinstance(value, str) and len(value.strip()) == 1 and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise ConfigError(
            f"invalid {name} {value!r} (expected a whole number from 0 to 9: 0 stores, "
            "1 is fastest, 9 smallest)"
        )
    return value


def _dns_server(name: str, value: object) -> str:
    """A resolver address as 'host:port' (an IP address, port 53 by default; IPv6 in [])."""
    import ipaddress

    text = value.strip() if isinstance(value, str) else ""
    match = re.fullmatch(
        r"\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?|([0-9.]+)(?::([0-9]{1,5}))?", text
    )
    try:
        if not match:
            raise ValueError(text)
        address = ipaddress.ip_address(match[1] or match[3])
        port = int(match[2] or match[4] or 53)
        if not 0 < port < 65536:
            raise ValueError(port)
    except ValueError:
        raise ConfigError(
            f"invalid {name} {shown(value)} (expected an IP address and optional port: "
            "'10.0.0.2', '127.0.0.1:5353' or '[::1]:53')"
        ) from None
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{host}:{port}"


def _optional(parse: Callable[[str, object], Any]) -> Callable[[str, object], Any]:
    """`parse`, also accepting None (the option left unset)."""

    def parse_optional(name: str, value: object) -> Any:
        return None if value is None else parse(name, value)

    return parse_optional


_Parser = Callable[[str, object], Any]
_ALL = frozenset(SCHEMES)

# name -> (parser, default, schemes it applies to, may appear in a URL's query)
_OPTIONS: dict[str, tuple[_Parser, Any, frozenset[str], bool]] = {
    "protocol": (_choice(PROTOCOLS), "binary", _ALL, True),
    "header_protocol": (_choice(HEADER_PROTOCOLS), "binary", _ALL - HTTP_SCHEMES, True),
    "transport": (_choice(TRANSPORTS), "buffered", _ALL, True),
    "zlib": (_boolean, False, _ALL - HTTP_SCHEMES, True),
    "zlib_level": (_zlib_level, DEFAULT_ZLIB_LEVEL, _ALL - HTTP_SCHEMES, True),
    "timeout": (_duration, DEFAULT_TIMEOUT, _ALL, True),
    "connect_timeout": (_duration, DEFAULT_CONNECT_TIMEOUT, _ALL, True),
    "max_message_size": (_size, DEFAULT_MAX_MESSAGE_SIZE, _ALL, True),
    "max_frame_size": (_size, DEFAULT_MAX_FRAME_SIZE, _ALL, True),
    "ca_certs": (_optional(_text), None, TLS_SCHEMES, True),
    "validate": (_boolean, True, TLS_SCHEMES, True),
    "certfile": (_optional(_text), None, TLS_SCHEMES, True),
    "keyfile": (_optional(_text), None, TLS_SCHEMES, True),
    "server_hostname": (_optional(_text), None, TLS_SCHEMES, True),
    "headers": (_headers, (), _ALL, False),
    "bearer_token": (_optional(_text), None, HTTP_SCHEMES, False),
    "pipeline": (_pipeline, 1, _ALL, True),
    "discovery": (_optional(_choice(DISCOVERIES)), None, _DISCOVERY_SCHEMES, True),
    "resolve_interval": (_duration, DEFAULT_RESOLVE_INTERVAL, _DISCOVERY_SCHEMES, True),
    "dns_server": (_optional(_dns_server), None, _DISCOVERY_SCHEMES, True),
}
OPTION_NAMES: tuple[str, ...] = tuple(sorted(_OPTIONS))
#: Each option's default, as `Endpoint` holds it.
OPTION_DEFAULTS: dict[str, Any] = {name: spec[1] for name, spec in _OPTIONS.items()}
#: The options a URL's query may carry (the others hold secrets or structures: keywords only).
QUERY_OPTIONS = frozenset(name for name, spec in _OPTIONS.items() if spec[3])


def validate_options(
    scheme: str, values: Mapping[str, object], given: Collection[str]
) -> dict[str, Any]:
    """Every option, from `values` or its default, parsed, checked together, and in its one
    spelling.

    `given` names the options the user set (also to their defaults): each must apply to
    `scheme`. Raises `ConfigError` naming the bad value and what is accepted.
    """
    for name in given:
        schemes = _OPTIONS[name][2]
        if scheme not in schemes:
            raise ConfigError(
                f"option {name!r} does not apply to {scheme} (only to {', '.join(sorted(schemes))})"
            )
    out = {
        name: parse(name, values[name]) if name in values else default
        for name, (parse, default, _, _) in _OPTIONS.items()
    }
    _check_combination(scheme, out, given)
    return out


def _check_combination(scheme: str, out: dict[str, Any], given: Collection[str]) -> None:
    """Reject option combinations that cannot work, and normalise equivalent spellings."""
    transport = out["transport"]
    if scheme in HTTP_SCHEMES and transport != "buffered":
        raise ConfigError(
            f"transport {transport!r} is not supported over {scheme} "
            "(expected buffered: HTTP frames each call itself)"
        )
    if out["zlib"]:
        if transport == "buffered":
            out["transport"], out["zlib"] = "zlib", False  # one spelling per wire format
        elif transport != "framed":
            raise ConfigError(
                f"zlib=true stacks only on transport=framed, not {transport!r} "
                "(or use transport=zlib)"
            )
    if ("zlib_level" in given or out["zlib_level"] != DEFAULT_ZLIB_LEVEL) and not (
        out["transport"] == "zlib" or out["zlib"]
    ):
        raise ConfigError(
            "zlib_level applies only to a zlib stream (transport=zlib, or zlib=true with "
            "transport=framed)"
        )
    _check_header(scheme, out, given)
    is_header = "header" in (out["transport"], out["protocol"])
    if out["headers"] and scheme not in HTTP_SCHEMES and not is_header:
        raise ConfigError(
            "headers apply to http(s) and to THeader endpoints (transport=header or "
            "protocol=header)"
        )
    if out["pipeline"] > 1 and scheme in HTTP_SCHEMES:
        raise ConfigError(
            f"pipeline={out['pipeline']} does not work over {scheme}: HTTP/1.1 carries one call "
            "per request (expected pipeline=1, or a tcp, tcps or unix URL)"
        )
    if out["keyfile"] and not out["certfile"]:
        raise ConfigError("keyfile given without certfile")
    if "max_frame_size" in given and out["max_frame_size"] > out["max_message_size"]:
        raise ConfigError("max_frame_size exceeds max_message_size")
    if out["discovery"] is None:
        for name in ("resolve_interval", "dns_server"):
            if name in given:
                raise ConfigError(f"{name} applies only with discovery=dns or discovery=srv")


def _check_header(scheme: str, out: dict[str, Any], given: Collection[str]) -> None:
    """THeader is a transport (frames on the socket) or a protocol over buffered|framed|zlib."""
    transport, protocol = out["transport"], out["protocol"]
    if transport == "header" and protocol not in HEADER_PROTOCOLS:
        raise ConfigError(
            f"transport=header carries protocol=binary or compact, not {protocol!r} "
            "(or use protocol=header over transport=buffered, framed or zlib)"
        )
    set_header_protocol = "header_protocol" in given or out["header_protocol"] != "binary"
    if set_header_protocol and protocol != "header":
        raise ConfigError(
            "header_protocol applies only with protocol=header "
            "(with transport=header, choose binary or compact with protocol=)"
        )
    if protocol == "header" and scheme in HTTP_SCHEMES:
        raise ConfigError(f"protocol=header is not supported over {scheme}")
    if protocol == "header" and transport == "buffered":
        # THeader frames over a buffered socket are exactly transport=header: one spelling.
        out["transport"], out["protocol"] = "header", out["header_protocol"]
        out["header_protocol"] = "binary"


def unknown_option(name: str) -> str:
    """The message for an unknown option, with a suggestion when one is close."""
    close = close_options(name.lower(), 0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown option {name!r} (expected one of: {', '.join(OPTION_NAMES)}){hint}"


def close_options(name: str, cutoff: float) -> list[str]:
    """The option name most similar to `name` (as a list of at most one), if any is close."""
    import difflib

    return difflib.get_close_matches(name, OPTION_NAMES, 1, cutoff)
