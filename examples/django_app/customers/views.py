"""Views: look a customer up through request.thrift.customers (sync) or aclients (async)."""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from thrift_bridge import to_dict
from thrift_bridge.adapters.django import aclients
from thrift_bridge.generated.demo.ttypes import CustomerNotFound

from ...ids import MAX_ID, parse_customer_id
from ...lookups import customer_with_accounts


def lookup(request: HttpRequest) -> HttpResponse:
    """A form: customer number in, name and accounts out."""
    customer = accounts = error = None
    customer_id = request.GET.get("customer_id")
    if customer_id is not None:
        number = parse_customer_id(customer_id)
        if number is None:
            error = "Please enter a customer number."
        else:
            try:
                with request.thrift.customers.connection() as service:  # type: ignore[attr-defined]
                    customer = service.get_customer(number)
                    accounts = service.accounts(customer.id)
            except CustomerNotFound as exc:
                error = exc.message
    context = {"customer": customer, "accounts": accounts, "error": error}
    return render(request, "customers/lookup.html", context)


def _out_of_range(customer_id: int) -> JsonResponse | None:
    """A 400 for an id the IDL's i64 cannot carry (the URL converter takes any size)."""
    if parse_customer_id(customer_id) is not None:
        return None
    return JsonResponse({"error": f"customer ids are 1 to {MAX_ID}"}, status=400)


def customer_json(request: HttpRequest, customer_id: int) -> JsonResponse:
    """The customer as JSON, with the worker's pid (to see pre-forked workers answer)."""
    refused = _out_of_range(customer_id)
    if refused is not None:
        return refused
    try:
        customer = request.thrift.customers.get_customer(customer_id)  # type: ignore[attr-defined]
    except CustomerNotFound as exc:
        return JsonResponse({"error": exc.message, "pid": os.getpid()}, status=404)
    return JsonResponse({"customer": to_dict(customer), "pid": os.getpid()})


async def customer_json_async(request: HttpRequest, customer_id: int) -> JsonResponse:
    """`customer_json` as an async view: the customer and their accounts, fetched at once."""
    refused = _out_of_range(customer_id)
    if refused is not None:
        return refused
    try:
        return JsonResponse(await customer_with_accounts(aclients["customers"], customer_id))
    except CustomerNotFound as exc:
        return JsonResponse({"error": exc.message, "pid": os.getpid()}, status=404)
