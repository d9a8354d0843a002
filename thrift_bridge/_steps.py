"""The steps of one call, written once for both clients' shells (no I/O).

`call_steps` is a whole call, or the rest of one whose first attempt the shell ran inline: it
picks each attempt's endpoint, cuts its timeouts to the `deadline()` in force, settles each
failure, tells the balancer how each attempt ended, asks the `RetryPolicy` and the retry
budget, and yields what the shell must do next: ``(ACQUIRE, (pool, wait, connect_timeout))``,
``(CALL, (connection, timeout))``, ``(WAIT, seconds)``. The sync shell (`_calls`) carries
the steps out blocking, the async one (`_async._calls`) awaiting. A call's `_hooks.CallTrace`
(when instrumentation follows it) hears here of each attempt's endpoint and of each retry. A
call that gives up after more than one attempt lists each attempt's endpoint and failure in
its error; each retry is logged at DEBUG on the `thrift_bridge` logger.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ._attempt import ACQUIRE, CALL, WAIT, CallError
from ._deadline import (
    BUDGET_HEADER,
    attempt_timeout,
    encode_budget,
    exceeded,
    remaining,
    stopped_by_deadline,
)
from ._exceptions import ConnectError, PoolClosed, PoolTimeout
from ._outcome import describe_attempt, final_error, with_attempts

if TYPE_CHECKING:
    from collections.abc import Generator

    from ._caller import CallerCore
    from ._hooks import CallTrace
    from ._middleware import Call
    from ._outcome import Outcome

__all__ = ["call_steps"]

_log = logging.getLogger("thrift_bridge")
#: Picks at most per attempt whose pool closed because its endpoint left the fleet meanwhile.
_REPICKS = 8


def call_steps(
    core: CallerCore,
    name: str,
    info: Call | None,
    first: tuple[Any, BaseException] | None = None,
    trace: CallTrace | None = None,
) -> Generator[tuple[int, Any], Any, Any]:
    """A whole call, or the rest of one whose first attempt (`first`: its pool and what it
    raised, a `ConnectError` or a `CallError`) the shell ran inline.

    Yields (ACQUIRE, (pool, wait, connect_timeout)), (CALL, (connection, timeout)) and
    (WAIT, seconds); the shell sends back what happened or throws what was raised (a failed
    CALL as a `CallError`). Returns the call's result, or raises what the caller gets. A
    `trace` (instrumentation, `_hooks`) hears of each attempt's endpoint and of each retry.
    """
    retry = core.settings.retry
    budget = core.budget
    attempt = 0
    tried: tuple[Any, ...] = ()
    pool: Any = None
    failure: BaseException | None = None
    cause: BaseException | None = None  # what went wrong in the failed attempt
    error: BaseException | None = None  # what the caller gets for it
    outcome: Outcome | None = None
    attempts: list[tuple[str, BaseException]] = []  # (endpoint, why) of each failed attempt
    if first is None:
        core.begin_call()
    else:
        pool, failure = first
    outstanding = None  # the pool whose pick the balancer still counts
    picked = 0.0  # when the current attempt picked its endpoint: its latency counts from there
    acquired = 0.0  # when it got its connection: its service time counts from there
    cut = False  # the attempt's timer is the deadline's (the inline first attempt has none)
    repicks = 0
    try:
        while True:
            if failure is None:  # one attempt
                now = picked = time.monotonic()
                pool = outstanding = core.choose(now, tried, name)
                if trace is not None:
                    trace.attempt(pool.endpoint)
                where = pool.endpoint.redacted_url
                if attempts:
                    _log.debug(
                        "retry %d of %s.%s on %s, after %s",
                        attempt,
                        core.service,
                        name,
                        where,
                        describe_attempt(*attempts[-1]),
                    )
                timeout = attempt_timeout(pool.endpoint.timeout, now, method=name, endpoint=where)
                left = remaining(now)
                wait = connect = None
                # Whether the attempt's timer is the deadline's: a timeout it raises is then
                # the deadline's, even where the timer fired a moment early (uvloop's clock).
                cut = False
                if left is not None:  # a deadline in force: no wait may outlast it
                    wait = min(core.settings.pool_timeout, left)
                    connect = min(pool.endpoint.connect_timeout, left)
                try:
                    conn = yield ACQUIRE, (pool, wait, connect)
                except ConnectError as exc:
                    failure = exc
                    cut = connect is not None and connect == left
                except PoolClosed:
                    core.abandoned(pool, time.monotonic())
                    outstanding = None
                    if not core.left_fleet(pool) or repicks >= _REPICKS:
                        raise  # the client was closed
                    repicks += 1  # DNS took the endpoint away between pick and acquire
                    continue
                except PoolTimeout as exc:
                    core.abandoned(pool, time.monotonic())
                    outstanding = None
                    now = time.monotonic()
                    if stopped_by_deadline(exc, left is not None and wait == left, now):
                        raise exceeded(now, method=name, endpoint=where) from exc
                    raise
                else:
                    acquired = time.monotonic()
                    if left is not None:  # waiting for the connection spent some of it
                        started = acquired
                        left = remaining(started) or 0.0
                        if left <= 0:
                            pool.release(conn)
                            core.abandoned(pool, started)
                            outstanding = None
                            raise exceeded(started, method=name, endpoint=where)
                        cut = left <= timeout
                        timeout = min(timeout, left)
                        if info is not None and core.carries_headers:
                            info.headers[BUDGET_HEADER] = encode_budget(left)
                    try:
                        result = yield CALL, (conn, timeout if left is not None else None)
                    except CallError as exc:
                        failure = exc
                    else:
                        pool.release(conn)
                        core.finished(pool, picked, acquired, True)
                        outstanding = None
                        return result
            # The attempt failed: settle it, tell the balancer, then retry or give up.
            now = time.monotonic()
            outcome = None
            if isinstance(failure, CallError):
                outcome = core.settle(failure.call, name, failure.error, info)
                pool.release(failure.connection, clean=outcome.keep)
                if outstanding is not None:
                    answered = outcome.keep and isinstance(failure.error, core.answers[name])
                    if answered or not outcome.keep:
                        core.finished(pool, picked, acquired, answered)
                    else:
                        core.abandoned(pool, now)  # refused before a byte went out: no verdict
                    outstanding = None
                cause, error = failure.error, outcome.error
                endpoint = failure.call.endpoint.redacted_url
                sent, reached = failure.call.request_sent, failure.call.request_started
            else:  # a connect that failed: nothing was written
                assert isinstance(failure, ConnectError)  # the only other kind the loop takes
                core.connect_failed(pool, now)
                outstanding = None
                failure.method = failure.method or name
                cause = error = failure
                endpoint = pool.endpoint.redacted_url
                sent = reached = False
            attempts.append((endpoint, error))
            if stopped_by_deadline(cause, cut, now):
                raise exceeded(now, method=name, endpoint=endpoint) from cause
            refused = (outcome is not None and not outcome.retryable) or not retry.may_retry(
                name, sent=sent, attempt=attempt
            )
            if not refused and budget is not None:
                # Free only while it can go somewhere usable (see `_budget`): with the fleet
                # down, a retry after a refused connect draws on the budget like any other.
                free = not reached and core.elsewhere(now, (*tried, pool))
                if not budget.may_retry(now, reached_server=not free):
                    _log.debug("retry of %s not made: the retry budget is spent", name)
                    refused = True
            if refused:
                with_attempts(error, attempts)
                raise cause if outcome is None else final_error(outcome, cause)
            attempt += 1
            core.count_retry()
            delay = retry.delay(attempt)
            left = remaining(now)
            if left is not None and delay >= left:
                raise exceeded(now, method=name) from cause
            if trace is not None:
                trace.retry(error, attempt, delay)
            if delay:
                yield WAIT, delay
            tried = (*tried, pool)
            failure = None
    finally:
        if outstanding is not None:  # cancelled, or an error of the shell's own
            core.abandoned(outstanding, time.monotonic())
        # The failures thrown in here carry this frame in their tracebacks, and so does the
        # error raised from here: drop them, so a failed call leaves no reference cycle for
        # the garbage collector to find (a burst of failures paused every caller for it).
        first = failure = cause = error = outcome = None
        attempts = []
