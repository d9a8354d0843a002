"""Endpoint URLs (`_urls`): schemes, forms and defaults, refused URLs, query and keyword
options, passwords never echoed, host lists and `parse_urls`; table-driven."""

from __future__ import annotations

import pytest

from thrift_bridge import ConfigError, parse_url, parse_urls

from .refusals import config_error

UNIX_FORMS = ("unix:///abs/path", "unix:/abs/path", "unix:./relative/path")
PASSWORD = "s3cr3t-pw"


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


# --- credentials are never shown ------------------------------------------------------------


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
