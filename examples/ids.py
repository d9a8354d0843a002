"""Customer ids as the demo IDL declares them (i64), checked before any call is made.

Apache's codec cannot send an i64 outside its range (it raises `OverflowError` inside the call),
so the examples refuse such ids as bad input: a 400 or 422, or the form's message.
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
