"""An in-memory CustomerService handler, used by the demo command and the test-suite."""

from __future__ import annotations

import threading
from collections import Counter

from thrift_bridge.generated.demo.ttypes import (
    Account,
    AccountStatus,
    Address,
    Customer,
    CustomerNotFound,
)

__all__ = ["CustomerServiceHandler", "sample_accounts", "sample_customers"]


def sample_customers() -> list[Customer]:
    """A fresh copy of the demo's customers."""
    return [
        Customer(
            id=1,
            name="Ada Lovelace",
            email="ada@example.org",
            address=Address(street="12 St James's Square", city="London", postcode="SW1Y 4JH"),
            tags=["vip"],
        ),
        Customer(
            id=2,
            name="Alan Turing",
            email="alan@example.org",
            address=Address(street="Bletchley Park", city="Milton Keynes", postcode="MK3 6EB"),
            tags=[],
        ),
        Customer(id=3, name="Grace Hopper", email=None, address=None, tags=["navy"]),
        Customer(
            id=4,
            name="Alonzo Church",
            address=Address(street="Fine Hall", city="Princeton", country="US"),
            tags=[],
        ),
    ]


def sample_accounts() -> list[Account]:
    """A fresh copy of the demo's accounts."""
    return [
        Account(id=101, customer_id=1, currency="GBP", balance_cents=1_250_00),
        Account(id=102, customer_id=1, currency="EUR", balance_cents=-45_10),
        Account(
            id=201,
            customer_id=2,
            currency="GBP",
            balance_cents=0,
            status=AccountStatus.FROZEN,
        ),
        Account(
            id=301,
            customer_id=3,
            currency="USD",
            balance_cents=99_999_99,
            status=AccountStatus.CLOSED,
        ),
    ]


class CustomerServiceHandler:
    """Implements ``demo.CustomerService.Iface`` over a small in-memory data set.

    Example::

        processor = CustomerService.Processor(CustomerServiceHandler())
    """

    def __init__(self) -> None:
        self._customers = {c.id: c for c in sample_customers()}
        self._accounts = sample_accounts()
        self._visits: Counter[int] = Counter()
        self._lock = threading.Lock()

    def ping(self) -> str:
        """Answer a liveness check."""
        return "pong"

    def get_customer(self, id: int) -> Customer:
        """The customer with this id, or CustomerNotFound."""
        try:
            return self._customers[id]
        except KeyError:
            raise CustomerNotFound(message=f"no customer with id {id}", customer_id=id) from None

    def search(self, name_prefix: str, limit: int) -> list[Customer]:
        """Customers whose name starts with the prefix (case-insensitive), at most limit."""
        prefix = name_prefix.casefold()
        found = [c for c in self._customers.values() if c.name.casefold().startswith(prefix)]
        return sorted(found, key=lambda c: c.id)[: max(limit, 0)]

    def accounts(self, customer_id: int) -> list[Account]:
        """Every account of the customer, oldest first."""
        return [a for a in self._accounts if a.customer_id == customer_id]

    def record_visit(self, customer_id: int) -> None:
        """Count a visit (oneway: the caller gets no reply)."""
        with self._lock:
            self._visits[customer_id] += 1

    def visit_count(self, customer_id: int) -> int:
        """How many visits were recorded for the customer."""
        with self._lock:
            return self._visits[customer_id]
