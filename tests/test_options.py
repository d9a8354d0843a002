"""Endpoint options (`_options`): their values, spellings and where each applies, given in a
URL's query or as keywords; table-driven."""

from __future__ import annotations

import pytest

from thrift_bridge import parse_url

from .refusals import config_error

TLS_ONLY = "only to https, tcps, unixs"


# --- options: values, spellings and where they apply -------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"protocol": "compact"}, {"protocol": "compact"}),
        ({"protocol": "BINARY"}, {"protocol": "binary"}),
        ({"protocol": "COMPACT"}, {"protocol": "compact"}),
        ({"protocol": "JSON"}, {"protocol": "json"}),
        ({"transport": "FRAMED"}, {"transport": "framed"}),
        ({"transport": "zlib"}, {"transport": "zlib", "zlib": False}),
        ({"transport": "header"}, {"transport": "header", "protocol": "binary"}),
        ({"transport": "header", "protocol": "compact"}, {"transport": "header"}),
        ({"zlib": "true"}, {"transport": "zlib", "zlib": False}),
        ({"zlib": True, "transport": "framed"}, {"transport": "framed", "zlib": True}),
        ({"zlib": "false"}, {"transport": "buffered", "zlib": False}),
        ({"protocol": "header"}, {"transport": "header", "protocol": "binary"}),
        (
            {"protocol": "header", "header_protocol": "compact"},
            {"transport": "header", "protocol": "compact"},
        ),
        (
            {"protocol": "header", "transport": "framed", "header_protocol": "compact"},
            {"protocol": "header", "transport": "framed", "header_protocol": "compact"},
        ),
        ({"protocol": "header", "zlib": "yes"}, {"protocol": "header", "transport": "zlib"}),
        ({"max_message_size": "1000", "max_frame_size": 1000}, {"max_message_size": 1000}),
        ({"max_message_size": "1_000_000"}, {"max_message_size": 1_000_000}),
        ({"max_message_size": 2**31 - 1}, {"max_message_size": 2**31 - 1}),
        ({"timeout": "1.5", "connect_timeout": "2s"}, {"timeout": 1.5, "connect_timeout": 2.0}),
    ],
)
def test_option_values_and_normalisation(options, expected):
    for endpoint in (parse_url("tcp://h", **options), parse_url("tcp://h?" + query(options))):
        for name, value in expected.items():
            assert getattr(endpoint, name) == value, name


def query(options: dict[str, object]) -> str:
    """Options as a query string (booleans spelled like the URL spells them)."""
    return "&".join(
        f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in options.items()
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1.5", 1.5), ("2s", 2.0), ("250ms", 0.25), (3, 3.0), (0.5, 0.5), (" 3 ", 3.0), (".5", 0.5)],
)
def test_durations_accepted(value, seconds):
    assert parse_url("tcp://h", timeout=value).timeout == seconds
    assert parse_url(f"tcp://h?connect_timeout={str(value).strip()}").connect_timeout == seconds


@pytest.mark.parametrize(("value", "name"), [(" Json ", "json"), ("\tCOMPACT\n", "compact")])
def test_keyword_values_are_stripped_and_case_insensitive(value, name):
    assert parse_url("tcp://h", protocol=value).protocol == name


@pytest.mark.parametrize(
    "value",
    [
        *(0, -1, "0", "-1", "inf", "nan", "", "abc", True, False, "1h", 10**9, None),
        pytest.param(10**400, id="10**400"),
    ],
)
def test_durations_rejected(value):
    message = str(config_error("tcp://h", connect_timeout=value))
    assert f"invalid connect_timeout {value!r}" in message
    assert "expected seconds > 0" in message
    assert "'250ms'" in message


