"""An async call used without await: the result is a coroutine, not a Customer."""

from thrift_bridge.generated.demo import CustomerService


async def lookup(customers: CustomerService.TypedAsyncClient) -> None:
    customer = customers.get_customer(1)
    print(customer.name)  # error
