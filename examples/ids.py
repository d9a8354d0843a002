"""Customer ids as the demo IDL declares them (i64 >= 1), for the FastAPI example's inputs.

Its path parameter is declared with `MAX_ID` (FastAPI answers 422 past it) and its form's
value goes through `parse_customer_id` (the form's message), so such ids are refused before
any call; the call itself would raise `ArgumentError` for an id past the i64 range.
"""

from __future__ import annotations

#: The largest customer id (and the smallest is 1).
MAX_ID = 2**63 - 1


def parse_customer_id(text: str | int) -> int | None:
    """The customer id in `text` (a form field, a path part), or None if it is not one."""
    try:
        number = int(text)
    except ValueError:
        return None
    return number if 1 <= number <= MAX_ID else None
