"""`parse_url` / `parse_urls` / `Endpoint`: every documented behaviour, table-driven."""

from __future__ import annotations

import dataclasses

import pytest

from thrift_bridge import ConfigError, Endpoint, ThriftBridgeError, parse_url, parse_urls

UNIX_FORMS = ("unix:///abs/path", "unix:/abs/path", "unix:./relative/path")
TLS_ONLY = "only to https, tcps, unixs"
PASSWORD = "s3cr3t-pw"


def config_error(url: object = None, **options: object) -> ConfigError:
    """The ConfigError that `parse_url(url, **options)` raises, checked to be all it claims."""
    with pytest.raises(ConfigError) as info:
        parse_url(url, **options)  # type: ignore[arg-type]
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, ThriftBridgeError)
    return error


# --- schemes, defaults and URL forms ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "tcp://h",
            {"scheme": "tcp", "host": "h", "port": 9090, "tls": False, "is_http": False},
            id="tcp-default-port",
        ),
        pytest.param("tcp://h:1234", {"port": 1234}, id="tcp-explicit-port"),
        pytest.param("tcps://h", {"scheme": "tcps", "port": 9090, "tls": True}, id="tcps"),
        pytest.param(
            "http://h", {"scheme": "http", "port": 80, "path": "/", "is_http": True}, id="http"
        ),
        pytest.param(
            "https://h/rpc",
            {"scheme": "https", "port": 443, "path": "/rpc", "tls": True, "is_http": True},
            id="https",
        ),
        pytest.param("http://h:8080/a/b", {"port": 8080, "path": "/a/b"}, id="http-port-path"),
        pytest.param(
            "unix:///abs.sock",
            {"scheme": "unix", "path": "/abs.sock", "is_unix": True, "tls": False},
            id="unix-three-slashes",
        ),
        pytest.param("unix:/abs.sock", {"path": "/abs.sock", "is_unix": True}, id="unix-one-slash"),
        pytest.param("unix:///dir/abs.sock", {"path": "/dir/abs.sock"}, id="unix-abs-nested"),
        pytest.param("unix:./rel.sock", {"path": "./rel.sock"}, id="unix-relative"),
        pytest.param("unix:../up/rel.sock", {"path": "../up/rel.sock"}, id="unix-parent"),
        pytest.param(
            "unixs:///abs.sock",
            {"scheme": "unixs", "path": "/abs.sock", "tls": True, "is_unix": True},
            id="unixs",
        ),
        pytest.param("unixs:./rel.sock", {"scheme": "unixs", "path": "./rel.sock"}, id="unixs-rel"),
        pytest.param("tcp://:7", {"host": "localhost", "port": 7}, id="default-host"),
        pytest.param("tcp://", {"host": "localhost", "port": 9090}, id="all-defaults"),
        pytest.param("TCP://Host.Example:1", {"scheme": "tcp", "host": "host.example"}, id="case"),
        pytest.param("tcp://10.0.0.1:1", {"host": "10.0.0.1"}, id="ipv4"),
        pytest.param("tcp://[::1]:9090", {"host": "::1", "port": 9090}, id="ipv6-loopback"),
        pytest.param("tcp://[2001:DB8::1]", {"host": "2001:db8::1", "port": 9090}, id="ipv6"),
        pytest.param("https://[::1]/rpc", {"host": "::1", "port": 443}, id="ipv6-https"),
        pytest.param(
            "http://h/a/b?tenant=7&x=1", {"path": "/a/b?tenant=7&x=1"}, id="http-query-kept"
        ),
        pytest.param(
            "http://h/a?tenant=7&protocol=compact",
            {"path": "/a?tenant=7", "protocol": "compact"},
            id="http-query-and-option",
        ),
        pytest.param("http://h?x=1", {"path": "/?x=1"}, id="http-query-no-path"),
        pytest.param(
            "https://alice:s3cret@h/rpc", {"username": "alice", "password": "s3cret"}, id="userinfo"
        ),
        pytest.param(
            "https://alice@h/rpc", {"username": "alice", "password": None}, id="user-no-password"
        ),
        pytest.param(
            "https://al%40ice:p%3Ass@h", {"username": "al@ice", "password": "p:ss"}, id="encoded"
        ),
    ],
)
def test_schemes_defaults_and_forms(url, expected):
    endpoint = parse_url(url)
    for name, value in expected.items():
        assert getattr(endpoint, name) == value, name


@pytest.mark.parametrize("given", [(), (None,), ("tcp://localhost:9090",), ("tcp://localhost",)])
def test_no_url_means_tcp_localhost_9090(given):
    endpoint = parse_url(*given)
    assert (endpoint.scheme, endpoint.host, endpoint.port) == ("tcp", "localhost", 9090)
    assert endpoint == parse_url()


