"""Property tests for endpoints, parsed from URLs and built directly: only `ConfigError` ever
escapes, its message names the bad value and what is accepted, and valid endpoints round-trip
through their URL."""

from __future__ import annotations

import dataclasses
import re
import string
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import example, given, settings
from hypothesis import strategies as st

from thrift_bridge import ConfigError, Endpoint, parse_url

#: Where an endpoint is: the fields that are not options.
LOCATION = ("scheme", "host", "port", "path", "username", "password")
#: The endpoint options (query parameters or keyword arguments): every other field.
OPTION_NAMES = tuple(
    sorted(field.name for field in dataclasses.fields(Endpoint) if field.name not in LOCATION)
)

SETTINGS = settings(max_examples=300, deadline=None)
#: For the tests building endpoints directly (each example builds several).
DIRECT = settings(max_examples=200, deadline=None)

# --- (a) any text at all ----------------------------------------------------------------


def parse_or_none(text: object, **options: object) -> Endpoint | None:
    """The endpoint, or None when parse_url raised ConfigError (anything else propagates)."""
    try:
        endpoint = parse_url(text, **options)  # type: ignore[arg-type]
    except ConfigError:
        return None
    assert isinstance(endpoint, Endpoint)
    return endpoint


def check_usable(endpoint: Endpoint) -> None:
    """An accepted endpoint shows itself, hashes, and round-trips through its URL."""
    repr(endpoint)
    str(endpoint)
    hash(endpoint)
    again = parse_url(endpoint.url)
    assert again == endpoint
    assert hash(again) == hash(endpoint)


@SETTINGS
@given(st.text())
@example("tcp://h:\u00b2")
@example("http://h/?a=\ud800")
@example("unix:/a\ud800")
def test_arbitrary_text_returns_an_endpoint_or_raises_config_error(text):
    endpoint = parse_or_none(text)
    if endpoint is not None:
        check_usable(endpoint)


@SETTINGS
@given(
    st.sampled_from(["tcp:", "tcps:", "http:", "https:", "unix:", "unixs:", "ftp:", "TCP:"]),
    st.text(),
)
def test_arbitrary_text_after_a_scheme_returns_an_endpoint_or_raises_config_error(scheme, text):
    endpoint = parse_or_none(scheme + text)
    if endpoint is not None:
        check_usable(endpoint)


SCHEMES = st.sampled_from(["tcp", "tcps", "http", "https", "unix", "unixs", "ftp", "TCP", "", "1x"])
SEPARATORS = st.sampled_from(["://", ":", ":/", ":///", ":////", ":./", "//", ""])
HOSTS = st.one_of(
    st.sampled_from(
        ["localhost", "h", "api.example", "[::1]", "[fe80::1%eth0]", "127.0.0.1", "", "h%0A"]
    ),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.text(string.ascii_letters + string.digits + ".-_[]:%@/,", max_size=20),
    st.text(max_size=6),
)
PORTS = st.one_of(
    st.none(),
    st.integers(-5, 70000).map(str),
    st.sampled_from(["", "x", "080", "²", "١٢", "9" * 5000, " 1"]),
    st.text(st.characters(categories=["Nd", "No"]), max_size=5),
)
NAMES = st.one_of(
    st.sampled_from([*OPTION_NAMES, "protocl", "tenant", "Protocol", "TIMEOUT", ""]),
    st.text(max_size=6),
)
VALUES = st.one_of(
    st.sampled_from(
        [
            *("binary", "compact", "json", "header", "BINARY", "framed", "zlib", "buffered"),
            *("true", "no", "0", "1.5", "250ms", "2s", "1e-05", "inf", "nan", "-1", "1_000"),
            *("9" * 5000, "%00", "%0A", "%ff", "%", "/c.pem", "system"),
        ]
    ),
    st.text(max_size=8),
)
QUERIES = st.one_of(
    st.lists(st.tuples(NAMES, VALUES), max_size=4).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
    ),
    st.text(max_size=12),
)


@SETTINGS
@example("tcp", "://", None, "h", "\u00b2", None, None)
@example("tcp", "://", None, "h", "9" * 5000, None, None)
@example("tcp", "://", None, "h%0A", "1", None, None)
@example("https", "://", "u:p\ud800", "h", None, None, None)
@given(
    SCHEMES,
    SEPARATORS,
    st.one_of(st.none(), st.text(max_size=8)),
    HOSTS,
    PORTS,
    st.one_of(st.none(), st.text(max_size=10)),
    st.one_of(st.none(), QUERIES),
)
def test_url_shaped_text_returns_an_endpoint_or_raises_config_error(
    scheme, separator, userinfo, host, port, path, query
):
    url = scheme + separator
    url += "" if userinfo is None else f"{userinfo}@"
    url += host + ("" if port is None else f":{port}")
    url += "" if path is None else f"/{path}"
    url += "" if query is None else f"?{query}"
    endpoint = parse_or_none(url)
    if endpoint is not None:
        check_usable(endpoint)


