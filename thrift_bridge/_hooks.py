"""What instrumentation sees of every client call, with no I/O and no OpenTelemetry import.

`thrift_bridge.instrumentation` installs a `CallHook` here (`install`); the clients' call paths
(`_calls`, `_async._calls`, the pinned sessions) ask it for a `CallTrace` per logical call and
report to that: each attempt's endpoint (`_steps.call_steps`, or the shell's inline first
attempt), each retry, the end. Nothing is installed by default, and then a call pays one
global lookup. The trace's `headers` (trace context) go out on wires
that carry headers (THeader, HTTP).
"""

from __future__ import annotations

import contextvars
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from ._endpoint import Endpoint

__all__ = [
    "CallHook",
    "CallTrace",
    "active_trace_id",
    "atraced",
    "callers",
    "hook",
    "install",
    "register",
    "request_headers",
    "traced",
]


class CallTrace(Protocol):
    """One logical call as instrumentation follows it (retries included)."""

    #: Headers the call's requests carry (trace context), or None.
    headers: Mapping[str, str] | None

    def attempt(self, endpoint: Endpoint) -> None:
        """An attempt goes to `endpoint` (before its connection is taken)."""

    def retry(self, error: BaseException, attempt: int, delay: float) -> None:
        """Attempt number `attempt` (1 first) failed with `error`; another follows after `delay`."""

    def end(self, error: BaseException | None) -> None:
        """The call returned (None) or raised `error` to its caller."""


class CallHook(Protocol):
    """Instrumentation of every client: a `CallTrace` per call, or None to follow nothing."""

    def start(self, core: Any, method: str) -> CallTrace | None:
        """Follow a call of `method` by the client of `core`, a `_caller.CallerCore` (None:
        not this one)."""


#: The installed hook (None: calls are not followed). Read on every call.
hook: CallHook | None = None

#: The headers of the request being served (HTTP servers set it for the processor they run).
request_headers: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "thrift_bridge_request_headers", default=None
)


#: Every live `_caller.CallerCore` (typed Any: the core sits above this module).
_callers: weakref.WeakSet[Any] = weakref.WeakSet()
_callers_lock = threading.Lock()


def register(core: Any) -> None:
    """Remember a client's call core (sync, or one event loop's async) while it lives."""
    with _callers_lock:
        _callers.add(core)


def callers() -> list[Any]:
    """Every live client's call cores (for instruments observing the pools)."""
    with _callers_lock:
        return list(_callers)


def install(new: CallHook | None) -> None:
    """Install `new` as the hook every client's calls report to (None: remove it)."""
    global hook
    hook = new


def traced(trace: CallTrace, function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)`, its end told to `trace`; what it raised passes through unchanged."""
    try:
        result = function(*args)
    except BaseException as exc:
        trace.end(exc)
        raise
    trace.end(None)
    return result


async def atraced(trace: CallTrace, awaitable: Awaitable[Any]) -> Any:
    """`traced` for a coroutine: its result, its end (or cancellation) told to `trace`."""
    try:
        result = await awaitable
    except BaseException as exc:
        trace.end(exc)
        raise
    trace.end(None)
    return result


def active_trace_id() -> str | None:
    """The trace id of the active OpenTelemetry span (32 hex digits), if any and valid."""
    trace = sys.modules.get("opentelemetry.trace")  # not imported: no span can be active
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