def test_defaults_of_every_option():
    endpoint = parse_url("tcp://h")
    assert (endpoint.protocol, endpoint.transport, endpoint.zlib) == ("binary", "buffered", False)
    assert (endpoint.timeout, endpoint.connect_timeout) == (30.0, 5.0)
    assert (endpoint.max_message_size, endpoint.max_frame_size) == (104_857_600, 16_384_000)
    assert (endpoint.validate, endpoint.ca_certs, endpoint.headers) == (True, None, ())


@pytest.mark.parametrize(
    "url",
    [
        "unix://x.sock",
        "unix://x/y.sock",
        "unix:////x.sock",
        "unix://///x.sock",
        "unix:rel.sock",
        "unix:x",
        "unixs://x.sock",
        "unixs:rel.sock",
    ],
)
def test_unix_slash_counts_other_than_the_documented_forms_are_rejected(url):
    message = str(config_error(url))
    assert "invalid unix socket location" in message
    for form in UNIX_FORMS:
        assert form in message


@pytest.mark.parametrize("url", ["unix:/a", "unix:///a", "unix:./a"])
def test_short_unix_socket_paths_are_accepted(url):
    assert parse_url(url).path == url.replace("unix:", "").replace("///", "/")


# --- rejected URLs: each message names the bad part and what is accepted -------------------


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("unix:///dir/", ["invalid unix socket path '/dir/'"]),
        ("unix:/", ["invalid unix socket path"]),
        ("unix:./", ["invalid unix socket path"]),
        ("unix:/tmp/.", ["invalid unix socket path '/tmp/.'"]),
        ("unix:./..", ["invalid unix socket path './..'"]),
        ("ftp://h", ["unknown scheme 'ftp'", "tcp, tcps, http, https, unix, unixs"]),
        ("h:9090", ["unknown scheme 'h'"]),
        ("just-text", ["malformed endpoint URL", "tcp://localhost:9090"]),
        ("", ["malformed endpoint URL"]),
        ("just text", ["whitespace or control characters", "percent-encode"]),
        ("http://h/a b", ["whitespace or control characters"]),
        ("tcp://h\x00", ["whitespace or control characters"]),
        ("tcp:h:9090", ["expected 'tcp://host:port'"]),
        ("tcp://h:0", ["invalid port '0'", "from 1 to 65535"]),
        ("tcp://h:65536", ["invalid port '65536'", "from 1 to 65535"]),
        ("tcp://h:-1", ["invalid port '-1'"]),
        ("tcp://h:x", ["invalid port 'x'"]),
        ("tcp://h:²", ["invalid port '²'"]),
        pytest.param("tcp://h:" + "9" * 5000, ["invalid port", "65535"], id="port-5000-digits"),
        ("tcp://[::1:9090", ["malformed host or port"]),
        ("tcp://[::1]x", ["malformed host or port"]),
        ("tcp://[nope]:1", ["invalid IPv6 address '[nope]'"]),
        ("tcp://[::g]", ["invalid IPv6 address '[::g]'"]),
        ("tcp://[1.2.3.4]", ["invalid IPv6 address"]),
        ("tcp://[]", ["invalid IPv6 address '[]'"]),
        ("tcp://::1:9090", ["invalid port"]),
        ("tcp://bad_host!:1", ["invalid host 'bad_host!'", "[IPv6] literal"]),
        ("tcp://-h:1", ["invalid host '-h'"]),
        ("tcp://h%0A:1", ["invalid host"]),
        ("tcp://h/path", ["a tcp URL has no path, got '/path'"]),
        ("tcps://h/path", ["a tcps URL has no path"]),
        ("tcp://u:p@h", ["user credentials are only accepted for http and https, not tcp"]),
        ("tcps://u@h", ["user credentials are only accepted for http and https, not tcps"]),
        ("tcp://h?timeout", ["malformed query string 'timeout'"]),
        ("tcp://h?a=b=c&&", ["malformed query string"]),
    ],
)
def test_bad_urls_name_the_bad_part_and_what_is_accepted(url, parts):
    message = str(config_error(url))
    for part in parts:
        assert part in message


def test_non_string_url_is_a_config_error():
    assert "expected a string like 'tcp://localhost:9090'" in str(config_error(9090))


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


