"""HTTP/1.1 framing (http1.py): request bytes, and replies however a socket splits them."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thrift_bridge import ProtocolError, TransportError, deadline
from thrift_bridge._http1 import (
    MAX_HEAD_SIZE,
    MAX_HEADERS,
    ReplyParser,
    budget_line,
    read_reply,
    request_head,
)

LIMIT = 1 << 20


def feeder(data: bytes, sizes: list[int] | None = None):
    """A recv function handing out `data` in pieces of the given sizes (then b"" forever)."""
    pieces = list(sizes or [])
    state = {"at": 0}

    def recv(n: int) -> bytes:
        at = state["at"]
        size = min(n, pieces.pop(0) if pieces else n)
        state["at"] = at + size
        return data[at : at + size]

    return recv


def reply(head: bytes, body: bytes = b"") -> bytes:
    return head.replace(b"\n", b"\r\n") + b"\r\n" + body


OK_LENGTH = b"HTTP/1.1 200 OK\nContent-Type: application/x-thrift\nContent-Length: 5\n"


def test_request_head_carries_the_host_fixed_headers_and_leaves_the_length_open():
    head = request_head("/rpc?x=1", "example.com:8080", {"User-Agent": "t", "X-Id": "7"})
    assert head == (
        b"POST /rpc?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept-Encoding: identity\r\n"
        b"User-Agent: t\r\nX-Id: 7\r\nContent-Length: "
    )


def test_content_length_reply_is_read_and_kept_alive():
    got = read_reply(feeder(reply(OK_LENGTH, b"hello")), LIMIT)
    assert (got.status, got.reason, got.body, got.keep_alive) == (200, "OK", b"hello", True)
    assert got.headers["content-type"] == "application/x-thrift"


def test_chunked_reply_with_extensions_and_trailers():
    data = reply(
        b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n",
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
    )
    got = read_reply(feeder(data, [1] * len(data)), LIMIT)  # one byte per recv
    assert got.body == b"abcde"
    assert got.keep_alive


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\nContent-Length: 0\n", True),
        (b"HTTP/1.1 200 OK\nConnection: close\nContent-Length: 0\n", False),
        (b"HTTP/1.0 200 OK\nContent-Length: 0\n", False),
        (b"HTTP/1.0 200 OK\nConnection: Keep-Alive\nContent-Length: 0\n", True),
        (b"HTTP/1.1 204 No Content\n", True),
    ],
)
def test_keep_alive_follows_the_version_and_connection_header(head, keep_alive):
    assert read_reply(feeder(reply(head)), LIMIT).keep_alive is keep_alive


def test_body_delimited_by_close_is_read_to_the_end_and_not_kept_alive():
    got = read_reply(feeder(reply(b"HTTP/1.1 200 OK\n", b"x" * 70000), [1000] * 80), LIMIT)
    assert got.body == b"x" * 70000
    assert not got.keep_alive


def test_interim_100_continue_is_skipped():
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + reply(OK_LENGTH, b"hello")
    assert read_reply(feeder(data), LIMIT).body == b"hello"


def test_repeated_headers_are_joined_and_names_are_case_insensitive():
    data = reply(b"HTTP/1.1 200 OK\nX-A: 1\nx-a: 2\nCONTENT-LENGTH: 0\n")
    assert read_reply(feeder(data), LIMIT).headers["x-a"] == "1, 2"


def test_bytes_after_the_reply_mean_the_connection_is_out_of_step():
    got = read_reply(feeder(reply(OK_LENGTH, b"hello") + b"extra"), LIMIT)
    assert got.body == b"hello"
    assert not got.keep_alive


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"garbage\r\n\r\n", "not an HTTP/1.x reply"),
        (b"HTTP/2 200 OK\r\n\r\n", "not an HTTP/1.x reply"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP/1.x reply"),
        (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "malformed HTTP header line"),
        (b"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", "malformed HTTP header line"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n", "more than 100"),
        (
            b"HTTP/1.1 200 OK\r\nX: " + b"y" * MAX_HEAD_SIZE + b"\r\n\r\n",
            "reply header section exceeds",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", "malformed HTTP Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "malformed HTTP Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n", "exceeds max_message_size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed HTTP chunk"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n", "exceeds max_"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY", "not followed by CRLF"),
        (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * (LIMIT + 1), "exceeds max_message_size"),
    ],
)
def test_malformed_or_oversized_replies_are_protocol_errors(data, message):
    with pytest.raises(ProtocolError, match=message):
        read_reply(feeder(data), LIMIT)


@pytest.mark.parametrize(
    "data",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Le", reply(OK_LENGTH, b"hel")],
    ids=["before any byte", "mid-headers", "mid-body"],
)
def test_a_server_closing_part_way_is_a_transport_error(data):
    with pytest.raises(TransportError, match="the server closed the connection after"):
        read_reply(feeder(data), LIMIT)


SPLITS = st.lists(st.integers(1, 300), max_size=40)


@st.composite
def framed_bodies(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(a whole reply, its body) in one of the three ways HTTP/1.1 delimits a body."""
    body = draw(st.binary(max_size=2000))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-thrift\r\n"
    if framing == "length":
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body, body
    if framing == "close":
        return head + b"Connection: close\r\n\r\n" + body, body
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=6)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)]) if b > a]
    encoded = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + encoded + b"0\r\n\r\n", body


@given(framed_bodies(), SPLITS)
def test_any_framing_split_any_way_gives_back_the_body(framed, sizes):
    data, body = framed
    assert read_reply(feeder(data, sizes), LIMIT).body == body


@given(st.binary(max_size=400), SPLITS)
def test_any_bytes_give_a_reply_or_one_of_our_two_errors(data, sizes):
    with contextlib.suppress(TransportError):  # ProtocolError is one
        read_reply(feeder(b"HTTP/1.1 200 OK\r\n" + data, sizes), 1000)


@given(framed_bodies(), SPLITS)
def test_the_parser_takes_bytes_as_they_come_and_hands_out_the_reply_once(framed, sizes):
    """Push-fed (as the async client feeds it): no reply before the last byte, then the body."""
    data, body = framed
    parser = ReplyParser(LIMIT)
    cuts = [0]
    for size in sizes:
        cuts.append(min(len(data), cuts[-1] + size))
    pieces = [data[a:b] for a, b in zip(cuts, [*cuts[1:], len(data)]) if b > a]
    for piece in pieces[:-1]:
        parser.feed(piece)
        reply = parser.reply()
        assert reply is None or b"Connection: close" not in data  # complete only at the end
    parser.feed(pieces[-1])
    reply = parser.reply()
    if reply is None:  # delimited by the end of the connection
        parser.feed_eof()
        reply = parser.reply()
    assert reply is not None
    assert reply.body == body


def test_a_request_under_a_deadline_carries_its_budget_line():
    assert budget_line(50.0) == b""  # no deadline in force: no header
    with deadline(0.25, now=50.0):
        assert budget_line(50.1004) == b"Deadline-Budget: 150\r\n"  # whole ms, rounded up
