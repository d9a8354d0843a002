"""Which endpoint a call goes to (`_balance`): round robin, and cooldown after a failed connect."""

from __future__ import annotations

import pytest

from thrift_bridge import ConnectError
from thrift_bridge.testing import serve

from .generated.alltypes import AllTypes
from .handlers import AllTypesHandler
from .paths import AsyncPath, SyncPath, public_type

CLIENTS = pytest.mark.parametrize(
    "path_class", [SyncPath, AsyncPath], ids=["Client", "AsyncClient"]
)


class Counting(AllTypesHandler):
    """Counts the `add` calls it answers, in a list shared by several servers."""

    def __init__(self, counts: list[int], index: int) -> None:
        super().__init__()
        self.counts = counts
        self.index = index

    def add(self, a: int, b: int) -> int:
        self.counts[self.index] += 1
        return a + b


@CLIENTS
def test_comma_separated_hosts_take_turns(path_class):
    counts = [0, 0]
    with (
        serve(AllTypes.Processor(Counting(counts, 0))) as one,
        serve(AllTypes.Processor(Counting(counts, 1))) as two,
    ):
        port_one, port_two = one.address[1], two.address[1]
        path = path_class("several endpoints")
        path.open([f"tcp://127.0.0.1:{port_one},127.0.0.1:{port_two}"])
        try:
            assert [path.call("add", (i, 1), ("a", "b")) for i in range(10)] == list(range(1, 11))
        finally:
            path.close()
        assert counts == [5, 5]
        assert one.connections_accepted == 1
        assert two.connections_accepted == 1


@CLIENTS
def test_an_endpoint_that_refuses_sits_out_its_cooldown(path_class, closed_port):
    """Its first failed connect is retried on the other endpoint; then it is skipped."""
    with serve(AllTypes.Processor(AllTypesHandler())) as server:
        path = path_class("several endpoints")
        dead = f"tcp://127.0.0.1:{closed_port}"
        path.open([dead, server.url], retries=1, retry_backoff=0, cooldown=60)
        try:
            answers = [path.call("add", (i, 1), ("a", "b")) for i in range(20)]
            stats = path.client.stats()
        finally:
            path.close()
    assert answers == [i + 1 for i in range(20)]
    assert stats["retries"] == 1  # the dead one was tried once, then left alone
    assert stats["created"] == 1


@CLIENTS
def test_a_down_endpoints_turns_are_spread_evenly_over_the_others(path_class, closed_port):
    """One of three endpoints down: the other two share its turns, not only its neighbour."""
    counts = [0, 0]
    with (
        serve(AllTypes.Processor(Counting(counts, 0))) as one,
        serve(AllTypes.Processor(Counting(counts, 1))) as two,
    ):
        path = path_class("several endpoints")
        path.open(
            [one.url, f"tcp://127.0.0.1:{closed_port}", two.url],
            retries=1,
            retry_backoff=0,
            cooldown=60,
        )
        try:
            answers = [path.call("add", (i, 1), ("a", "b")) for i in range(30)]
        finally:
            path.close()
    assert answers == [i + 1 for i in range(30)]
    assert abs(counts[0] - counts[1]) <= 2, counts  # was 20/10: the neighbour took every turn


@CLIENTS
def test_with_every_endpoint_down_the_caller_gets_connect_error(path_class, closed_port):
    path = path_class("single endpoint")
    path.open([f"tcp://127.0.0.1:{closed_port}"], retries=0)
    try:
        with pytest.raises(ConnectError) as caught:
            path.call("add", (1, 1), ("a", "b"))
    finally:
        path.close()
    assert public_type(caught.value) is ConnectError
    assert caught.value.method == "add"