@SETTINGS
@given(st.sampled_from(["tcp://h", "https://h/rpc", "unix:./s.sock"]), NAMES, VALUES)
def test_any_query_option_returns_an_endpoint_or_raises_config_error(base, name, value):
    for url in (f"{base}?{name}={value}", f"{base}?{quote(name)}={quote(value)}"):
        endpoint = parse_or_none(url)
        if endpoint is not None:
            check_usable(endpoint)


# --- (b) valid endpoints round-trip -------------------------------------------------------

LABELS = st.from_regex(r"[a-z0-9][a-z0-9-]{0,9}", fullmatch=True)
HOST_NAMES = st.one_of(
    st.lists(LABELS, min_size=1, max_size=3).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.sampled_from(["localhost", "[::1]", "API.Example.COM"]),
)
DURATIONS = st.one_of(
    st.floats(min_value=0, max_value=86400, exclude_min=True),
    st.integers(1, 86400),
    st.sampled_from(["1.5", "2s", "250ms", "0.001", "86400"]),
)
SIZES = st.integers(1, 2**31 - 1)
#: Options every scheme takes, with values a URL round-trips.
TIMING = {
    "timeout": DURATIONS,
    "connect_timeout": DURATIONS,
    "max_message_size": st.integers(16_384_000, 2**31 - 1),
}
SAFE_TEXT = st.text(
    st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=12
)  # no surrogates (not encodable) and no control characters
# "." and ".." are no socket name: parse_url rightly refuses a unix path ending in one.
SEGMENT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="/\x00"), min_size=1, max_size=8
).filter(lambda segment: segment not in (".", ".."))


@st.composite
def wire_options(draw: st.DrawFn, scheme: str) -> dict[str, object]:
    """A valid combination of protocol, transport and zlib for `scheme`."""
    options: dict[str, object] = {}
    if scheme in ("http", "https"):
        options["protocol"] = draw(st.sampled_from(["binary", "compact", "json", "JSON"]))
        return options
    transport = draw(st.sampled_from(["buffered", "framed", "zlib", "header"]))
    options["transport"] = transport
    if transport == "header":
        options["protocol"] = draw(st.sampled_from(["binary", "compact"]))
    else:
        protocol = draw(st.sampled_from(["binary", "compact", "json", "header"]))
        options["protocol"] = protocol
        if protocol == "header" and draw(st.booleans()):
            options["header_protocol"] = draw(st.sampled_from(["binary", "compact"]))
    if transport in ("buffered", "framed") and draw(st.booleans()):
        options["zlib"] = draw(st.sampled_from([True, "true", "yes", "1"]))
    return options


@st.composite
def valid_endpoints(draw: st.DrawFn) -> Endpoint:
    """An endpoint built from a URL and keyword options that are valid together."""
    scheme = draw(st.sampled_from(["tcp", "tcps", "http", "https", "unix", "unixs"]))
    if scheme.startswith("unix"):
        segments = draw(st.lists(SEGMENT, min_size=1, max_size=3))
        relative = draw(st.sampled_from(["", "./", "../"]))
        path = relative + "/".join(segments) if relative else "/" + "/".join(segments)
        slashes = "" if relative else draw(st.sampled_from(["", "//"]))
        url = f"{scheme}:{slashes}{quote(path, safe='/')}"
    else:
        host = draw(HOST_NAMES)
        port = draw(st.one_of(st.none(), st.integers(1, 65535)))
        url = f"{scheme}://"
        if scheme.startswith("http"):
            userinfo = draw(st.one_of(st.none(), st.tuples(SAFE_TEXT, st.none() | SAFE_TEXT)))
            if userinfo is not None:
                user, password = userinfo
                url += quote(user, safe="")
                url += "" if password is None else ":" + quote(password, safe="")
                url += "@"
        url += host + ("" if port is None else f":{port}")
        if scheme.startswith("http"):
            url += "/" + "/".join(quote(s, safe="") for s in draw(st.lists(SEGMENT, max_size=3)))
            extra = draw(
                st.lists(
                    st.tuples(st.sampled_from(["tenant", "x", "region"]), SAFE_TEXT), max_size=2
                )
            )
            if extra:
                url += "?" + urlencode(extra)
    options = draw(wire_options(scheme))
    options.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional=TIMING,
            )
        )
    )
    if draw(st.booleans()):
        size = draw(SIZES)
        options["max_message_size"] = size
        options["max_frame_size"] = draw(st.integers(1, size))
    if scheme in ("tcps", "https", "unixs"):
        options.update(
            draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "server_hostname": SAFE_TEXT,
                        "certfile": SAFE_TEXT,
                        "validate": st.sampled_from([True, "true", "on"]),
                        "ca_certs": SAFE_TEXT,
                    },
                )
            )
        )
        if "certfile" in options and draw(st.booleans()):
            options["keyfile"] = draw(SAFE_TEXT)
        if "ca_certs" not in options and draw(st.booleans()):
            options["validate"] = draw(st.sampled_from([False, "false", "no", "0"]))
    # half the options go in the query string, the rest stay keyword arguments
    # (floats stay keywords: the URL spells seconds as plain decimals, never '1e-05')
    in_query = {
        k: v for k, v in options.items() if not isinstance(v, float) and draw(st.booleans())
    }
    for key in in_query:
        del options[key]
    if in_query:
        text = urlencode(
            [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in in_query.items()]
        )
        url += ("&" if "?" in url else "?") + text
    return parse_url(url, **options)


