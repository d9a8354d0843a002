"""An async call whose coroutine is never awaited (the call never happens)."""

from thrift_bridge import AsyncClient
from thrift_bridge.generated.demo import CustomerService


async def visit(url: str) -> None:
    customers = AsyncClient(CustomerService, url)
    customers.record_visit(1)  # error
