"""A round trip of every method and type of the alltypes IDL, shared by the matrix tests."""

from __future__ import annotations

import uuid

import pytest
from thrift.Thrift import TApplicationException
from thrift.transport.TTransport import CReadableTransport

from thrift_bridge import AsyncClient, Client, ConnectionPool, parse_url

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import (
    BadInput,
    Choice,
    Color,
    Everything,
    Inner,
    Unavailable,
)


def decodes_in_c(url: str) -> bool:
    """Whether a connection to `url` decodes replies with Apache's C codec: an accelerated
    protocol over a transport the C code reads from directly (a `CReadableTransport`)."""
    with ConnectionPool(parse_url(url), AllTypes.Client, size=1) as pool:
        conn = pool.acquire()
        try:
            accelerated = "Accelerated" in type(conn.protocol).__name__
            return accelerated and isinstance(conn.transport, CReadableTransport)
        finally:
            pool.release(conn)


EVERYTHING = Everything(
    a_bool=True,
    a_byte=-128,
    an_i16=-32768,
    an_i32=2**31 - 1,
    an_i64=-(2**63),
    a_double=1.5e300,
    a_string="héllo wörld ✓",
    a_binary=bytes(range(256)),
    a_color=Color.BLUE,
    inner=Inner(number=7, label="seven"),
    inners=[Inner(number=i, label=str(i)) for i in range(5)],
    names={"a", "b", "c"},
    nested={"x": [{1, 2}, {3}], "y": []},
    must="required",
    maybe=None,
    by_small_int={1: 0.5, -2: 2.25},
)


#: (method, arguments, expected answer) for every echo of AllTypes.
ECHOES = [
    ("echo_bool", (True,), True),
    ("echo_byte", (-7,), -7),
    ("echo_i16", (-32768,), -32768),
    ("echo_i32", (-(2**31),), -(2**31)),
    ("echo_i64", (2**63 - 1,), 2**63 - 1),
    ("echo_double", (-0.125,), -0.125),
    ("echo_string", ("ünïcødé",), "ünïcødé"),
    ("echo_binary", (b"\x00\xff\x10",), b"\x00\xff\x10"),
    ("echo_enum", (Color.GREEN,), Color.GREEN),
    ("echo_struct", (EVERYTHING,), EVERYTHING),
    ("echo_union", (Choice(text="t"),), Choice(text="t")),
    (
        "echo_union",
        (Choice(inner=Inner(number=1, label="l")),),
        Choice(inner=Inner(number=1, label="l")),
    ),
    ("echo_nested", ({"k": [{1, 2, 3}, set()]},), {"k": [{1, 2, 3}, set()]}),
    ("echo_list", ([Inner(number=1, label="a")],), [Inner(number=1, label="a")]),
    ("echo_set", ({"x", "y"},), {"x", "y"}),
    ("echo_map", ({1: "one", -1: "minus"},), {1: "one", -1: "minus"}),
    ("nothing", (), None),
    ("add", (2**40, 1), 2**40 + 1),
]
#: (kind given to raise_error, the exception the server answers with).
ERRORS = [(1, BadInput), (2, Unavailable), (3, TApplicationException)]


def round_trip_every_type(client: Client) -> None:
    """Call every method of AllTypes and check each answer."""
    for name, args, expected in ECHOES:
        assert client.call(name, *args) == expected, name
    for kind, error in ERRORS:
        with pytest.raises(error):
            client.raise_error(kind)
    token = uuid.uuid4().hex
    assert client.fire(token) is None
    assert client.last_fired() == token  # oneway arrived before the next call on this server
    assert client.echo_string("after") == "after"


async def round_trip_every_type_async(client: AsyncClient) -> None:
    """`round_trip_every_type` through an `AsyncClient`."""
    for name, args, expected in ECHOES:
        assert await client.call(name, *args) == expected, name
    for kind, error in ERRORS:
        with pytest.raises(error):
            await client.raise_error(kind)
    token = uuid.uuid4().hex
    assert await client.fire(token) is None
    assert await client.last_fired() == token
    assert await client.echo_string("after") == "after"