@SETTINGS
@given(valid_endpoints())
def test_valid_endpoints_round_trip_through_their_url(endpoint):
    check_usable(endpoint)
    assert parse_url(endpoint.url).url == endpoint.url


@SETTINGS
@given(st.sampled_from(["timeout", "connect_timeout"]), DURATIONS)
@example("timeout", 1e-05)
@example("connect_timeout", 5e-324)
def test_every_valid_duration_round_trips(name, seconds):
    check_usable(parse_url("tcp://h", **{name: seconds}))


@SETTINGS
@given(
    st.sampled_from(["unix", "unixs"]),
    st.sampled_from(["", "//", "."]),
    st.lists(SEGMENT, min_size=1, max_size=3).filter(lambda parts: parts[-1] not in (".", "..")),
)
@example("unix", "", ["a"])
@example("unix", "//", ["a"])
def test_every_unix_socket_path_round_trips(scheme, prefix, segments):
    path = ("." if prefix == "." else "") + "/" + "/".join(segments)
    endpoint = parse_url(f"{scheme}:{'' if prefix == '.' else prefix}{quote(path, safe='/')}")
    assert endpoint.path == path
    check_usable(endpoint)


# --- (c) any keyword value ----------------------------------------------------------------

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**31, 2**63, 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(),
    st.decimals(allow_nan=True),
    st.fractions(),
    st.text(max_size=8),
    st.sampled_from(["9" * 5000, "\ud800", "a\x00b", " compact ", "JSON", "250ms", "1e-05"]),
    st.binary(max_size=4),
    st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=2),
    st.tuples(st.text(max_size=3), st.text(max_size=3)).map(lambda pair: [pair]),
    st.dictionaries(st.text(max_size=3), st.one_of(st.text(max_size=3), st.integers()), max_size=2),
    st.builds(object),
    st.sets(st.integers(), max_size=2),
)


HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@SETTINGS
@example("tcps://h:1", {"timeout": 10**400})
@example("tcps://h:1", {"max_frame_size": "9" * 5000})
@example("tcps://h:1", {"server_hostname": "\ud800"})
@example("https://h/rpc", {"headers": {"X-A\n": "1"}})
@given(
    st.sampled_from(["tcps://h:1", "https://h/rpc", "tcp://h?transport=header", "unixs:/s.sock"]),
    st.dictionaries(
        st.one_of(st.sampled_from(OPTION_NAMES), st.sampled_from(["protocl", "bogus"])),
        ANY_VALUE,
        max_size=4,
    ),
)
def test_arbitrary_keyword_values_only_ever_raise_config_error(url, options):
    endpoint = parse_or_none(url, **options)
    if endpoint is not None:
        repr(endpoint)
        hash(endpoint)
        assert parse_url(endpoint.url, **keyword_only(endpoint)) == endpoint
        for name, value in endpoint.headers:
            assert HEADER_NAME.fullmatch(name), name
            assert not any(c in value for c in "\r\n\x00"), value


def keyword_only(endpoint: Endpoint) -> dict[str, object]:
    """The keyword-only options that `Endpoint.url` leaves out."""
    options: dict[str, object] = {}
    if endpoint.headers:
        options["headers"] = endpoint.headers
    if endpoint.bearer_token is not None:
        options["bearer_token"] = endpoint.bearer_token
    return options


@SETTINGS
@given(st.sampled_from(OPTION_NAMES), ANY_VALUE)
def test_any_single_keyword_value_only_ever_raises_config_error(name, value):
    for url in ("tcps://h:1", "https://h/rpc", "tcp://h?transport=header"):
        parse_or_none(url, **{name: value})


# --- (d) endpoints built directly ---------------------------------------------------------

BARE_HOSTS = st.one_of(
    st.lists(LABELS, min_size=1, max_size=3).map(".".join),
    st.ip_addresses().map(str),  # an IPv6 address without brackets, as Endpoint holds it
    st.sampled_from(["localhost", "API.Example.COM"]),
)


