"""The exception tree, pickling, and `wrap_error` / `map_exceptions`: wire errors become ours."""

from __future__ import annotations

import errno
import http.client
import pickle
import socket
import ssl
import struct

import pytest
from thrift.protocol.TProtocol import TProtocolException
from thrift.transport.TTransport import TTransportException

import thrift_bridge
from thrift_bridge import (
    ArgumentError,
    ConfigError,
    ConnectError,
    ConnectTimeout,
    DeadlineExceeded,
    HTTPError,
    PoolClosed,
    PoolError,
    PoolTimeout,
    ProtocolError,
    RateLimited,
    ReadTimeout,
    ThriftBridgeError,
    Timeout,
    TransportError,
    WriteTimeout,
)
from thrift_bridge._exceptions import map_exceptions, wrap_error  # the unit under test

TT = TTransportException
ENDPOINT = "tcp://h:1"
#: Every exception class the package exports but IDLError, whose constructor takes where in
#: the IDL file the error is (tests/test_idl_load_errors.py).
CLASSES = [
    cls
    for cls in (getattr(thrift_bridge, name) for name in thrift_bridge.__all__)
    if isinstance(cls, type) and issubclass(cls, ThriftBridgeError) and cls.__name__ != "IDLError"
]

# --- the tree -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "bases"),
    [
        (ConfigError, (ThriftBridgeError, ValueError)),
        (ArgumentError, (ConfigError, ValueError)),
        (thrift_bridge.IDLError, (ConfigError, ValueError)),
        (TransportError, (ThriftBridgeError,)),
        (ConnectError, (TransportError,)),
        (ConnectTimeout, (ConnectError, Timeout)),
        (ReadTimeout, (TransportError, Timeout)),
        (WriteTimeout, (TransportError, Timeout)),
        (HTTPError, (TransportError,)),
        (ProtocolError, (TransportError,)),
        (PoolError, (ThriftBridgeError,)),
        (PoolTimeout, (PoolError, Timeout)),
        (PoolClosed, (PoolError,)),
        (RateLimited, (Timeout,)),
        (DeadlineExceeded, (Timeout,)),
        (Timeout, (ThriftBridgeError,)),
    ],
)
def test_the_exception_tree(cls, bases):
    for base in bases:
        assert issubclass(cls, base)
    assert issubclass(cls, Exception)


def test_every_class_is_listed():
    assert {c.__name__ for c in CLASSES} == {
        *("ArgumentError", "ConfigError", "ConnectError", "ConnectTimeout", "DeadlineExceeded"),
        "HTTPError",
        *("PoolClosed", "PoolError", "PoolTimeout", "ProtocolError", "RateLimited"),
        *("ReadTimeout", "ThriftBridgeError", "Timeout", "TransportError", "WriteTimeout"),
    }


def test_no_builtin_names_are_shadowed():
    import builtins

    for cls in CLASSES:
        assert not hasattr(builtins, cls.__name__), cls


# --- str() and pickling -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "method", "text"),
    [
        (ENDPOINT, "add", "went wrong (method 'add', endpoint tcp://h:1)"),
        (ENDPOINT, None, "went wrong (endpoint tcp://h:1)"),
        (None, "add", "went wrong (method 'add')"),
        (None, None, "went wrong"),
    ],
)
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_str_names_method_and_endpoint(cls, endpoint, method, text):
    error = cls("went wrong", endpoint=endpoint, method=method)
    assert str(error) == text
    assert error.message == "went wrong"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_exception_pickles_with_message_endpoint_and_method(cls, protocol):
    error = cls("went wrong", endpoint=ENDPOINT, method="add")
    copy = pickle.loads(pickle.dumps(error, protocol=protocol))
    assert type(copy) is cls
    assert (copy.message, copy.endpoint, copy.method) == ("went wrong", ENDPOINT, "add")
    assert str(copy) == str(error)
    assert copy.args == error.args


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_pickling_keeps_attributes_set_later(cls):
    error = cls("went wrong")
    error.endpoint, error.method = ENDPOINT, "add"  # as wrap_error fills them in
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.endpoint, copy.method) == (ENDPOINT, "add")


