"""protocol=json against Apache's C++ TJSONProtocol (the bench server): it reads what we write,
and we read what it writes, through `Client` and `AsyncClient`.

The C++ writer differs from Apache's Python one where the tests of `test_json_codec` cannot
reach: base64 without padding, NaN and the infinities as quoted words. Every value here goes
to the C++ server and comes back written by it.
"""

from __future__ import annotations

import asyncio
import math
import os

from thrift_bridge import AsyncClient, Client

TEXTS = [
    "",
    "plain",
    'quote " backslash \\ slash / and controls \b\f\n\r\t \x00\x01\x1f \x7f',
    "BMP: é ß ü 中文 \u2028\u2029 \ufeff",
    "non-BMP: \U0001f600 \U0001d11e \U00010000 \U0010ffff",
    "x" * 70_000,
    "\U0001f600" * 20_000,  # 80 000 bytes of UTF-8, 40 000 surrogate pairs escaped
]
BINARIES = [b"", b"\x00", b"\x00\xff", b"\x00\xff\x7f", bytes(range(256)), os.urandom(65_537)]
DOUBLES = [
    0.0,
    -0.0,
    1.5,
    -1e-300,
    1.7976931348623157e308,
    5e-324,
    math.pi,
    math.inf,
    -math.inf,
    math.nan,
]


def _items(bench):
    return [
        bench.Item(
            id=i, name=TEXTS[i % len(TEXTS)][:100], score=score, tags=[i, -(2**31), 2**31 - 1]
        )
        for i, score in enumerate(DOUBLES)
    ] + [  # C++ has no unset fields: it writes each one, so every field is set here
        bench.Item(id=-(2**63), name="", score=0.0, tags=[]),
        bench.Item(id=2**63 - 1, name="\U0001f600", score=-0.0, tags=[0]),
    ]


def _same_item(got, sent) -> bool:
    """Equal, with NaN equal to NaN and -0.0 told apart from 0.0."""
    if isinstance(sent.score, float):
        if math.isnan(sent.score):
            if not math.isnan(got.score):
                return False
        elif math.copysign(1, got.score) != math.copysign(1, sent.score) or got.score != sent.score:
            return False
    elif got.score != sent.score:
        return False
    return (got.id, got.name, got.tags) == (sent.id, sent.name, sent.tags)


def test_the_cpp_json_server_reads_what_we_write_and_we_read_what_it_writes(cpp_bench_servers):
    from benchmarks.generated.bench import Bench

    with Client(Bench, cpp_bench_servers.url("json"), pool_size=1, timeout=30) as client:
        for text in TEXTS:
            assert client.echo(text) == text
        for data in BINARIES:  # C++ writes base64 without padding
            assert client.echo_bin(data) == data
        items = _items(Bench)
        got = client.batch(items)
        assert len(got) == len(items)
        assert all(_same_item(g, s) for g, s in zip(got, items)), got
        for item in items:
            assert _same_item(client.echo_item(item), item)
        client.ping()
        assert client.stats()["created"] == 1  # every reply read whole, the connection kept


def test_the_async_client_speaks_json_with_the_cpp_server(cpp_bench_servers):
    from benchmarks.generated.bench import Bench

    async def main():
        async with AsyncClient(
            Bench, cpp_bench_servers.url("json"), pool_size=2, timeout=30
        ) as client:
            texts = await asyncio.gather(*(client.echo(t) for t in TEXTS))
            binaries = await asyncio.gather(*(client.echo_bin(b) for b in BINARIES))
            items = _items(Bench)
            got = await client.batch(items)
            return texts, binaries, items, got

    texts, binaries, items, got = asyncio.run(asyncio.wait_for(main(), 60))
    assert texts == TEXTS
    assert binaries == BINARIES
    assert all(_same_item(g, s) for g, s in zip(got, items)), got
