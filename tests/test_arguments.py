"""Arguments that do not fit the IDL: `ArgumentError` naming Service.method, the argument path
and the expected type, before any byte is sent, so the connection (pooled or pinned) stays."""

from __future__ import annotations

import asyncio
import functools

import pytest

from thrift_bridge import ArgumentError, AsyncClient, Client, ConfigError

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import Everything, Inner

I8 = "i8 (-128..127)"
I32 = "i32 (-2147483648..2147483647)"
I64 = "i64 (-9223372036854775808..9223372036854775807)"

#: (method, arguments, the message after "AllTypes.<method>: ").
BAD_CALLS = [
    ("echo_i32", ("1",), f"value: expected {I32}, got '1'"),
    ("echo_i32", (2**31,), f"value: expected {I32}, got 2147483648"),
    ("echo_i32", (1.5,), f"value: expected {I32}, got 1.5"),
    ("echo_i64", (2**70,), f"value: expected {I64}, got 1180591620717411303424"),
    ("echo_byte", (300,), f"value: expected {I8}, got 300"),
    ("echo_double", ("x",), "value: expected double, got 'x'"),
    ("echo_double", (10**400,), "value: expected double (an int this large does not fit), got "),
    ("echo_string", (5,), "value: expected string (str), got 5"),
    ("echo_string", ("\ud800",), "value: expected string (valid Unicode), got '\\ud800'"),
    ("echo_binary", (5,), "value: expected binary (bytes), got 5"),
    (
        "echo_struct",
        ({"must": "x"},),
        "value: expected Everything (built as Everything(...); Client.invoke() takes plain "
        "dicts), got {'must': 'x'}",
    ),
    (
        "echo_struct",
        (Everything(must="x", inner=Inner(number="seven")),),
        f"value.inner.number: expected {I32}, got 'seven'",
    ),
    ("echo_list", ([Inner(number=1), None],), "value[1]: expected Inner, got None"),
    ("echo_list", (5,), "value: expected list<Inner>, got 5"),
    ("echo_set", (["a", 1],), "value[1]: expected string (str), got 1"),
    ("echo_map", ([(1, "a")],), "value: expected map<i32, string> (a dict), got [(1, 'a')]"),
    ("echo_map", ({"a": "b"},), f"value key 'a': expected {I32}, got 'a'"),
    ("echo_map", ({1: 2},), "value[1]: expected string (str), got 2"),
    (
        "echo_nested",
        ({"k": [{"x"}]},),  # one element: a set's order (hence the id) varies by process
        f"value['k'][0][0]: expected {I32}, got 'x'",
    ),
    ("add", (1, "2"), f"b: expected {I64}, got '2'"),
]

#: Wire formats whose requests are encoded differently: the C codec (binary, compact), our
#: JSON writer, Apache's Python protocols (THeader, zlib), and HTTP bodies.
WIRES = [
    {},
    {"protocol": "compact", "transport": "framed"},
    {"protocol": "json"},
    {"protocol": "json", "transport": "framed"},
    {"transport": "zlib"},
    {"transport": "header", "header_protocol": "compact"},
    {"protocol": "header", "transport": "framed"},
    {"scheme": "http"},
    {"scheme": "http", "protocol": "json"},
]


def wire_id(wire: dict[str, str]) -> str:
    return "-".join(wire.values()) or "binary"


def bad_calls(client, wire):
    """(call, method, message) for each bad call, positional (the fast path where there is
    one) and by keyword (the generated send_)."""
    for method, args, message in BAD_CALLS:
        function = getattr(client, method)
        yield functools.partial(function, *args), method, message
        # Apache's TJSONProtocol writes a float given for an integer as it is: the request
        # goes out, and the server refuses it.
        if method != "add" and not (args == (1.5,) and "json" in wire.values()):
            yield functools.partial(function, value=args[0]), method, message


@pytest.fixture(scope="module")
def servers():
    """One AllTypes server per wire format, shared by the module's tests."""
    from thrift_bridge.testing import serve

    from .handlers import AllTypesHandler

    started = {}
    try:
        for wire in WIRES:
            started[wire_id(wire)] = serve(AllTypes.Processor(AllTypesHandler()), **wire)
        yield started
    finally:
        for server in started.values():
            server.close()


