"""Deadlines: one time budget for a block of calls, every attempt and retry included. No I/O.

::

    with thrift_bridge.deadline(0.2):
        customers.get_customer(1)    # connect, send, read and any retry: 0.2 s in all
        orders.list_orders(1)        # ...sharing what the first call left

A deadline is a point on the monotonic clock kept in a context variable, so every thread and
every asyncio task sees its own (a task starts with the deadline in force where it was
created), and a nested block keeps the earlier of its own and the enclosing one (gRPC's rule).
The scope is a plain class, not ``@contextmanager``: contextlib writes ``__traceback__`` on the
exception passing through, and the exceptions Apache's compiler generates are immutable, so
a declared exception raised inside such a block would turn into a ``TypeError``.

The remaining budget travels to servers as baseplate.py's THeader header ``Deadline-Budget``
(and as an HTTP request header of that name over http and https): whole milliseconds, rounded
up (its client sends ``ceil(seconds * 1000)``, its server reads ``float(value) / 1000``).
Time is always a parameter here (``now``, monotonic seconds), so the sync and async shells
pass ``time.monotonic()`` and tests pass whatever they like.
"""

from __future__ import annotations

import contextvars
import math
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from ._exceptions import ConfigError, DeadlineExceeded, Timeout, shown

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "BUDGET_HEADER",
    "IN_FORCE",
    "DeadlineProcessor",
    "DeadlineScope",
    "attempt_timeout",
    "budget_from_headers",
    "current",
    "deadline",
    "decode_budget",
    "encode_budget",
    "exceeded",
    "expired",
    "outgoing_budget",
    "pinned_timeout",
    "remaining",
    "stopped_by_deadline",
]

#: baseplate.py's THeader header with the caller's remaining budget in milliseconds.
BUDGET_HEADER = "Deadline-Budget"


class _Deadline(NamedTuple):
    """The deadline in force: when it passes, and the budget its block was given."""

    at: float  #: monotonic seconds
    budget: float  #: seconds, as given to `deadline()` (for messages)


_CURRENT: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "thrift_bridge_deadline", default=None
)
#: The deadline in force (anything but None), for the shells' one check per call.
IN_FORCE = _CURRENT.get


def _check_seconds(seconds: object) -> float | None:
    """`seconds` as a float >= 0, or None; anything else raises `ConfigError`."""
    if seconds is None:
        return None
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not (0 <= seconds < math.inf)
    ):
        raise ConfigError(
            f"invalid deadline {shown(seconds)} "
            "(expected a number of seconds >= 0, or None for none)"
        )
    try:
        return float(seconds)
    except OverflowError:  # an int past the largest float
        raise ConfigError(
            f"invalid deadline {shown(seconds)} (expected a number of seconds a float can hold)"
        ) from None


class DeadlineScope:
    """One ``with deadline(...)`` block: its deadline from entry to exit, then the outer one.

    ``remaining(now)`` tells the budget left; ``at`` is the deadline in force inside the block
    (None without any). A scope is entered once at a time.
    """

    __slots__ = ("_now", "_token", "at", "seconds")

    def __init__(self, seconds: float | None, now: float | None = None):
        #: The budget this block asks for (None: only the enclosing block's, if any).
        self.seconds = _check_seconds(seconds)
        self._now = now
        self._token: contextvars.Token[_Deadline | None] | None = None
        #: The deadline in force inside the block, set on entry (monotonic seconds).
        self.at: float | None = None

    def __enter__(self) -> DeadlineScope:
        if self._token is not None:
            raise RuntimeError("this deadline block is already entered (make a new one)")
        outer = _CURRENT.get()
        inner = outer
        if self.seconds is not None:
            now = time.monotonic() if self._now is None else self._now
            mine = _Deadline(now + self.seconds, self.seconds)
            inner = mine if outer is None or mine.at < outer.at else outer
        self.at = None if inner is None else inner.at
        self._token = _CURRENT.set(inner)
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Returning None lets any exception through untouched (never re-raised or edited).
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None

    def remaining(self, now: float) -> float | None:
        """Seconds left in this block at `now` (<= 0 once passed), None without a deadline."""
        return None if self.at is None else self.at - now


def deadline(seconds: float | None, *, now: float | None = None) -> DeadlineScope:
    """A block whose calls, retries included, must end within `seconds` (or the outer deadline).

    `seconds=None` adds no deadline of its own, so ``with deadline(budget_from_headers(h)):``
    works whether or not the caller sent one. `now` pins the start (tests); by default the
    block starts at ``time.monotonic()`` on entry::

        with deadline(0.5):
            client.get_customer(1)
    """
    return DeadlineScope(seconds, now)


def current() -> float | None:
    """The deadline in force in this thread or task (monotonic seconds), or None."""
    found = _CURRENT.get()
    return None if found is None else found.at


def remaining(now: float) -> float | None:
    """Seconds left at `now` (zero or less once passed), or None without a deadline."""
    found = _CURRENT.get()
    return None if found is None else found.at - now


def expired(now: float) -> bool:
    """Whether a deadline is in force and has passed at `now`."""
    found = _CURRENT.get()
    return found is not None and now >= found.at


