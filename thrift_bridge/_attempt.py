"""What a call's shell (`_calls`, `_async._calls`) and its steps (`_steps.call_steps`) hand
each other: the three requests the steps make, and a failed attempt with its call's state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._endpoint import Endpoint

__all__ = ["ACQUIRE", "CALL", "WAIT", "CallError", "CallState"]

#: What `_steps.call_steps` asks of the shell: (ACQUIRE, (pool, wait, connect_timeout)) for a
#: connection, waiting at most `wait` seconds for one (None: the pool's own timeout) and
#: connecting within `connect_timeout`; (CALL, (connection, timeout)) for the result, `timeout`
#: (None: the endpoint's) bounding the whole call; (WAIT, seconds).
ACQUIRE, CALL, WAIT = 0, 1, 2


class CallState(Protocol):
    """What settling a failed call needs to know of it (a sync connection, an async call)."""

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint the call went to."""

    @property
    def request_started(self) -> bool:
        """Whether any byte of the request reached the wire."""

    @property
    def request_sent(self) -> bool:
        """Whether all of it did."""

    def forget_request(self) -> None:
        """Drop a request that failed before a byte of it was written."""

    def reply_headers(self) -> dict[str, str] | None:
        """The reply's THeader headers (None without THeader)."""


class CallError(Exception):
    """A failed attempt, as the shell hands it to `call_steps`: the error, the call's state,
    and the connection it was made on (for a sync connection, the same object)."""

    def __init__(self, error: BaseException, call: CallState, connection: Any):
        super().__init__(error)
        self.error = error
        self.call = call
        self.connection = connection
