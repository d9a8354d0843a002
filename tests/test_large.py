"""Large strings and binaries sent in parts (`_codec/_large`): the same bytes as Apache's
writers, in binary and compact, at the top level and inside struct arguments, and the large
values themselves never copied; then through real servers over each transport."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.protocol.TCompactProtocol import TCompactProtocol
from thrift.transport.TTransport import TMemoryBuffer

from thrift_bridge import Client
from thrift_bridge._codec._binary import LARGE_FIELD
from thrift_bridge.testing import serve

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import Color, Everything, Inner
from .handlers import AllTypesHandler
from .test_codec import apache_request, method

PROTOCOLS = {"binary": TBinaryProtocol, "compact": TCompactProtocol}
BIG = "é" * LARGE_FIELD  # large by its length in characters (twice as many UTF-8 bytes)


class Large:
    """Stands for `BIG` followed by `tail` in a generated value (a short repr for hypothesis)."""

    def __init__(self, tail):
        self.tail = tail

    def __repr__(self):
        return f"Large({self.tail!r})"

    def value(self):
        if isinstance(self.tail, bytes):
            return b"\0" * LARGE_FIELD + self.tail
        return BIG + self.tail


def texts() -> st.SearchStrategy[object]:
    """None, a short text, or one long enough to be sent on its own."""
    return st.one_of(st.none(), st.text(max_size=5), st.builds(Large, st.text(max_size=5)))


def blobs() -> st.SearchStrategy[object]:
    return st.one_of(st.none(), st.binary(max_size=5), st.builds(Large, st.binary(max_size=5)))


def made(fields: dict) -> Everything:
    """The Everything the generated `fields` describe, `Large` values made large."""
    values = {k: v.value() if isinstance(v, Large) else v for k, v in fields.items()}
    inner = values.get("inner")
    if inner is not None:
        values["inner"] = Inner(number=inner[0], label=made_value(inner[1]))
    return Everything(**values)


def made_value(value):
    return value.value() if isinstance(value, Large) else value


small_ints = st.one_of(st.none(), st.integers(-3, 3))
inners = st.one_of(st.none(), st.tuples(small_ints, texts()))
everything = st.fixed_dictionaries(
    {
        "a_bool": st.one_of(st.none(), st.booleans()),  # compact keeps a bool in its field header
        "a_byte": small_ints,
        "an_i16": small_ints,
        "an_i32": small_ints,
        "an_i64": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        "a_double": st.one_of(st.none(), st.floats(allow_nan=False)),
        "a_string": texts(),
        "a_binary": blobs(),
        "a_color": st.one_of(st.none(), st.sampled_from(list(Color._VALUES_TO_NAMES))),
        "inner": inners,
        "inners": st.one_of(st.none(), st.lists(st.builds(Inner, number=small_ints), max_size=2)),
        "must": texts(),
        "maybe": texts(),
        "with_default": small_ints,  # fields left unset: compact id deltas past 15 too
        "text_default": texts(),
        "list_default": st.one_of(st.none(), st.lists(st.integers(0, 3), max_size=2)),
        "by_small_int": st.none(),
    }
)


def _holds_large(value: Everything) -> bool:
    fields = (value.a_string, value.a_binary, value.must, value.maybe, value.text_default)
    nested = value.inner.label if value.inner is not None else None
    return any(v is not None and len(v) >= LARGE_FIELD for v in (*fields, nested))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=everything, protocol=st.sampled_from(sorted(PROTOCOLS)), seqid=st.integers(0, 2**31 - 1)
)
def test_a_struct_argument_holding_large_values_is_the_bytes_apaches_writer_writes(
    fields, protocol, seqid
):
    value = made(fields)
    parts = method("echo_struct", protocol).request(seqid, (value,))
    expected = apache_request(
        "echo_struct", seqid, AllTypes.echo_struct_args(value), PROTOCOLS[protocol]
    )
    assert b"".join(parts) == expected
    if _holds_large(value):
        assert len(parts) > 2  # the large values went out on their own
    if value.a_binary is not None and len(value.a_binary) >= LARGE_FIELD:
        assert any(part is value.a_binary for part in parts)  # sent as it is, never copied


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("slow_echo", (BIG, 0.25)),
        ("slow_echo", ("small", 0.25)),
        ("echo_blob", (b"\xff" * LARGE_FIELD,)),
        ("echo_list", ([Inner(number=1, label=BIG)],)),  # in a list: left to the C encoder
    ],
    ids=["large string then double", "small", "large binary", "inside a list"],
)
def test_top_level_large_values_are_apaches_bytes_in_both_protocols(protocol, name, args):
    args_class = getattr(AllTypes, f"{name}_args")
    parts = method(name, protocol).request(5, args)
    assert b"".join(parts) == apache_request(name, 5, args_class(*args), PROTOCOLS[protocol])


@pytest.mark.parametrize(
    "url_options",
    [
        {"transport": "buffered", "protocol": "compact"},
        {"transport": "framed", "protocol": "compact"},
        {"transport": "zlib", "protocol": "binary"},
        {"transport": "zlib", "protocol": "compact"},
    ],
    ids=lambda o: f"{o['protocol']} {o['transport']}",
)
def test_large_values_in_structs_round_trip_through_apaches_servers(url_options):
    value = Everything(
        a_bool=True,
        a_string=BIG + "s",
        a_binary=b"\x01" * LARGE_FIELD,
        inner=Inner(number=7, label=BIG + "i"),
        must="m",
        text_default=BIG + "t",
    )
    processor = AllTypes.Processor(AllTypesHandler())
    with (
        serve(processor, **url_options) as server,
        Client(AllTypes, server.url, pool_size=1) as client,
    ):
        for _ in range(3):  # the same connection: every reply read whole
            assert client.echo_struct(value) == value
        assert client.stats()["created"] == 1


def test_apaches_reader_reads_the_parts_back():
    value = Everything(a_string=BIG, inner=Inner(label=BIG), must=BIG)
    for protocol, proto_class in PROTOCOLS.items():
        parts = method("echo_struct", protocol).request(1, (value,))
        proto = proto_class(TMemoryBuffer(b"".join(parts)))
        proto.readMessageBegin()
        decoded = AllTypes.echo_struct_args()
        decoded.read(proto)
        assert decoded.value == value


@pytest.mark.parametrize("options", ["transport=zlib", "protocol=compact&transport=framed"])
def test_the_async_client_sends_large_values_in_structs_as_apache_reads_them(options):
    import asyncio

    from thrift_bridge import AsyncClient

    value = Everything(a_string=BIG + "a", inner=Inner(label=BIG), must="m")
    transport, protocol = ("zlib", "binary") if "zlib" in options else ("framed", "compact")
    processor = AllTypes.Processor(AllTypesHandler())

    async def main(url):
        async with AsyncClient(AllTypes, url, pool_size=1) as client:
            return [await client.echo_struct(value) for _ in range(2)], client.stats()["created"]

    with serve(processor, transport=transport, protocol=protocol) as server:
        echoed, created = asyncio.run(asyncio.wait_for(main(server.url), 60))
    assert echoed == [value, value]
    assert created == 1
