"""`python -m examples.asyncio_lookup`: the demo Thrift service called from asyncio tasks.

Serves the demo service on loopback (or uses the URL given as the first argument), then
looks customers up through one shared `AsyncClient`: one call, many tasks at once on a
pipelined connection, a declared exception, a pinned session and a cancelled call.
"""

from __future__ import annotations

import asyncio
import sys

from thrift_bridge import AsyncClient
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.generated.demo.ttypes import CustomerNotFound


async def lookup(url: str) -> None:
    """What an asyncio service does with the demo's customers."""
    async with AsyncClient(
        CustomerService, url, pipeline=8, timeout=2, idempotent={"get_customer"}
    ) as customers:
        ada = await customers.get_customer(1)
        print("one call:", ada.name)

        # 100 tasks share the client: up to 8 requests in flight per connection.
        found = await asyncio.gather(*(customers.get_customer(1 + i % 4) for i in range(100)))
        print("100 tasks:", sorted({c.name for c in found}))

        try:
            await customers.get_customer(99)
        except CustomerNotFound as missing:  # the IDL's exception, as the generated client raises
            print("declared exception:", missing.message)

        async with customers.connection() as pinned:  # one connection for several calls
            await pinned.record_visit(1)  # oneway: returns once the request is written
            print("pinned session, visits:", await pinned.visit_count(1))

        slow = asyncio.ensure_future(customers.search("A", 10))
        slow.cancel()  # the connection drains the reply it no longer wants
        try:
            await slow
        except asyncio.CancelledError:
            print("cancelled call: the connection stays in step:", (await customers.ping()))
        print("pool:", customers.stats())


def main() -> None:
    """Call the URL given, or serve the demo on loopback and call that."""
    if len(sys.argv) > 1:
        asyncio.run(lookup(sys.argv[1]))
        return
    from thrift_bridge.demo._service import CustomerServiceHandler
    from thrift_bridge.testing import serve

    with serve(CustomerService.Processor(CustomerServiceHandler())) as server:
        print(f"demo Thrift service at {server.url}")
        asyncio.run(lookup(server.url))


if __name__ == "__main__":
    main()
