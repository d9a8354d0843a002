"""Views: look a customer up through request.thrift.customers (sync) or aclients (async).

Bad input answers 400 (not a number), 404 (no such customer) or 422 (a number the service
cannot take); a failing service answers 502, 503 or 504 (`status_for`); never 500.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from thrift_bridge import ThriftBridgeError, to_dict
from thrift_bridge.adapters.django import aclients
from thrift_bridge.generated.demo.ttypes import CustomerNotFound

from ...http_status import failure_of
from ...lookups import customer_with_accounts

if TYPE_CHECKING:
    from collections.abc import Callable


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    """The lookup page with `context`, answered with `status`."""
    context = {"customer": None, "accounts": None, "error": None, **context}
    return render(request, "customers/lookup.html", context, status=status)


def _failure_response(request: HttpRequest, error: ThriftBridgeError) -> HttpResponse:
    """The answer (422, 502, 503 or 504) for a failed Thrift call; re-raises a bug."""
    failure = failure_of(error)
    if failure is None:
        raise error  # a configuration bug: a 500, with its traceback in the log
    if request.path.startswith("/api/"):
        return JsonResponse({"error": failure.detail}, status=failure.status)
    return _page(request, failure.status, error=failure.text)


def _thrift_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer the failure of the view's Thrift call (see `_failure_response`)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ThriftBridgeError as error:
            return _failure_response(request, error)

    return wrapper


@_thrift_errors
def lookup(request: HttpRequest) -> HttpResponse:
    """A form: customer number in, name and accounts out."""
    customer_id = request.GET.get("customer_id")
    if customer_id is None:
        return _page(request)
    try:
        number = int(customer_id)
    except ValueError:
        return _page(request, 400, error="Please enter a customer number.")
    try:
        with request.thrift.customers.connection() as service:  # type: ignore[attr-defined]
            customer = service.get_customer(number)
            accounts = service.accounts(customer.id)
    except CustomerNotFound as exc:
        return _page(request, 404, error=exc.message)
    return _page(request, customer=customer, accounts=accounts)


@_thrift_errors
def customer_json(request: HttpRequest, customer_id: int) -> JsonResponse:
    """The customer as JSON, with the worker's pid (to see pre-forked workers answer)."""
    try:
        customer = request.thrift.customers.get_customer(customer_id)  # type: ignore[attr-defined]
    except CustomerNotFound as exc:
        return JsonResponse({"error": exc.message, "pid": os.getpid()}, status=404)
    return JsonResponse({"customer": to_dict(customer), "pid": os.getpid()})


async def customer_json_async(request: HttpRequest, customer_id: int) -> JsonResponse:
    """`customer_json` as an async view: the customer and their accounts, fetched at once."""
    try:
        return JsonResponse(await customer_with_accounts(aclients["customers"], customer_id))
    except CustomerNotFound as exc:
        return JsonResponse({"error": exc.message, "pid": os.getpid()}, status=404)
    except ThriftBridgeError as error:
        return _failure_response(request, error)
