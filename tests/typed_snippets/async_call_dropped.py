"""An async call whose coroutine is never awaited (the call never happens)."""

from thrift_bridge.generated.demo import CustomerService


async def visit(customers: CustomerService.TypedAsyncClient) -> None:
    customers.record_visit(1)  # error
