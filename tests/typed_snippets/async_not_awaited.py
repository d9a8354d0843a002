"""An async call used without await: the result is a coroutine, not a Customer."""

from thrift_bridge import AsyncClient
from thrift_bridge.generated.demo import CustomerService


async def lookup(url: str) -> None:
    customers = AsyncClient(CustomerService, url)
    customer = customers.get_customer(1)
    print(customer.name)  # error
