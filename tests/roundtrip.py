"""A round trip of every method and type of the alltypes IDL, shared by the matrix tests."""

from __future__ import annotations

import uuid

import pytest
from thrift.Thrift import TApplicationException

from thrift_bridge import Client

from .generated.alltypes.ttypes import (
    BadInput,
    Choice,
    Color,
    Everything,
    Inner,
    Unavailable,
)

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


def round_trip_every_type(client: Client) -> None:
    """Call every method of AllTypes and check each answer."""
    assert client.echo_bool(True) is True
    assert client.echo_byte(-7) == -7
    assert client.echo_i16(-32768) == -32768
    assert client.echo_i32(-(2**31)) == -(2**31)
    assert client.echo_i64(2**63 - 1) == 2**63 - 1
    assert client.echo_double(-0.125) == -0.125
    assert client.echo_string("ünïcødé") == "ünïcødé"
    assert client.echo_binary(b"\x00\xff\x10") == b"\x00\xff\x10"
    assert client.echo_enum(Color.GREEN) == Color.GREEN
    assert client.echo_struct(EVERYTHING) == EVERYTHING
    assert client.echo_union(Choice(text="t")) == Choice(text="t")
    assert client.echo_union(Choice(inner=Inner(number=1, label="l"))) == Choice(
        inner=Inner(number=1, label="l")
    )
    assert client.echo_nested({"k": [{1, 2, 3}, set()]}) == {"k": [{1, 2, 3}, set()]}
    assert client.echo_list([Inner(number=1, label="a")]) == [Inner(number=1, label="a")]
    assert client.echo_set({"x", "y"}) == {"x", "y"}
    assert client.echo_map({1: "one", -1: "minus"}) == {1: "one", -1: "minus"}
    assert client.nothing() is None
    assert client.add(2**40, 1) == 2**40 + 1
    with pytest.raises(BadInput) as bad:
        client.raise_error(1)
    assert bad.value.code == 400
    with pytest.raises(Unavailable):
        client.raise_error(2)
    with pytest.raises(TApplicationException):
        client.raise_error(3)
    token = uuid.uuid4().hex
    assert client.fire(token) is None
    assert client.last_fired() == token  # oneway arrived before the next call on this server
    assert client.echo_string("after") == "after"
