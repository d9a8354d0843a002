"""Awaiting a call of the sync client."""

from thrift_bridge import Client
from thrift_bridge.generated.demo import CustomerService


async def lookup(url: str) -> None:
    customers = Client(CustomerService, url)
    print(await customers.get_customer(1))  # error
