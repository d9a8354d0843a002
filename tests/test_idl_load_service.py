"""A loaded service works wherever a compiled one does: `Client`, servers, `invoke`, registries."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import thrift_bridge
from thrift_bridge.adapters import ClientRegistry
from thrift_bridge.generated.demo import CustomerService as GeneratedCustomerService
from thrift_bridge.generated.demo import ttypes as generated_types

from .handlers import CustomerServiceHandler

ROOT = Path(__file__).resolve().parent.parent
WIRES = [
    {"protocol": "binary"},
    {"protocol": "compact", "transport": "framed"},
    {"protocol": "json"},
    {"protocol": "binary", "transport": "header"},
]


@pytest.fixture(scope="module")
def demo() -> Any:
    """idl/demo.thrift, loaded."""
    return thrift_bridge.load(ROOT / "idl" / "demo.thrift")


class LoadedDemoHandler:
    """The demo service written against the loaded module's own types."""

    def __init__(self, demo: Any) -> None:
        self.demo = demo
        self.visits: Counter[int] = Counter()
        self.lock = threading.Lock()

    def ping(self) -> str:
        return "pong"

    def get_customer(self, id: int) -> Any:
        if id != 1:
            raise self.demo.CustomerNotFound(message=f"no customer {id}", customer_id=id)
        address = self.demo.Address(street="1 Main St", city="Leeds")
        return self.demo.Customer(id=1, name="Ada", address=address, tags=["vip"])

    def search(self, name_prefix: str, limit: int) -> list[Any]:
        return [self.get_customer(1)][:limit] if "ada".startswith(name_prefix.lower()) else []

    def accounts(self, customer_id: int) -> list[Any]:
        status = self.demo.AccountStatus.FROZEN
        return [
            self.demo.Account(
                id=7, customer_id=customer_id, currency="GBP", balance_cents=-5, status=status
            )
        ]

    def record_visit(self, customer_id: int) -> None:
        with self.lock:
            self.visits[customer_id] += 1

    def visit_count(self, customer_id: int) -> int:
        with self.lock:
            return self.visits[customer_id]


def _exercise(client: Any, demo: Any, handler: Any) -> None:
    """Every method of the demo service through `client`: the handler's answers, as the
    loaded module's types (compared field by field with `to_dict`)."""
    plain = thrift_bridge.to_dict
    assert client.ping() == "pong"
    customer = client.get_customer(1)
    assert type(customer) is demo.Customer
    assert type(customer.address) is demo.Address
    assert plain(customer) == plain(handler.get_customer(1))
    with pytest.raises(demo.CustomerNotFound) as info:
        client.get_customer(42)
    assert info.value.customer_id == 42
    assert [plain(c) for c in client.search("a", 5)] == [plain(c) for c in handler.search("a", 5)]
    assert client.search("zz", 5) == []
    assert [plain(a) for a in client.accounts(1)] == [plain(a) for a in handler.accounts(1)]
    client.record_visit(3)
    client.record_visit(3)
    assert client.visit_count(3) == 2  # oneway calls arrive before the next call's reply


@pytest.mark.parametrize("wire", WIRES, ids=lambda w: "-".join(w.values()))
def test_loaded_client_against_loaded_processor(demo, thrift_server, wire) -> None:
    handler = LoadedDemoHandler(demo)
    server = thrift_server(demo.CustomerService.Processor(handler), **wire)
    with thrift_bridge.Client(demo.CustomerService, server.url, pool_size=1) as client:
        _exercise(client, demo, LoadedDemoHandler(demo))
        (account,) = client.accounts(1)
        assert account == demo.Account(
            id=7, customer_id=1, currency="GBP", balance_cents=-5, status=demo.AccountStatus.FROZEN
        )


@pytest.mark.parametrize("wire", WIRES, ids=lambda w: "-".join(w.values()))
def test_loaded_client_against_generated_processor(demo, thrift_server, wire) -> None:
    server = thrift_server(GeneratedCustomerService.Processor(CustomerServiceHandler()), **wire)
    with thrift_bridge.Client(demo.CustomerService.Client, server.url, pool_size=1) as client:
        _exercise(client, demo, CustomerServiceHandler())


def test_generated_client_against_loaded_processor(demo, thrift_server) -> None:
    server = thrift_server(demo.CustomerService.Processor(LoadedDemoHandler(demo)))
    with thrift_bridge.Client(GeneratedCustomerService, server.url, pool_size=1) as client:
        customer = client.get_customer(1)
        assert type(customer) is generated_types.Customer
        assert customer.name == "Ada"
        with pytest.raises(generated_types.CustomerNotFound):
            client.get_customer(2)


