"""Customer lookup on FastAPI: a JSON API and a small HTML page, calling the demo Thrift service.

Run it with ``make fastapi-example`` (which also starts the demo Thrift server), or point
``CUSTOMERS_THRIFT_URL`` at any server of ``idl/demo.thrift`` and run
``uvicorn examples.fastapi_app.app:app --workers 3``.
"""

from __future__ import annotations

import html
import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from thrift_bridge import AsyncClient, PoolError, RateLimited, TransportError, to_dict
from thrift_bridge.adapters.errors import status_for
from thrift_bridge.adapters.starlette import CancelOnDisconnect, thrift_client, thrift_lifespan
from thrift_bridge.generated.demo.ttypes import CustomerNotFound

from ..ids import MAX_ID, parse_customer_id
from ..lookups import customer_with_accounts

#: What a view declares to get the app's pooled client of the "customers" alias.
Customers = Annotated[AsyncClient, Depends(thrift_client("customers"))]


def config_from_env() -> dict[str, Any]:
    """The registry configuration: one alias, its URL from ``CUSTOMERS_THRIFT_URL``."""
    return {
        "customers": {
            "service": "thrift_bridge.generated.demo.CustomerService",
            "url": os.environ.get("CUSTOMERS_THRIFT_URL", "tcp://127.0.0.1:9090"),
            "pool_size": 4,
            "pool_timeout": 2,
            "idempotent": ["ping", "get_customer", "search", "accounts"],
            "options": {"timeout": 2, "connect_timeout": 1},
        }
    }


async def thrift_failed(request: Request, exc: Exception) -> JSONResponse:
    """A failing Thrift service fails only the requests that call it: 502, 503 or 504."""
    status = status_for(exc) or 500
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)


def create_app(config: Any = None) -> FastAPI:
    """The app: clients built at startup from `config` (default: `config_from_env()`)."""
    app = FastAPI(
        title="Customer lookup",
        lifespan=thrift_lifespan(config_from_env() if config is None else config),
    )
    app.add_middleware(CancelOnDisconnect)  # a client that hangs up cancels its Thrift calls
    for error in (TransportError, PoolError, RateLimited):
        app.add_exception_handler(error, thrift_failed)

    @app.get("/api/customers/{customer_id}")
    async def customer_json(
        customer_id: Annotated[int, Path(ge=1, le=MAX_ID)], customers: Customers
    ) -> JSONResponse:
        """The customer and their accounts (two calls at once), with the worker's pid."""
        try:
            return JSONResponse(await customer_with_accounts(customers, customer_id))
        except CustomerNotFound as exc:
            return JSONResponse({"error": exc.message, "pid": os.getpid()}, status_code=404)

    @app.get("/api/customers")
    async def search_json(
        customers: Customers,
        prefix: Annotated[str, Query(min_length=1, max_length=100)],
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> list[dict[str, Any]]:
        """Customers whose name starts with `prefix`."""
        return [to_dict(found) for found in await customers.search(prefix, limit)]

    @app.get("/", response_class=HTMLResponse)
    async def lookup(
        customers: Customers, text: Annotated[str, Query(alias="customer_id")] = ""
    ) -> str:
        """A form: customer number in, name and e-mail out."""
        found = error = ""
        if text:
            number = parse_customer_id(text)
            if number is None:
                error = "Please enter a customer number."
            else:
                try:
                    customer = await customers.get_customer(number)
                except CustomerNotFound as exc:
                    error = exc.message
                else:
                    found = FOUND.format(
                        name=html.escape(customer.name), email=html.escape(customer.email or "")
                    )
        return PAGE.format(
            value=html.escape(text, quote=True),
            error=f'<p class="error">{html.escape(error)}</p>' if error else "",
            found=found,
        )

    return app


PAGE = """<!doctype html>
<title>Customer lookup</title>
<h1>Customer lookup</h1>
<form method="get">
  <label>Customer number
    <input name="customer_id" inputmode="numeric" value="{value}" autofocus></label>
  <button type="submit">Look up</button>
</form>
{error}{found}
"""
FOUND = "<h2>{name}</h2>\n<p>{email}</p>\n"

app = create_app()
