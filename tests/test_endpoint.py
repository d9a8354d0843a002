"""The `Endpoint` value (`_endpoint`): frozen, hashable, its URL round-tripping, its
credentials never shown."""

from __future__ import annotations

import dataclasses

import pytest

from thrift_bridge import ConfigError, Endpoint, parse_url

PASSWORD = "s3cr3t-pw"


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


def test_credentials_never_shown_by_the_endpoint():
    endpoint = parse_url(f"https://alice:{PASSWORD}@h/rpc", bearer_token="tok-123")
    for text in (repr(endpoint), str(endpoint), endpoint.redacted_url):
        assert PASSWORD not in text
        assert "tok-123" not in text
        assert "alice:***@" in text
    assert PASSWORD in endpoint.url  # the round-trip form keeps them


def test_endpoint_type_is_exported():
    assert isinstance(parse_url("tcp://h"), Endpoint)


@pytest.mark.parametrize("password", ["", "pw"])
def test_a_password_without_a_username_is_refused_and_not_echoed(password):
    with pytest.raises(ConfigError, match="a password without a username") as caught:
        Endpoint(scheme="https", host="h", password=password)
    assert f"'{password}'" not in str(caught.value)