def test_plain_data_and_registry(demo, thrift_server) -> None:
    server = thrift_server(demo.CustomerService.Processor(LoadedDemoHandler(demo)))
    with thrift_bridge.Client(demo.CustomerService, server.url) as client:
        plain = client.invoke("get_customer", {"id": 1})
        assert plain["name"] == "Ada"
        assert plain["tags"] == ["vip"]
        assert client.invoke("accounts", {"customer_id": 1})[0]["status"] == 2
    registry = ClientRegistry(
        {"demo": {"service": demo.CustomerService.__name__, "url": server.url}}
    )
    try:
        assert registry["demo"].ping() == "pong"
    finally:
        registry.close()


def test_extends_across_included_files(thrift_server) -> None:
    includer = thrift_bridge.load(ROOT / "tests" / "idl_corpus" / "includer.thrift")
    shared, deep = includer.shared, includer.deep
    pokes: list[int] = []

    class Handler:
        def ping(self) -> str:
            return "pong"

        def poke(self, times: int) -> None:
            pokes.append(times)

        def deepen(self, header: Any) -> Any:
            return deep.Deep(header=header)

        def wrap(self, header: Any, deep_value: Any) -> Any:
            if header.level == shared.Level.HIGH:
                raise shared.Denied(reason="too high", level=header.level)
            return includer.Envelope(header=header, deep=deep_value)

        def level_of(self, envelope: Any) -> int:
            return envelope.level

    server = thrift_server(includer.Child.Processor(Handler()))
    with thrift_bridge.Client(includer.Child, server.url, pool_size=1) as client:
        assert client.ping() == "pong"  # from shared.Base, two files up
        client.poke(3)
        header = shared.Header(request_id="r1")
        assert client.deepen(header).header == header
        envelope = client.wrap(header, deep.Deep())
        assert envelope.limit == shared.LIMIT
        assert client.level_of(envelope) == shared.Level.HIGH
        with pytest.raises(shared.Denied, match="too high"):
            client.wrap(shared.Header(level=shared.Level.HIGH), deep.Deep())
    assert pokes == [3]


@pytest.mark.parametrize("protocol", ["binary", "compact"])
def test_loaded_client_takes_the_fast_path_like_a_compiled_one(demo, protocol) -> None:
    """codec.py calls a method by the C codec only when `<method>_args.__init__` has exactly
    the method's parameters, as in generated code; a loaded service must qualify too."""
    from thrift_bridge._codec._binary import binary_methods  # the codec is the unit here

    endpoint = thrift_bridge.parse_url(f"tcp://127.0.0.1:1?protocol={protocol}")
    compiled = binary_methods(GeneratedCustomerService.Client, None, endpoint)
    loaded = binary_methods(demo.CustomerService.Client, None, endpoint)
    assert (
        sorted(loaded)
        == sorted(compiled)
        == sorted(["ping", "get_customer", "search", "accounts", "record_visit", "visit_count"])
    )


def test_invoker_over_a_multiplexed_server_of_loaded_and_compiled_services(demo) -> None:
    from thrift.TMultiplexedProcessor import TMultiplexedProcessor

    from thrift_bridge.testing import serve

    calculator = thrift_bridge.load(ROOT / "idl" / "calculator.thrift")

    class Calculator:
        def add(self, num1: int, num2: int) -> int:
            return num1 + num2

        def divide(self, a: float, b: float) -> float:
            if b == 0:
                raise calculator.DivideByZero(message="b is 0")
            return a / b

    processor = TMultiplexedProcessor()
    processor.registerProcessor("Calculator", calculator.Calculator.Processor(Calculator()))
    processor.registerProcessor(
        "Demo", GeneratedCustomerService.Processor(CustomerServiceHandler())
    )
    with serve(processor) as server:
        services = {"Calculator": calculator.Calculator, "Demo": demo.CustomerService}
        with thrift_bridge.Invoker(server.url, services=services) as invoker:
            assert invoker.invoke("Calculator.add", {"num1": 2, "num2": 3}) == 5
            assert invoker.invoke("Demo.ping") == "pong"
            with pytest.raises(calculator.DivideByZero):
                invoker["Calculator"].divide(1.0, 0.0)