@pytest.mark.parametrize(
    ("status", "body"), [(503, b"<html>busy</html>"), (0, b""), (404, bytes(range(256)))]
)
def test_http_error_pickles_with_status_and_body(status, body):
    error = HTTPError("HTTP failed", status=status, body=body, endpoint="http://h", method="m")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is HTTPError
    assert (copy.status, copy.body) == (status, body)
    assert (copy.message, copy.endpoint, copy.method) == ("HTTP failed", "http://h", "m")
    assert str(copy) == "HTTP failed (method 'm', endpoint http://h)"


def test_http_error_defaults():
    error = HTTPError("x")
    assert (error.status, error.body, error.endpoint, error.method) == (0, b"", None, None)


# --- wrap_error -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "connecting", "reading", "expected"),
    [
        pytest.param(socket.timeout("t"), False, False, ReadTimeout, id="timeout-reading"),
        pytest.param(socket.timeout("t"), True, False, ConnectTimeout, id="timeout-connecting"),
        pytest.param(TimeoutError("t"), False, False, ReadTimeout, id="TimeoutError"),
        pytest.param(
            ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
            True,
            False,
            ConnectError,
            id="refused-connecting",
        ),
        pytest.param(
            ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
            False,
            False,
            TransportError,
            id="refused-not-connecting",
        ),
        pytest.param(
            ConnectionResetError(errno.ECONNRESET, "reset"),
            False,
            False,
            TransportError,
            id="reset",
        ),
        pytest.param(BrokenPipeError(errno.EPIPE, "pipe"), False, False, TransportError, id="pipe"),
        pytest.param(socket.gaierror(-2, "unknown"), True, False, ConnectError, id="gaierror"),
        pytest.param(ssl.SSLError("bad"), True, False, ConnectError, id="ssl-connecting"),
        pytest.param(ssl.SSLError("bad"), False, False, TransportError, id="ssl-reading"),
        pytest.param(
            ssl.SSLCertVerificationError("cert"), True, False, ConnectError, id="ssl-verify"
        ),
        pytest.param(TT(TT.NOT_OPEN, "x"), False, False, ConnectError, id="NOT_OPEN"),
        pytest.param(TT(TT.NOT_OPEN, "x"), True, False, ConnectError, id="NOT_OPEN-connecting"),
        pytest.param(TT(TT.TIMED_OUT, "x"), False, False, ReadTimeout, id="TIMED_OUT"),
        pytest.param(TT(TT.TIMED_OUT, "x"), True, False, ConnectTimeout, id="TIMED_OUT-connecting"),
        pytest.param(TT(TT.END_OF_FILE, "x"), False, False, TransportError, id="END_OF_FILE"),
        pytest.param(TT(TT.END_OF_FILE, "x"), True, False, ConnectError, id="EOF-connecting"),
        pytest.param(TT(TT.SIZE_LIMIT, "x"), False, False, ProtocolError, id="SIZE_LIMIT"),
        pytest.param(TT(TT.NEGATIVE_SIZE, "x"), False, False, ProtocolError, id="NEGATIVE_SIZE"),
        pytest.param(TT(TT.UNKNOWN, "x"), False, False, TransportError, id="UNKNOWN"),
        pytest.param(
            TProtocolException(TProtocolException.BAD_VERSION, "v"),
            False,
            False,
            ProtocolError,
            id="TProtocolException",
        ),
        pytest.param(
            TProtocolException(TProtocolException.SIZE_LIMIT, "s"),
            False,
            True,
            ProtocolError,
            id="TProtocolException-size",
        ),
        pytest.param(EOFError("eof"), False, False, ProtocolError, id="EOFError"),
        pytest.param(
            http.client.RemoteDisconnected("gone"), False, False, TransportError, id="remote-gone"
        ),
        pytest.param(
            http.client.IncompleteRead(b"x", 10), False, False, TransportError, id="incomplete"
        ),
        pytest.param(OverflowError("size"), False, True, ProtocolError, id="overflow-reading"),
        pytest.param(struct.error("unpack"), False, True, ProtocolError, id="struct-reading"),
        pytest.param(ValueError("codec"), False, True, ProtocolError, id="value-reading"),
    ],
)
def test_wire_errors_map_to_ours(exc, connecting, reading, expected):
    error = wrap_error(exc, ENDPOINT, "add", connecting=connecting, reading=reading)
    assert type(error) is expected
    assert (error.endpoint, error.method) == (ENDPOINT, "add")
    assert error.message