@pytest.mark.parametrize("transport", ["framed", "zlib", "FRAMED"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_any_transport_but_buffered_or_header_over_http_is_rejected(scheme, transport):
    message = str(config_error(f"{scheme}://h/rpc?transport={transport}"))
    assert f"transport {transport.lower()!r} is not supported over {scheme}" in message
    assert "expected buffered" in message
    assert parse_url(f"{scheme}://h/rpc?transport=buffered").transport == "buffered"


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://h?zlib=true", ["option 'zlib' does not apply to http"]),
        ("https://h?transport=header&protocol=json", ["transport=header carries protocol="]),
        ("https://h?header_protocol=compact", ["header_protocol applies only with protocol="]),
    ],
)
def test_zlib_not_over_http_and_header_as_on_sockets(url, parts):
    message = str(config_error(url))
    for part in parts:
        assert part in message


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize(
    ("query", "protocol"),
    [
        ("protocol=header", "binary"),
        ("protocol=header&header_protocol=compact", "compact"),
        ("transport=header&protocol=compact", "compact"),
    ],
)
def test_theader_over_http_has_one_spelling_and_round_trips(scheme, query, protocol):
    endpoint = parse_url(f"{scheme}://h/rpc?{query}")
    assert (endpoint.transport, endpoint.protocol) == ("header", protocol)
    assert parse_url(endpoint.url) == endpoint


# --- query and keyword arguments ------------------------------------------------------------


def test_options_from_the_query_equal_keyword_options():
    assert parse_url("tcp://h?protocol=compact&timeout=2") == parse_url(
        "tcp://h", protocol="compact", timeout=2
    )
    assert parse_url("tcp://h?PROTOCOL=Compact") == parse_url("tcp://h", protocol="compact")


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("tcp://h?timeout=1", {"timeout": 2}),
        ("tcp://h?timeout=1", {"timeout": 1}),
        ("tcp://h?protocol=compact", {"protocol": "compact"}),
        ("http://h/?protocol=compact", {"protocol": "binary"}),
    ],
)
def test_the_same_option_both_ways_is_an_error(url, options):
    (name,) = options
    message = str(config_error(url, **options))
    assert f"option {name!r} given both in the URL and as a keyword argument" in message


@pytest.mark.parametrize(
    "url",
    [
        "tcp://h?timeout=1&timeout=2",
        "tcp://h?timeout=1&timeout=1",
        "tcp://h?timeout=1&TIMEOUT=1",
        "http://h/?protocol=binary&protocol=compact",
    ],
)
def test_an_option_given_twice_in_the_query_is_an_error(url):
    name = "protocol" if "protocol" in url else "timeout"
    assert f"option {name!r} given twice" in str(config_error(url))


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("http://h/rpc?tenant=7", "/rpc?tenant=7"),
        ("https://h/rpc?a=1&b=2&protocol=compact", "/rpc?a=1&b=2"),
        ("http://h/rpc?Tenant=x%2Fy", "/rpc?Tenant=x%2Fy"),
        ("http://h/rpc?version=2", "/rpc?version=2"),
        ("http://h/rpc?x=", "/rpc?x="),
        ("http://h/rpc?wsdl", "/rpc?wsdl"),
    ],
)
def test_unknown_query_parameters_on_http_stay_in_the_path(url, path):
    assert parse_url(url).path == path


@pytest.mark.parametrize(
    ("url", "name", "hint"),
    [
        ("http://h/?protocl=binary", "protocl", "protocol"),
        ("https://h/rpc?tenant=1&transprot=framed", "transprot", "transport"),
        ("http://h/?timeouts=1", "timeouts", "timeout"),
        ("tcp://h?protocl=binary", "protocl", "protocol"),
    ],
)
def test_near_typos_of_options_are_rejected_with_a_hint(url, name, hint):
    message = str(config_error(url))
    assert f"unknown option {name!r}" in message
    assert f"did you mean {hint!r}?" in message


@pytest.mark.parametrize("url", ["tcp://h?tenant=7", "unix:/s.sock?tenant=7"])
def test_unknown_query_parameters_off_http_are_rejected(url):
    assert "unknown option 'tenant'" in str(config_error(url))


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


# --- credentials are never shown ------------------------------------------------------------


def test_credentials_never_shown_by_the_endpoint():
    endpoint = parse_url(f"https://alice:{PASSWORD}@h/rpc", bearer_token="tok-123")
    for text in (repr(endpoint), str(endpoint), endpoint.redacted_url):
        assert PASSWORD not in text
        assert "tok-123" not in text
        assert "alice:***@" in text
    assert PASSWORD in endpoint.url  # the round-trip form keeps them