def stopped_by_deadline(error: BaseException, cut: bool, now: float) -> bool:
    """Whether `error` (raised at `now`) is the deadline's: a timeout of a timer `cut` to it,
    which may fire a moment early (uvloop's millisecond clock), or one after it passed."""
    return isinstance(error, Timeout) and (cut or expired(now))


def exceeded(
    now: float, *, method: str | None = None, endpoint: str | None = None
) -> DeadlineExceeded:
    """The error for a call stopped by the deadline in force (raise it ``from`` the cause)."""
    found = _CURRENT.get()
    if found is None:
        message = "deadline exceeded"
    else:
        late = now - found.at
        message = (
            f"deadline exceeded: the {found.budget:g}s budget of the enclosing deadline() block "
            "ran out" + (f" {late:.3f}s ago" if late > 0.0005 else "")
        )
    return DeadlineExceeded(message, method=method, endpoint=endpoint)


def attempt_timeout(
    timeout: float, now: float, *, method: str | None = None, endpoint: str | None = None
) -> float:
    """The timeout for one attempt: `timeout`, cut to the budget left; raises
    `DeadlineExceeded` when nothing is left (before anything is sent)."""
    left = remaining(now)
    if left is None:
        return timeout
    if left <= 0:
        raise exceeded(now, method=method, endpoint=endpoint)
    return min(timeout, left)


def pinned_timeout(
    timeout: float,
    now: float,
    headers: dict[str, str] | None,
    *,
    method: str | None = None,
    endpoint: str | None = None,
) -> float | None:
    """For a call on a pinned connection: `timeout` cut to the deadline in force (None without
    one), the budget written into `headers` when given; `DeadlineExceeded` when none is left."""
    left = remaining(now)
    if left is None:
        return None
    cut = attempt_timeout(timeout, now, method=method, endpoint=endpoint)
    if headers is not None:
        headers[BUDGET_HEADER] = encode_budget(left)
    return cut


def encode_budget(seconds: float) -> str:
    """`seconds` as a ``Deadline-Budget`` value: whole milliseconds rounded up, at least 1."""
    return str(max(1, math.ceil(seconds * 1000)))


def outgoing_budget(now: float) -> str | None:
    """The ``Deadline-Budget`` value of a request sent at `now`: what the deadline in force
    leaves, or None without one (HTTP requests carry it as a header of their own)."""
    found = _CURRENT.get()
    return None if found is None else encode_budget(found.at - now)


def decode_budget(value: str | bytes) -> float | None:
    """Seconds from a ``Deadline-Budget`` value, or None when it is not a number of ms >= 0."""
    try:
        text = value.decode("ascii") if isinstance(value, bytes) else value
        milliseconds = float(text.strip())
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None
    if not 0 <= milliseconds < math.inf:
        return None
    return milliseconds / 1000


def budget_from_headers(headers: Mapping[str, str] | Mapping[bytes, bytes]) -> float | None:
    """The caller's budget in seconds from request headers, or None: THeader's
    ``get_headers()``, or an HTTP request's headers (bytes or text, any case). An HTTP server
    runs the processor inside ``with deadline(budget_from_headers(request.headers)):``, so the
    handler's own calls inherit what is left (THeader servers: `DeadlineProcessor`)."""
    wanted = BUDGET_HEADER.lower()
    for key, value in headers.items():
        name = key.decode("latin-1") if isinstance(key, bytes) else key
        if name.lower() == wanted:
            return decode_budget(value)
    return None


class DeadlineProcessor:
    """Wrap a Thrift processor so each request runs within the budget its caller sent.

    A THeader request carrying ``Deadline-Budget`` runs its handler inside ``deadline(budget)``,
    so the handler's own calls through thrift-bridge share what is left of the caller's time;
    other requests run as before. Wraps any processor (generated, multiplexed, or another
    wrapper)::

        processor = DeadlineProcessor(CustomerService.Processor(handler))
        server = TServer.TThreadedServer(
            processor, socket, THeaderTransportFactory(), THeaderProtocolFactory()
        )
    """

    def __init__(self, processor: Any):
        self.processor = processor

    def process(self, iprot: Any, oprot: Any) -> Any:
        """Dispatch one request; its handler sees the caller's deadline, if it sent one."""
        # The headers are known only once the message begins, inside the wrapped processor:
        # the wrapper takes over this request's readMessageBegin to open the block there.
        read_begin = iprot.readMessageBegin
        scope: DeadlineScope | None = None

        def begin_with_deadline() -> Any:
            nonlocal scope
            begun = read_begin()
            get_headers = getattr(iprot.trans, "get_headers", None)
            budget = budget_from_headers(get_headers()) if get_headers is not None else None
            if budget is not None:
                scope = deadline(budget)
                scope.__enter__()
            return begun

        try:
            iprot.readMessageBegin = begin_with_deadline
        except AttributeError:  # a protocol that takes no attributes: run it as it is
            return self.processor.process(iprot, oprot)
        try:
            return self.processor.process(iprot, oprot)
        finally:
            del iprot.readMessageBegin  # the protocol's own method again
            if scope is not None:
                scope.__exit__(None, None, None)
