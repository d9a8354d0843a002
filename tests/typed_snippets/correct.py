"""Correct uses of the demo's typed clients: mypy --strict and pyright --strict accept them.

Type-checked by tests/test_typed_clients.py, never run.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import thrift_bridge
from thrift_bridge import AsyncClient, Client
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.generated.demo.ttypes import Account, AccountStatus, Customer, CustomerNotFound


def lookup(url: str) -> str:
    customers = Client(CustomerService, url, timeout=2, retries=1)
    assert_type(customers, CustomerService.TypedClient)
    customer = customers.get_customer(1)
    assert_type(customer, Customer)
    email: str | None = customer.email
    tags: list[str] = customer.tags
    assert_type(customers.search("A", limit=10), list[Customer])
    accounts: list[Account] = customers.accounts(customer.id)
    frozen = accounts[0].status == AccountStatus.FROZEN
    customers.record_visit(customer.id)  # oneway: returns None
    with customers.connection() as pinned:
        assert_type(pinned, CustomerService.TypedPinnedClient)
        visits: int = pinned.visit_count(customer.id)
    try:
        customers.get_customer(2)
    except CustomerNotFound as error:
        missing: int | None = error.customer_id
        print(missing)
    stats: dict[str, int] = customers.stats()
    print(email, tags, frozen, visits, stats, customers.call("ping"), customers.methods)
    print(customers.invoke("get_customer", {"id": 1}))
    customers.close()
    with Client(CustomerService, url) as scoped:
        assert_type(scoped, CustomerService.TypedClient)
    return customer.name


def handler_sees_the_server_side() -> None:
    class Handler(CustomerService.Iface):
        def get_customer(self, id: int) -> Customer:
            return Customer(id=id, name="Ada")

    processor = CustomerService.Processor(Handler())
    print(processor)


def untyped(service: Any, url: str) -> None:
    # A module without stubs, or one load() returned, is called as before: untyped.
    client = Client(service, url)
    client.anything(1)
    shop = thrift_bridge.load("shop.thrift")
    Client(shop.Shop, url).get_item(1)


async def lookup_async(url: str) -> str:
    async with AsyncClient(CustomerService, url, pipeline=4) as customers:
        assert_type(customers, CustomerService.TypedAsyncClient)
        customer = await customers.get_customer(1)
        assert_type(customer, Customer)
        await customers.record_visit(customer.id)
        async with customers.connection() as pinned:
            assert_type(pinned, CustomerService.TypedAsyncPinnedClient)
            visits: int = await pinned.visit_count(customer.id)
        print(visits, customers.stats(), await customers.call("ping"))
        print(await customers.invoke("get_customer", {"id": 1}))
        await customers.aclose()
        return customer.name
