"""Services by name: multiplexing, THeader headers, middleware, access log, metrics, rate limits."""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from thrift.Thrift import TApplicationException
from thrift.TMultiplexedProcessor import TMultiplexedProcessor

from thrift_bridge import (
    AccessLog,
    Client,
    ConfigError,
    ConnectError,
    Metrics,
    RateLimited,
    TransportError,
)
from thrift_bridge.testing import HeaderCheckingProcessor, serve

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import BadInput
from .generated.calculator import Calculator
from .handlers import AllTypesHandler, CalculatorHandler


@pytest.fixture
def multiplexed():
    """One server answering Calculator and AllTypes on one port (TMultiplexedProcessor)."""
    processor = TMultiplexedProcessor()
    processor.registerProcessor("Calculator", Calculator.Processor(CalculatorHandler()))
    processor.registerProcessor("AllTypes", AllTypes.Processor(AllTypesHandler()))
    with serve(processor) as server:
        yield server


def test_multiplexed_services_share_one_endpoint(multiplexed):
    with (
        Client(Calculator, multiplexed.url, service_name="Calculator") as calc,
        Client(AllTypes, multiplexed.url, service_name="AllTypes") as everything,
    ):
        assert calc.add(1, 2) == 3
        assert everything.echo_string("mux") == "mux"
        assert calc.service_name == "Calculator"


def test_multiplexed_unknown_service_is_a_transport_error(multiplexed):
    # Apache's Python TMultiplexedProcessor raises on an unknown service and drops the
    # connection without a reply: the client sees the connection end and discards it.
    with Client(Calculator, multiplexed.url, service_name="Nope", retries=0) as client:
        with pytest.raises(TransportError):
            client.add(1, 2)
        assert client.stats()["discarded"] == 1


@pytest.mark.parametrize("name", ["", "a:b", 3])
def test_bad_service_name(name):
    with pytest.raises(ConfigError, match="invalid service_name"):
        Client(Calculator, "tcp://127.0.0.1:9090", service_name=name)


@pytest.fixture
def header_server():
    """A THeader AllTypes server checking access keys and versions, echoing request ids."""
    processor = HeaderCheckingProcessor(
        AllTypes.Processor(AllTypesHandler()), access_keys={"k1"}, versions={"2.0"}
    )
    with serve(processor, transport="header") as server:
        yield server, processor


def test_client_and_per_call_headers_travel_and_reply_headers_come_back(header_server):
    server, processor = header_server
    headers = {"access_key": "k1", "service_version": "2.0"}
    with Client(AllTypes, server.url, headers=headers) as client:
        with client.call_headers({"request_id": "r-1"}) as scope:
            assert client.add(1, 2) == 3
        assert scope.reply == {"request_id": "r-1", "served_by": "thrift-bridge-testing"}
        assert processor.seen[-1] == {**headers, "request_id": "r-1"}
        assert client.add(2, 2) == 4  # outside the block: only the client's headers
        assert processor.seen[-1] == headers


def test_reply_headers_are_per_thread(header_server):
    server, _ = header_server
    with Client(
        AllTypes, server.url, headers={"access_key": "k1", "service_version": "2.0"}, pool_size=4
    ) as client:

        def work(n: int) -> bool:
            ok = True
            for i in range(50):
                with client.call_headers({"request_id": f"{n}-{i}"}) as scope:
                    client.add(n, i)
                ok &= scope.reply["request_id"] == f"{n}-{i}"
            return ok

        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(work, range(8)))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"access_key": "wrong", "service_version": "2.0"}, "access denied"),
        ({"access_key": "k1", "service_version": "1.0"}, "service_version '1.0' is not served"),
    ],
)
def test_server_helper_refuses_bad_keys_and_versions(header_server, headers, message):
    server, _ = header_server
    with Client(AllTypes, server.url, headers=headers) as client:
        with pytest.raises(TApplicationException, match=message):
            client.add(1, 2)
        assert client.stats()["discarded"] == 0  # a refusal is an answer: the connection stays


def test_per_call_headers_need_a_header_endpoint():
    with Client(AllTypes, "tcp://127.0.0.1:9090") as client:
        with pytest.raises(ConfigError, match="need a THeader endpoint"):
            client.call_headers({"a": "b"})


def test_middleware_wraps_every_call_outermost_first(multiplexed):
    seen = []

    def outer(call, proceed):
        seen.append(("outer", call.method, call.args))
        return proceed(call) * 10

    def inner(call, proceed):
        seen.append(("inner", call.endpoint))
        result = proceed(call)
        seen.append(("after", call.endpoint))
        return result

    with Client(
        Calculator, multiplexed.url, service_name="Calculator", middleware=[outer, inner]
    ) as client:
        assert client.add(1, 2) == 30
    assert seen[0] == ("outer", "add", (1, 2))
    assert seen[1] == ("inner", None)
    assert seen[2] == ("after", multiplexed.url)


