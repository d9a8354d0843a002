"""The async examples' customer lookup: a customer and their accounts, fetched at once."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from thrift_bridge import to_dict


async def customer_with_accounts(customers: Any, customer_id: int) -> dict[str, Any]:
    """The customer and their accounts as plain data, with the worker's pid.

    Both calls run to their end (none is left behind the response); then the first failure
    is raised, the customer's (`CustomerNotFound`) before the accounts'.
    """
    outcomes: tuple[Any, Any] = await asyncio.gather(
        customers.get_customer(customer_id), customers.accounts(customer_id), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    customer, accounts = outcomes
    return {
        "customer": to_dict(customer),
        "accounts": [to_dict(account) for account in accounts],
        "pid": os.getpid(),
    }