@pytest.mark.parametrize(
    "value",
    [
        *(0, -1, 2**31, 1.0, "abc", "", True, "1e3", None),
        pytest.param("9" * 5000, id="5000-digits"),
        pytest.param(10**400, id="10**400"),
    ],
)
def test_sizes_rejected(value):
    message = str(config_error("tcp://h", max_message_size=value))
    assert "invalid max_message_size" in message
    assert "expected a whole number of bytes from 1 to 2147483647" in message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("off", False),
        (True, True),
        (False, False),
    ],
)
def test_booleans(text, value):
    assert parse_url("tcps://h", validate=text).validate is value
    if not isinstance(text, bool):
        assert parse_url(f"tcps://h?validate={text}").validate is value


@pytest.mark.parametrize("value", ["maybe", "", 2, 1, None, "y"])
def test_booleans_rejected(value):
    message = str(config_error("tcps://h", validate=value))
    assert f"invalid validate {value!r} (expected true or false)" in message


@pytest.mark.parametrize(
    ("options", "parts"),
    [
        ({"protocol": "xml"}, ["unknown protocol 'xml'", "binary, compact, json, header"]),
        ({"transport": "framd"}, ["unknown transport 'framd'", "buffered, framed, zlib, header"]),
        (
            {"protocol": "header", "header_protocol": "json"},
            ["unknown header_protocol 'json'", "binary, compact"],
        ),
        ({"protocl": "binary"}, ["unknown option 'protocl'", "did you mean 'protocol'?"]),
        ({"timout": "1"}, ["unknown option 'timout'", "did you mean 'timeout'?"]),
        ({"zzz": "1"}, ["unknown option 'zzz'", "expected one of: bearer_token, ca_certs"]),
        ({"ca_certs": "/x"}, [f"option 'ca_certs' does not apply to tcp ({TLS_ONLY})"]),
        ({"validate": "false"}, [f"option 'validate' does not apply to tcp ({TLS_ONLY})"]),
        ({"certfile": "/c"}, [f"option 'certfile' does not apply to tcp ({TLS_ONLY})"]),
        ({"keyfile": "/k"}, [f"option 'keyfile' does not apply to tcp ({TLS_ONLY})"]),
        ({"server_hostname": "x"}, [f"'server_hostname' does not apply to tcp ({TLS_ONLY})"]),
        ({"transport": "header", "zlib": "true"}, ["zlib=true stacks only on transport=framed"]),
        ({"transport": "zlib", "zlib": "true"}, ["zlib=true stacks only on transport=framed"]),
        (
            {"transport": "header", "protocol": "json"},
            ["transport=header carries protocol=binary or compact, not 'json'"],
        ),
        (
            {"transport": "header", "protocol": "header"},
            ["transport=header carries protocol=binary or compact, not 'header'"],
        ),
        ({"header_protocol": "compact"}, ["header_protocol applies only with protocol=header"]),
        ({"max_frame_size": 200_000_000}, ["max_frame_size exceeds max_message_size"]),
        ({"timeout": ""}, ["invalid timeout ''"]),
    ],
)
def test_bad_options_on_tcp(options, parts):
    for error in (config_error("tcp://h", **options), config_error("tcp://h?" + query(options))):
        for part in parts:
            assert part in str(error)


@pytest.mark.parametrize(
    ("url", "options", "parts"),
    [
        ("tcps://h", {"keyfile": "/k"}, ["keyfile given without certfile"]),
        ("tcps://h", {"ca_certs": ""}, ["invalid ca_certs ''", "non-empty string"]),
        ("https://h", {"keyfile": "/k"}, ["keyfile given without certfile"]),
        ("unixs:/s.sock", {"keyfile": "/k"}, ["keyfile given without certfile"]),
        ("unix:/s.sock", {"certfile": "/c"}, [f"'certfile' does not apply to unix ({TLS_ONLY})"]),
        ("http://h", {"ca_certs": "/c"}, [f"'ca_certs' does not apply to http ({TLS_ONLY})"]),
    ],
)
def test_tls_options(url, options, parts):
    for error in (config_error(url, **options), config_error(url + "?" + query(options))):
        for part in parts:
            assert part in str(error)