def test_middleware_can_reject_and_retry(multiplexed):
    attempts = []

    def reject_big(call, proceed):
        if call.args and call.args[0] > 100:
            raise ConfigError(f"{call.method}: first argument too big")
        return proceed(call)

    def retry_once(call, proceed):
        attempts.append(call.method)
        try:
            return proceed(call)
        except TApplicationException:
            attempts.append("retry")
            return proceed(call)

    with Client(
        AllTypes, multiplexed.url, service_name="AllTypes", middleware=[reject_big, retry_once]
    ) as client:
        with pytest.raises(ConfigError, match="too big"):
            client.add(1000, 1)
        with pytest.raises(TApplicationException):
            client.raise_error(3)
        assert attempts == ["raise_error", "retry"]


def test_middleware_applies_to_pinned_sessions(multiplexed):
    calls = []

    def record(call, proceed):
        calls.append(call.method)
        return proceed(call)

    with Client(
        Calculator,
        multiplexed.url,
        service_name="Calculator",
        middleware=[record],
    ) as client:
        with client.connection() as pinned:
            assert pinned.add(2, 3) == 5
            assert {"add", "call", "release"} <= set(dir(pinned))
            with pytest.raises(AttributeError, match=r"^'nope' is not a method of tests\.gen"):
                pinned.nope  # type: ignore[attr-defined]  # noqa: B018
    assert calls == ["add"]


def test_access_log_line_per_call_in_zask_format(header_server, caplog):
    server, _ = header_server
    with (
        caplog.at_level(logging.INFO, logger="thrift_bridge.access"),
        Client(
            AllTypes,
            server.url,
            headers={"access_key": "k1", "service_version": "2.0"},
            middleware=[AccessLog()],
        ) as client,
    ):
        client.add(1, 2)
        with pytest.raises(BadInput):
            client.raise_error(1)
    lines = [r.getMessage() for r in caplog.records if r.name == "thrift_bridge.access"]
    # The access key is a secret: its fingerprint (8 hex digits of its SHA-256) stands in for it.
    pattern = (
        "^#"
        + hashlib.sha256(b"k1").hexdigest()[:8]
        + r' - \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] - "AllTypes" - "METHOD" - OUTCOME - \d+ms$'
    )
    assert re.match(pattern.replace("METHOD", "add").replace("OUTCOME", "OK"), lines[0])
    assert re.match(pattern.replace("METHOD", "raise_error").replace("OUTCOME", "ERROR"), lines[1])


def test_metrics_hook_counts_outcomes_and_latency(multiplexed):
    observed = []
    metrics = Metrics(on_call=lambda *event: observed.append(event))
    with Client(AllTypes, multiplexed.url, service_name="AllTypes", middleware=[metrics]) as client:
        client.add(1, 2)
        with pytest.raises(BadInput):
            client.raise_error(1)
    assert metrics.counts == {
        ("AllTypes", "add", "ok"): 1,
        ("AllTypes", "raise_error", "declared"): 1,
    }
    assert all(seconds >= 0 for *_, seconds in observed)


def test_rate_limit_smooths_a_burst_of_1000_calls():
    arrivals: list[float] = []
    lock = threading.Lock()

    class Stamping(CalculatorHandler):
        def add(self, num1, num2):
            with lock:
                arrivals.append(time.monotonic())
            return num1 + num2

    with (
        serve(Calculator.Processor(Stamping())) as server,
        Client(
            Calculator,
            server.url,
            pool_size=8,
            rate_limit="2000/s",
            rate_limit_burst=50,
            rate_limit_timeout=5,
        ) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        assert sum(pool.map(lambda i: client.add(i, 0), range(1000))) == sum(range(1000))
    arrivals.sort()
    assert len(arrivals) == 1000
    # In any 100 ms window at most rate * 0.1 + burst calls arrive (plus slack for jitter).
    worst = max(
        bisect.bisect_left(arrivals, arrivals[i] + 0.1) - i for i in range(0, len(arrivals), 10)
    )
    assert worst <= 2000 * 0.1 + 50 + 10
    assert arrivals[-1] - arrivals[0] >= (1000 - 50) / 2000 * 0.9


def test_rate_limit_timeout_raises_rate_limited():
    with Client(
        Calculator, "tcp://127.0.0.1:9", rate_limit="1/h", rate_limit_timeout=0.01
    ) as client:
        with pytest.raises(ConnectError):  # nothing listens there: the one token goes anyway
            client.add(1, 2)
        with pytest.raises(RateLimited, match="rate limit"):
            client.add(1, 2)


@pytest.mark.parametrize("rate", ["fast", "0/s", "10/fortnight", "-1/s"])
def test_bad_rate_limit(rate):
    with pytest.raises(ConfigError, match="invalid rate_limit"):
        Client(Calculator, "tcp://127.0.0.1:9090", rate_limit=rate)