@pytest.mark.parametrize(
    "url",
    [
        f"https://alice:{PASSWORD}@h/rpc?protocol=nope",
        f"https://alice:{PASSWORD}@h/rpc?protocl=binary",
        f"https://alice:{PASSWORD}@h/rpc?transport=framed",
        f"https://alice:{PASSWORD}@h:0/rpc",
        f"https://alice:{PASSWORD}@bad_host!/rpc",
        f"HTTPS://alice:{PASSWORD}@h/rpc?timeout=0",
        f"http://alice:{PASSWORD}@h/a b",
        f"tcp://alice:{PASSWORD}@h",
        f"tcps://alice:{PASSWORD}@h?timeout=0",
    ],
)
def test_passwords_never_appear_in_config_errors(url):
    error = config_error(url)
    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(error)
    assert "***" in str(error)


def test_passwords_never_appear_in_keyword_option_errors():
    error = config_error(f"https://alice:{PASSWORD}@h/rpc", timeout="never")
    assert "invalid timeout 'never'" in str(error)
    assert PASSWORD not in str(error)


@pytest.mark.parametrize("char", ["/", "@", "#", "?"])
def test_unencoded_characters_in_a_password_never_leak(char):
    secret = f"pa{char}ss-{PASSWORD}"
    error = config_error(f"https://alice:{secret}@h/rpc")
    assert PASSWORD not in str(error)


def test_bearer_token_in_the_query_never_leaks():
    error = config_error(f"http://h/rpc?bearer_token={PASSWORD}")
    assert PASSWORD not in str(error)


def test_non_string_url_errors_never_leak_a_password():
    error = config_error(f"https://alice:{PASSWORD}@h".encode())
    assert PASSWORD not in str(error)


def test_parse_urls_errors_never_leak_a_password():
    with pytest.raises(ConfigError) as info:
        parse_urls([f"https://alice:{PASSWORD}@h/rpc", None])  # type: ignore[list-item]
    assert "invalid endpoint None" in str(info.value)
    assert PASSWORD not in str(info.value)
    ready = parse_url(f"https://alice:{PASSWORD}@h/rpc")
    with pytest.raises(ConfigError) as info:
        parse_urls([ready], timeout=1)
    assert PASSWORD not in str(info.value)


# --- the Endpoint value -------------------------------------------------------------------


def test_endpoint_is_frozen():
    endpoint = parse_url("tcp://h:1")
    for name, value in [("port", 2), ("host", "x"), ("timeout", 1.0), ("password", "p")]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(endpoint, name, value)


@pytest.mark.parametrize(
    ("one", "two"),
    [
        (("tcp://h:1?protocol=compact",), ("tcp://H:1", {"protocol": "COMPACT"})),
        (("tcp://h?zlib=true",), ("tcp://h?transport=zlib",)),
        (("tcp://h?protocol=header",), ("tcp://h?transport=header",)),
        (("tcp://h?timeout=250ms",), ("tcp://h", {"timeout": 0.25})),
        (("tcp://[::1]",), ("tcp://[0:0::1]:9090",)),
        (("http://h",), ("http://h:80/",)),
        (("unix:///a.sock",), ("unix:/a.sock",)),
        ((None,), ("tcp://localhost:9090",)),
    ],
)
def test_equal_endpoints_hash_equal_and_share_a_dict_key(one, two):
    first = parse_url(*one[:1], **(one[1] if len(one) > 1 else {}))
    second = parse_url(*two[:1], **(two[1] if len(two) > 1 else {}))
    assert first == second
    assert hash(first) == hash(second)
    assert {first: "pool"}[second] == "pool"
    assert len({first, second}) == 1


def test_different_settings_make_different_endpoints():
    urls = ["tcp://h", "tcp://h:1", "tcps://h", "tcp://h?protocol=compact", "tcp://h?timeout=1"]
    assert len({parse_url(u) for u in urls}) == len(urls)
    assert parse_url("https://h", headers={"A": "1"}) != parse_url("https://h")
    assert parse_url("https://h", bearer_token="a") != parse_url("https://h", bearer_token="b")


