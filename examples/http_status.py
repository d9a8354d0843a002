"""What a web view answers when a Thrift call fails (shared by the Flask and Django examples).

A value from the user that the service cannot take is the user's mistake (422); any other
failure of the service gets `thrift_bridge.adapters.errors.status_for`'s status (502 down or
garbled, 503 busy or limited, 504 too slow) and the same page text. Anything else is a bug in
the app and stays a 500.
"""

from __future__ import annotations

from typing import NamedTuple

from thrift_bridge import ArgumentError
from thrift_bridge.adapters.errors import status_for

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
    status = status_for(error)
    if status is None:
        return None
    return Failure(status, _UNAVAILABLE, _UNAVAILABLE)