@st.composite
def endpoint_fields(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments that make a valid `Endpoint(...)`, in any accepted spelling."""
    scheme = draw(st.sampled_from(["tcp", "tcps", "http", "https", "unix", "unixs", "TCP"]))
    fields: dict[str, Any] = {"scheme": scheme}
    if scheme.startswith("unix"):
        segments = draw(st.lists(SEGMENT, min_size=1, max_size=3))
        fields["path"] = draw(st.sampled_from(["/", "./", "../"])) + "/".join(segments)
    else:
        fields["host"] = draw(BARE_HOSTS)
        fields["port"] = draw(st.integers(0, 65535))  # 0: the scheme's default
    if scheme.startswith("http"):
        segments = draw(st.lists(SEGMENT, max_size=3))
        fields["path"] = "/" + "/".join(quote(segment, safe="") for segment in segments)
        if draw(st.booleans()):
            fields["username"] = draw(SAFE_TEXT)
            fields["password"] = draw(st.none() | SAFE_TEXT)
        if draw(st.booleans()):
            fields["bearer_token"] = draw(SAFE_TEXT)
    fields.update(draw(wire_options(scheme.lower())))
    takes_headers = "header" in (fields.get("transport"), fields.get("protocol"))
    if (takes_headers or scheme.startswith("http")) and draw(st.booleans()):
        fields["headers"] = draw(
            st.dictionaries(st.from_regex(HEADER_NAME, fullmatch=True), SAFE_TEXT, max_size=2)
        )
    fields.update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={**TIMING, "pipeline": st.integers(1, 1024)},
            )
        )
    )
    if scheme.startswith("http"):
        fields.pop("pipeline", None)  # HTTP/1.1 carries one call at a time
    if scheme in ("tcps", "https", "unixs"):
        fields.update(
            draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "server_hostname": SAFE_TEXT,
                        "certfile": SAFE_TEXT,
                        "ca_certs": SAFE_TEXT,
                    },
                )
            )
        )
        if "certfile" in fields and draw(st.booleans()):
            fields["keyfile"] = draw(SAFE_TEXT)
        if "ca_certs" not in fields:
            fields["validate"] = draw(st.sampled_from([True, False, "true", "no", "0"]))
    return fields


@DIRECT
@given(endpoint_fields())
def test_a_valid_endpoint_built_directly_round_trips_through_its_url(fields):
    endpoint = Endpoint(**fields)
    check_usable_with_keywords(endpoint)
    # Its fields are in their one spelling: building it from them again changes nothing.
    assert dataclasses.replace(endpoint) == endpoint
    assert Endpoint(
        **{f.name: getattr(endpoint, f.name) for f in dataclasses.fields(endpoint)}
    ) == (endpoint)


def check_usable_with_keywords(endpoint: Endpoint) -> None:
    """`check_usable`, for an endpoint that may hold keyword-only options."""
    repr(endpoint)
    hash(endpoint)
    again = parse_url(endpoint.url, **keyword_only(endpoint))
    assert again == endpoint
    assert hash(again) == hash(endpoint)


#: Values that are wrong for most fields, and right for some.
BAD_VALUES = st.one_of(
    ANY_VALUE,
    st.sampled_from([-5, 0, 65536, 10**5000, -(10**5000), "nonsense", "framd", "", " ", "/x"]),
)


def names_the_value(message: str, name: str, value: object) -> bool:
    """Whether an error message names the bad value (or, for credentials, only the field)."""
    from thrift_bridge._exceptions import shown

    if name in ("username", "password"):
        return "credentials" in message  # never echoed
    if name == "bearer_token":
        return name in message  # never echoed
    text = value.strip().lower() if isinstance(value, str) else None
    return shown(value) in message or (bool(text) and repr(text) in message) or name in message


@DIRECT
@example({"scheme": "tcp", "host": "h"}, "port", -5)
@example({"scheme": "tcp", "host": "h"}, "protocol", "nonsense")
@example({"scheme": "tcp", "host": "h"}, "transport", "framd")
@example({"scheme": "tcp", "host": "h"}, "timeout", 10**5000)
@example({"scheme": "http", "host": "h", "path": "/"}, "password", "")  # was dropped silently
@given(
    endpoint_fields(),
    st.sampled_from([field.name for field in dataclasses.fields(Endpoint)]),
    BAD_VALUES,
)
def test_any_field_value_builds_an_endpoint_or_raises_config_error_naming_it(fields, name, value):
    fields = {**fields, name: value}
    try:
        endpoint = Endpoint(**fields)
    except ConfigError as exc:
        message = str(exc)
        assert names_the_value(message, name, value), message
        assert re.search(r"expected|only|appl|not supported|without|exceeds", message), message
    else:
        check_usable_with_keywords(endpoint)