@pytest.mark.parametrize(("method", "args", "message"), BAD_CALLS)
@pytest.mark.parametrize("by_keyword", [False, True], ids=["positional", "keyword"])
def test_a_bad_argument_names_the_method_the_path_and_the_type(
    servers, method, args, message, by_keyword
):
    # Positional calls take the fast path (C codec); keyword calls the generated send_.
    with Client(AllTypes, servers["binary"].url) as client:
        function = getattr(client, method)
        if by_keyword:
            names = ("value",) if len(args) == 1 else ("a", "b")
            call = lambda: function(**dict(zip(names, args)))  # noqa: E731
        else:
            call = lambda: function(*args)  # noqa: E731
        with pytest.raises(ArgumentError) as caught:
            call()
        assert str(caught.value).startswith(f"AllTypes.{method}: {message}")
        assert caught.value.method == method
        assert isinstance(caught.value, (ConfigError, ValueError))
        assert caught.value.__cause__ is not None  # the encoder's own error, chained
        assert client.stats()["discarded"] == 0


@pytest.mark.parametrize("wire", WIRES, ids=wire_id)
def test_sync_pooled_and_pinned_connections_survive_a_bad_argument(servers, wire):
    url = servers[wire_id(wire)].url
    with Client(AllTypes, url, pool_size=1, retries=0) as client:
        for call, method, message in bad_calls(client, wire):
            with pytest.raises(ArgumentError) as caught:
                call()
            assert str(caught.value).startswith(f"AllTypes.{method}: {message}")
        assert client.echo_i32(7) == 7
        with client.connection() as pinned:
            with pytest.raises(ArgumentError, match=r"AllTypes\.add: b: expected i64"):
                pinned.add(1, "2")
            assert not pinned.broken
            assert pinned.add(1, 2) == 3
        assert client.add(20, 22) == 42
        stats = client.stats()
        assert (stats["created"], stats["discarded"], stats["retries"]) == (1, 0, 0)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("wire", WIRES, ids=wire_id)
async def test_async_pooled_and_pinned_connections_survive_a_bad_argument(servers, wire):
    url = servers[wire_id(wire)].url
    async with AsyncClient(AllTypes, url, pool_size=1, retries=0) as client:
        for call, method, message in bad_calls(client, wire):
            with pytest.raises(ArgumentError) as caught:
                await asyncio.wait_for(call(), 10)
            assert str(caught.value).startswith(f"AllTypes.{method}: {message}")
        assert await asyncio.wait_for(client.echo_i32(7), 10) == 7
        async with client.connection() as pinned:
            with pytest.raises(ArgumentError, match=r"AllTypes\.add: b: expected i64"):
                await asyncio.wait_for(pinned.add(1, "2"), 10)
            assert await asyncio.wait_for(pinned.add(1, 2), 10) == 3
        stats = client.stats()
        assert (stats["created"], stats["discarded"], stats["retries"]) == (1, 0, 0)


def test_a_wrong_argument_count_stays_a_type_error_and_keeps_the_connection(servers):
    with Client(AllTypes, servers["binary"].url, pool_size=1) as client:
        with pytest.raises(TypeError, match="positional argument"):
            client.add(1, 2, 3)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
            client.add(a=1, c=2)  # type: ignore[call-arg]
        assert client.add(1, 2) == 3
        assert client.stats()["discarded"] == 0


def test_a_multiplexed_service_is_named_by_its_service_name():
    from thrift.TMultiplexedProcessor import TMultiplexedProcessor

    from thrift_bridge.testing import serve

    from .handlers import AllTypesHandler

    processor = TMultiplexedProcessor()
    processor.registerProcessor("Types", AllTypes.Processor(AllTypesHandler()))
    with serve(processor) as server, Client(AllTypes, server.url, service_name="Types") as client:
        with pytest.raises(ArgumentError, match=r"^Types\.echo_i32: value: expected i32"):
            client.echo_i32("1")
        assert client.echo_i32(1) == 1
