"""What a web view answers when a Thrift call fails (shared by the Flask and Django examples).

A value from the user that the service cannot take is the user's mistake (422); a service
that cannot be reached or is saturated is a temporary outage (503); one that answered badly or
too late is a bad gateway (502). Anything else is a bug in the app and stays a 500.
"""

from __future__ import annotations

from typing import NamedTuple

from thrift_bridge import ArgumentError, ConnectError, PoolError, RateLimited, TransportError

__all__ = ["Failure", "failure_of"]

_UNAVAILABLE = "The customer service is unavailable; please try again shortly."


class Failure(NamedTuple):
    """The answer to a failed call: status, text for a page, detail for an API client."""

    status: int
    text: str
    detail: str


def failure_of(error: BaseException) -> Failure | None:
    """The answer for a failed Thrift call; None when the error is a bug (let it be a 500)."""
    if isinstance(error, ArgumentError):
        # The message names the method, the argument and what it accepts; no endpoint.
        return Failure(422, "That customer number is out of range.", error.message)
    if isinstance(error, (ConnectError, PoolError, RateLimited)):
        return Failure(503, _UNAVAILABLE, _UNAVAILABLE)
    if isinstance(error, TransportError):
        return Failure(502, _UNAVAILABLE, _UNAVAILABLE)
    return None