@pytest.mark.parametrize(
    "url",
    [
        "tcp://h:1",
        "tcp://h",
        "tcps://h:2?validate=false&server_hostname=api&timeout=1.5",
        "tcps://h:2?ca_certs=system&certfile=%2Fc.pem&keyfile=%2Fk.pem",
        "tcps://h?ca_certs=%2Fa%20b%26c.pem",
        "tcp://h?timeout=0.0001&connect_timeout=86400",
        "tcp://h?timeout=0.00001",
        "tcp://h?timeout=250ms&connect_timeout=2s",
        "tcp://h?max_message_size=1000&max_frame_size=1000",
        "unix:./rel.sock?protocol=json",
        "unix:../up/rel.sock",
        "unix:/abs.sock",
        "unix:///abs/s.sock?transport=framed&zlib=true",
        "unix:///a%20b%3Fc.sock",
        "unixs:///abs/s.sock?max_message_size=1000&max_frame_size=1000&validate=no",
        "tcp://[::1]:9?transport=header&protocol=compact",
        "tcp://[2001:db8::1]",
        "tcp://h:3?protocol=header&header_protocol=compact&transport=zlib",
        "tcp://h:3?protocol=header&header_protocol=compact&transport=framed",
        "tcp://h?zlib=true",
        "http://h",
        "http://h:8080/a/b?tenant=7&protocol=compact",
        "http://h/a?x=1&x=2&y=a%2Bb",
        "https://alice:p%40ss%3Aw%2Fd@h/rpc?connect_timeout=2",
        "https://alice@h/rpc",
        "https://[::1]:8443/rpc?validate=false",
    ],
)
def test_url_round_trips(url):
    endpoint = parse_url(url)
    again = parse_url(endpoint.url)
    assert again == endpoint
    assert again.url == endpoint.url


def test_keyword_only_options_are_left_out_of_the_url():
    endpoint = parse_url("https://h/rpc", headers={"X-A": "1"}, bearer_token="t")
    assert endpoint.url == "https://h:443/rpc"
    assert parse_url(endpoint.url, headers={"X-A": "1"}, bearer_token="t") == endpoint


# --- parse_urls -----------------------------------------------------------------------------


def test_parse_urls_host_list_shares_the_options():
    first, second = parse_urls("tcp://a:1,b:2?transport=framed")
    assert (first.host, first.port, first.transport) == ("a", 1, "framed")
    assert (second.host, second.port, second.transport) == ("b", 2, "framed")
    assert first == parse_url("tcp://a:1?transport=framed")


@pytest.mark.parametrize(
    ("urls", "options", "expected"),
    [
        ("tcp://a:1", {}, [("a", 1)]),
        ("http://a,b:81/rpc?x=1", {}, [("a", 80), ("b", 81)]),
        ("tcp://[::1]:1,[::2]:2", {}, [("::1", 1), ("::2", 2)]),
        (["tcp://a", "tcp://b"], {"timeout": 1}, [("a", 9090), ("b", 9090)]),
        (("tcp://a", "tcps://b:1"), {}, [("a", 9090), ("b", 1)]),
        ("unix:./a,b.sock", {}, [("localhost", 0)]),
    ],
)
def test_parse_urls_forms(urls, options, expected):
    endpoints = parse_urls(urls, **options)
    assert [(e.host, e.port) for e in endpoints] == expected
    for endpoint in endpoints:
        for name, value in options.items():
            assert getattr(endpoint, name) == value


def test_parse_urls_passes_ready_endpoints_through():
    ready = parse_url("tcp://c")
    assert parse_urls(ready) == [ready]
    assert parse_urls([ready, "tcp://d"]) == [ready, parse_url("tcp://d")]


@pytest.mark.parametrize(
    ("urls", "options", "part"),
    [
        ([], {}, "no endpoint given"),
        ((), {}, "no endpoint given"),
        (5, {}, "invalid endpoint 5"),
        ([5], {}, "invalid endpoint 5"),
        ([parse_url("tcp://c")], {"timeout": 1}, "apply to URL strings, not to the ready Endpoint"),
        (parse_url("tcp://c"), {"timeout": 1}, "apply to URL strings"),
        ("tcp://a,b?timeout=0", {}, "invalid timeout '0'"),
    ],
)
def test_parse_urls_errors(urls, options, part):
    with pytest.raises(ConfigError) as info:
        parse_urls(urls, **options)
    assert isinstance(info.value, ValueError)
    assert part in str(info.value)


@pytest.mark.parametrize("urls", ["tcp://a:1,", "tcp://a:1,,b:2", "tcp://,a:1"])
def test_an_empty_entry_in_a_host_list_is_an_error_not_localhost(urls):
    # 'tcp://:7' means localhost by design; a stray comma in a host list is a typo.
    with pytest.raises(ConfigError):
        parse_urls(urls)


def test_endpoint_type_is_exported():
    assert isinstance(parse_url("tcp://h"), Endpoint)


def test_validate_false_with_ca_certs_is_accepted():
    """A base config's CA file plus a development override turning validation off."""
    endpoint = parse_url("tcps://h?ca_certs=/c", validate="false")
    assert (endpoint.validate, endpoint.ca_certs) == (False, "/c")