def test_tls_options_accepted_on_tls_schemes():
    for url in ("tcps://h", "https://h", "unixs:/s.sock"):
        endpoint = parse_url(url, certfile="/c", keyfile="/k", server_hostname="api", ca_certs="x")
        assert (endpoint.certfile, endpoint.keyfile, endpoint.server_hostname) == (
            "/c",
            "/k",
            "api",
        )


@pytest.mark.parametrize("transport", ["framed", "zlib", "header", "FRAMED"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_any_transport_but_buffered_over_http_is_rejected(scheme, transport):
    message = str(config_error(f"{scheme}://h/rpc?transport={transport}"))
    assert f"transport {transport.lower()!r} is not supported over {scheme}" in message
    assert "expected buffered" in message
    assert parse_url(f"{scheme}://h/rpc?transport=buffered").transport == "buffered"


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://h?zlib=true", ["option 'zlib' does not apply to http"]),
        ("http://h?protocol=header", ["protocol=header is not supported over http"]),
        ("https://h?header_protocol=binary", ["'header_protocol' does not apply to https"]),
    ],
)
def test_header_and_zlib_not_over_http(url, parts):
    message = str(config_error(url))
    for part in parts:
        assert part in message


# --- keyword-only options: headers and bearer_token ---------------------------------------


def test_headers_and_bearer_token_on_http():
    endpoint = parse_url(
        "https://h/rpc", headers={"X-B": "2", "X-A": "1"}, bearer_token="t", timeout=2
    )
    assert endpoint.headers == (("X-A", "1"), ("X-B", "2"))
    assert endpoint.bearer_token == "t"
    assert parse_url("http://h", headers=[("X-A", "1")]).headers == (("X-A", "1"),)


def test_headers_also_apply_to_theader_endpoints():
    assert parse_url("tcp://h?transport=header", headers={"k": "v"}).headers == (("k", "v"),)


@pytest.mark.parametrize(
    ("url", "options", "part"),
    [
        ("https://h/rpc?headers=x", {}, "option 'headers' goes in a keyword argument"),
        ("https://h/rpc?bearer_token=t", {}, "option 'bearer_token' goes in a keyword argument"),
        ("tcp://h?headers=x", {}, "option 'headers' goes in a keyword argument"),
        ("https://h/rpc?Bearer_Token=t", {}, "option 'bearer_token' goes in a keyword argument"),
        ("tcp://h", {"bearer_token": "t"}, "option 'bearer_token' does not apply to tcp"),
        ("tcps://h", {"bearer_token": "t"}, "only to http, https"),
        ("unix:/s.sock", {"bearer_token": "t"}, "does not apply to unix"),
        ("tcp://h", {"headers": {"X-A": "1"}}, "headers apply to http(s)"),
        ("http://h", {"headers": {"bad name": "x"}}, "invalid HTTP header name 'bad name'"),
        ("http://h", {"headers": {"X-A\n": "x"}}, "invalid HTTP header name"),
        ("http://h", {"headers": {"X-A\r\nX-B": "x"}}, "invalid HTTP header name"),
        ("http://h", {"headers": {1: "x"}}, "invalid HTTP header name 1"),
        ("http://h", {"headers": {"X": "a\r\nb"}}, "without line breaks"),
        ("http://h", {"headers": {"X": 1}}, "invalid value for HTTP header 'X'"),
        ("http://h", {"headers": "X-A: 1"}, "expected a mapping of header names to values"),
        ("http://h", {"headers": [("X-A",)]}, "expected a (name, value) pair"),
        ("http://h", {"bearer_token": ""}, "invalid bearer_token ''"),
    ],
)
def test_headers_and_bearer_token_are_keyword_only_and_http_only(url, options, part):
    assert part in str(config_error(url, **options))


def test_validate_false_with_ca_certs_is_accepted():
    """A base config's CA file plus a development override turning validation off."""
    endpoint = parse_url("tcps://h?ca_certs=/c", validate="false")
    assert (endpoint.validate, endpoint.ca_certs) == (False, "/c")
