"""A FastAPI route's Thrift client typed as the service's view: wrong calls fail the check."""

import os
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI

from thrift_bridge import AsyncClient
from thrift_bridge.adapters.starlette import thrift_client, thrift_lifespan

if TYPE_CHECKING:  # for type checkers and editors: the service's typed view
    from thrift_bridge.generated.demo.CustomerService import TypedAsyncClient as CustomerClient
else:  # what FastAPI sees at run time
    CustomerClient = AsyncClient
customers_dependency = Depends(thrift_client("customers"))

app = FastAPI(lifespan=thrift_lifespan(os.environ))


@app.get("/customers/{customer_id}")
async def customer(
    customer_id: int, customers: Annotated[CustomerClient, customers_dependency]
) -> dict[str, str]:
    return {"name": (await customers.get_customer(customer_id)).name}


@app.get("/wrong")
async def wrong(customers: Annotated[CustomerClient, customers_dependency]) -> str:
    return (await customers.get_customer("1")).name  # error