def test_remote_disconnected_is_a_transport_error_not_a_connect_error():
    error = wrap_error(http.client.RemoteDisconnected("gone"), ENDPOINT)
    assert isinstance(error, TransportError)
    assert not isinstance(error, ConnectError)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("x"),
        TypeError("x"),
        KeyboardInterrupt(),
        SystemExit(1),
        OverflowError("x"),
        struct.error("x"),
        KeyError("x"),
        RuntimeError("x"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_caller_errors_are_not_wire_errors(exc):
    assert wrap_error(exc, ENDPOINT, "add") is None


def test_timeout_messages_say_what_timed_out():
    assert "connecting" in wrap_error(socket.timeout("t"), ENDPOINT, connecting=True).message
    assert "reply" in wrap_error(socket.timeout("t"), ENDPOINT).message
    assert "TLS" in wrap_error(ssl.SSLError("bad"), ENDPOINT).message


def test_our_errors_pass_through_and_gain_context():
    original = ProtocolError("out of step")
    assert wrap_error(original, ENDPOINT, "add") is original
    assert (original.endpoint, original.method) == (ENDPOINT, "add")
    kept = ProtocolError("x", endpoint="tcp://other:2", method="sub")
    assert wrap_error(kept, ENDPOINT, "add") is kept
    assert (kept.endpoint, kept.method) == ("tcp://other:2", "sub")


# --- map_exceptions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "connecting", "expected"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), True, ConnectError),
        (socket.timeout("timed out"), False, ReadTimeout),
        (socket.timeout("timed out"), True, ConnectTimeout),
        (TT(TT.END_OF_FILE, "eof"), False, TransportError),
        (TProtocolException(TProtocolException.INVALID_DATA, "bad"), False, ProtocolError),
        (http.client.RemoteDisconnected("gone"), False, TransportError),
    ],
)
def test_map_exceptions_chains_the_original(exc, connecting, expected):
    with pytest.raises(expected) as info, map_exceptions(ENDPOINT, "add", connecting=connecting):
        raise exc
    assert type(info.value) is expected
    assert info.value.__cause__ is exc
    assert (info.value.endpoint, info.value.method) == (ENDPOINT, "add")


def test_map_exceptions_message():
    with pytest.raises(ConnectError) as info, map_exceptions(ENDPOINT, connecting=True):
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    assert str(info.value) == "Connection refused (endpoint tcp://h:1)"


@pytest.mark.parametrize("exc", [ValueError("x"), TypeError("x"), KeyError("x")])
def test_map_exceptions_lets_other_errors_through_unchanged(exc):
    with pytest.raises(type(exc)) as info, map_exceptions(ENDPOINT):
        raise exc
    assert info.value is exc
    assert info.value.__cause__ is None


def test_map_exceptions_never_catches_keyboard_interrupt():
    with pytest.raises(KeyboardInterrupt), map_exceptions(ENDPOINT):
        raise KeyboardInterrupt


def test_map_exceptions_reraises_ours_as_they_are():
    original = PoolClosed("closed")
    with pytest.raises(PoolClosed) as info, map_exceptions(ENDPOINT, "add"):
        raise original
    assert info.value is original
    assert (original.endpoint, original.method) == (ENDPOINT, "add")


def test_map_exceptions_is_silent_without_errors():
    with map_exceptions(ENDPOINT):
        pass
