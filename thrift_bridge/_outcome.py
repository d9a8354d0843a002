"""How a call that raised ends: the one decision every call path makes, sync or async. No I/O.

The server's answers (IDL-declared exceptions and `TApplicationException`) leave the
connection in step: it goes back to the pool. So does any error raised before a byte of the
request was written (an argument that cannot be encoded, say). Anything else may have left
half a request or half a reply on the wire: the connection is closed. A wire failure is ours
(`TransportError`), and only a wire failure may be worth another attempt, which the retry
policy then allows or not.
"""

from __future__ import annotations

from typing import NamedTuple

from ._exceptions import ThriftBridgeError, TransportError, wrap_error

__all__ = ["Outcome", "describe_attempt", "final_error", "settle", "with_attempts"]


class Outcome(NamedTuple):
    """What becomes of a call that raised, and of its connection."""

    keep: bool  #: the connection is in step: back to the pool (or the pinned session)
    error: BaseException  #: what the caller gets: the server's answer unchanged, or ours
    retryable: bool  #: a wire failure: another attempt may succeed (the policy decides)


def settle(
    exc: BaseException,
    answers: tuple[type[BaseException], ...],
    *,
    written: bool,
    sent: bool,
    endpoint: str,
    method: str,
) -> Outcome:
    """How a call that raised `exc` ends.

    `answers` are the exceptions that are the server's answer (declared and application
    ones); `written` says whether any byte of the request reached the wire, `sent` whether
    all of it did (then decoding errors of the reply are wire errors too).
    """
    if isinstance(exc, answers):
        return Outcome(True, exc, False)
    error = wrap_error(exc, endpoint, method, reading=sent)
    if isinstance(error, TransportError):
        return Outcome(False, error, True)
    # Not a wire error (an argument that does not fit, an interrupt, a bug): the connection
    # is in step as long as nothing of the request reached the wire.
    return Outcome(not written, exc if error is None else error, False)


def final_error(outcome: Outcome, cause: BaseException) -> BaseException:
    """What the caller gets (to raise as it is): the outcome's error, chained to the original
    one when it was mapped, as ``raise error from cause`` would. Raised by the caller, not
    here: a frame the error leaves through must not keep it (`_steps`, no cycle)."""
    error = outcome.error
    if error is not cause and isinstance(error, ThriftBridgeError) and error.__cause__ is None:
        error.__cause__ = cause  # also hides the context, as `from` does
    return error


def describe_attempt(url: str, exc: BaseException) -> str:
    """One failed attempt, for logs and the final error: where, and why."""
    return f"{url}: {type(exc).__name__}: {getattr(exc, 'message', None) or exc}"


def with_attempts(error: BaseException, attempts: list[tuple[str, BaseException]]) -> BaseException:
    """`error` (ours) with every failed attempt of its call listed, endpoint and why, when
    there was more than one; the server's answers are left as they came."""
    if len(attempts) < 2 or not isinstance(error, ThriftBridgeError):
        return error
    counts: dict[str, int] = {}  # each endpoint and reason once, in order, with its count
    for url, exc in attempts:
        attempt = describe_attempt(url, exc)
        counts[attempt] = counts.get(attempt, 0) + 1
    if len(counts) == 1:
        error.message = f"{error.message} [{len(attempts)} attempts, each so]"
    else:
        tried = "; ".join(f"{text} (x{n})" if n > 1 else text for text, n in counts.items())
        error.message = f"{error.message} [{len(attempts)} attempts: {tried}]"
    error.args = (error.message,)
    return error
