"""`AsyncConnectionPool`: a bounded set of connections to one endpoint for one event loop.

The rules are the sync pool's: at most `size` connections, opened on first need, a connection
that failed goes, an idle one past `max_idle` or `max_lifetime` is replaced, callers that find
none free wait first come first served, up to `timeout`, then `PoolTimeout`. A connection
carries up to `endpoint.pipeline` calls at once. Liveness needs no check at checkout here: the
loop reports a peer's close (`connection_lost`) as soon as it happens.
"""

from __future__ import annotations

import asyncio
import math
import os
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError, ConnectTimeout, PoolClosed, PoolTimeout
from .._pool import connect_share, current_generation, pool_timeout_message
from .._settings import DEFAULT_MAX_IDLE, lifetime_with_jitter
from .._tls import ssl_context_for
from ._connection import AsyncConnection, inherited_connections
from ._methods import method_table

if TYPE_CHECKING:
    from .._endpoint import Endpoint

__all__ = ["AsyncConnectionPool"]

#: One caller in line: its future, when its wait ends (loop time), and how long it waits.
_Waiter = tuple["asyncio.Future[AsyncConnection | None]", float, float]


class AsyncConnectionPool:
    """Up to `size` connections to one endpoint, for the event loop that first uses it.

    ::

        async with AsyncConnectionPool(parse_url("tcp://127.0.0.1:9090"), Calculator) as pool:
            conn = await pool.acquire()
            try:
                print(await conn.call("add", (1, 2), {}, None))
            finally:
                pool.release(conn)
    """

    def __init__(
        self,
        endpoint: Endpoint,
        client_class: Any,
        *,
        size: int = 8,
        timeout: float = 5.0,
        max_idle: float | None = DEFAULT_MAX_IDLE,
        max_lifetime: float | None = None,
        service_name: str | None = None,
    ):
        from .._service import client_class_of

        self.endpoint = endpoint
        self.client_class = client_class_of(client_class)
        self.size = size
        self.timeout = timeout
        self.max_idle = math.inf if max_idle is None else max_idle
        self.max_lifetime = max_lifetime
        self.service_name = service_name
        self.ssl_context = ssl_context_for(endpoint)
        self._methods = method_table(self.client_class, service_name, endpoint)
        self._closed = False
        self._start_empty()
        _pools.add(self)

    def _start_empty(self) -> None:
        """No loop, connections, callers in line or counts yet (new, or in a forked child)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conns: list[AsyncConnection] = []
        #: Connections let go of whose sockets are still closing (a TLS close_notify out).
        self._closing: weakref.WeakSet[AsyncConnection] = weakref.WeakSet()
        self._opening = 0
        #: Callers waiting for room, first come first served, with their deadlines.
        self._waiters: deque[_Waiter] = deque()
        self._line_timer: asyncio.TimerHandle | None = None
        self._line_due = 0.0  # when the line's timer fires (loop time), while there is one
        self._created = self._reused = self._discarded = self._waits = self._timeouts = 0

    def __repr__(self) -> str:
        return f"<AsyncConnectionPool {self.endpoint.redacted_url} size={self.size}>"

    async def __aenter__(self) -> AsyncConnectionPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _check_loop(self) -> asyncio.AbstractEventLoop:
        """The pool's event loop, which must be the running one."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise ConfigError(
                f"{self!r} belongs to another event loop; a pool's connections live on the loop "
                "that opened them (AsyncClient keeps one pool per loop for you)"
            )
        return loop

    def take(self) -> AsyncConnection | None:
        """A connection with room for one call right now, or None (then `acquire` waits or
        opens one); the usual case, without a coroutine."""
        if self._waiters or self._closed or self._loop is not asyncio.get_running_loop():
            return None
        conns = self._conns
        if conns:  # the warmest connection, if idle and fresh: no scan
            conn = conns[-1]
            idle = not conn.load and not conn.pending
            if (
                idle
                and not conn.retiring
                and conn.error is None
                and (conn.expires_at == math.inf or self._loop.time() <= conn.expires_at)
            ):
                conn.load = 1
                self._reused += 1
                return conn
        return self._take(self._loop)

    async def acquire(
        self, timeout: float | None = None, *, connect_timeout: float | None = None
    ) -> AsyncConnection:
        """A connection with room for one call: a usable one, a new one, or one freed in time.

        `timeout`: how long to wait in line (None: the pool's); `connect_timeout`: for a new
        connection (None: the endpoint's); time spent in line comes off it.
        """
        loop = self._check_loop()
        if self._closed:
            raise PoolClosed(f"{self!r} is closed", endpoint=self.endpoint.redacted_url)
        if not self._waiters:  # nobody queued first: no need to wait in line
            conn = self._take(loop)
            if conn is not None:
                return conn
            if len(self._conns) + self._opening < self.size:
                return await self._open(connect_timeout=connect_timeout)
        queued = loop.time()
        waiter = self._queue(loop, queued, self.timeout if timeout is None else timeout)
        try:
            conn = await waiter
        except asyncio.CancelledError:
            self._left_the_line(waiter)
            raise
        finally:
            del waiter  # it holds what it raised through this frame: no cycle (`_steps`)
        if conn is not None:
            return conn
        return await self._open_for_waiter(loop, loop.time() - queued, connect_timeout)

    def _queue(
        self, loop: asyncio.AbstractEventLoop, now: float, wait: float
    ) -> asyncio.Future[AsyncConnection | None]:
        """A place in line (first come first served) for room, from `now` (loop time) up to
        `wait` seconds.

        Room is handed over, not merely announced: a freed connection goes to the first in
        line with its share taken for it (None: room to open one). One timer for the whole
        line, at its first deadline, times waiters out.
        """
        self._waits += 1
        waiter: asyncio.Future[AsyncConnection | None] = loop.create_future()
        due = now + wait
        self._waiters.append((waiter, due, wait))
        timer = self._line_timer
        if timer is None or due < self._line_due:  # a shorter wait than those before it
            if timer is not None:
                timer.cancel()
            self._line_timer = loop.call_at(due, self._time_out_waiters)
            self._line_due = due
        return waiter

    def _left_the_line(self, waiter: asyncio.Future[AsyncConnection | None]) -> None:
        """A caller cancelled in line: room handed to it just then goes to the next."""
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            handed = waiter.result()
            if handed is not None:
                self.release(handed)
            else:
                self._opening -= 1
                self._hand_over()

    async def _open_for_waiter(
        self, loop: asyncio.AbstractEventLoop, waited: float, connect_timeout: float | None
    ) -> AsyncConnection:
        """Open the connection a waiter was given room for, `waited` seconds after it queued."""
        if connect_timeout is not None:  # a deadline's share: the wait spent some of it
            try:
                connect_timeout = connect_share(connect_timeout, waited, self.endpoint.redacted_url)
            except ConnectTimeout:
                self._opening -= 1  # the room held for this caller goes to the next in line
                self._hand_over()
                raise
        return await self._open(reserved=True, connect_timeout=connect_timeout)

    def _time_out_waiters(self) -> None:
        """The first deadline in line came: those past theirs get `PoolTimeout`.

        Deadlines are mostly in line order, but a call cut short by a `deadline()` block
        waits less than those before it: the whole line is looked at.
        """
        self._line_timer = None
        assert self._loop is not None
        now = self._loop.time()
        kept: deque[_Waiter] = deque()
        for waiter, due, wait in self._waiters:
            if waiter.done():
                continue
            if due <= now:
                self._timeouts += 1
                waiter.set_exception(
                    PoolTimeout(
                        pool_timeout_message(self.size, wait),
                        endpoint=self.endpoint.redacted_url,
                    )
                )
            else:
                kept.append((waiter, due, wait))
        self._waiters = kept
        if kept:
            first = min(due for _, due, _ in kept)
            self._line_timer = self._loop.call_at(first, self._time_out_waiters)
            self._line_due = first

    def _hand_over(self, freed: AsyncConnection | None = None) -> bool:
        """Give room to the first in line: a connection with a free share, or leave to open one.

        `freed`: a connection whose share just came free, usable; it goes to the first in
        line without a look at the others (full, or nobody would be waiting), and that is all
        the room there is. Returns whether `freed` was handed over (nobody left in line: no).
        """
        waiters = self._waiters
        while waiters:
            waiter = waiters[0][0]
            if waiter.done():  # cancelled or timed out while in line
                waiters.popleft()
                continue
            if self._closed:
                waiters.popleft()
                waiter.set_exception(
                    PoolClosed(f"{self!r} is closed", endpoint=self.endpoint.redacted_url)
                )
                continue
            if freed is not None:
                waiters.popleft()
                self._take_share(freed)
                waiter.set_result(freed)
                return True
            assert self._loop is not None
            conn = self._take(self._loop)
            if conn is None and len(self._conns) + self._opening >= self.size:
                return False  # no room yet
            waiters.popleft()
            if conn is None:
                self._opening += 1  # held for the waiter until it opens (see _open)
            waiter.set_result(conn)
        return False

    def _take(self, loop: asyncio.AbstractEventLoop) -> AsyncConnection | None:
        """The best connection with room now (least loaded, most recently used), or None."""
        now = -1.0
        best: AsyncConnection | None = None
        for conn in reversed(self._conns):
            if not conn.load and conn.expires_at < math.inf:
                if now < 0:
                    now = loop.time()
                if now > conn.expires_at and not conn.pending:
                    conn.close()  # past max_idle / max_lifetime: on_free drops it from the list
                    continue
            if conn.usable and (best is None or conn.load < best.load):
                best = conn
                if not conn.load:
                    break
        if best is not None:
            self._take_share(best)
        return best

    def _take_share(self, conn: AsyncConnection) -> None:
        """One call's share of `conn`, taken for its caller (counted as a reuse if idle)."""
        if not conn.load and not conn.pending:
            self._reused += 1
        conn.load += 1

    async def _open(
        self, *, reserved: bool = False, connect_timeout: float | None = None
    ) -> AsyncConnection:
        """Open one more connection (counted while it opens) for the caller.

        `reserved`: the room was handed over to a waiter, already counted as opening.
        """
        if not reserved:
            self._opening += 1
        conn = AsyncConnection(
            self.endpoint, self.client_class, self.service_name, self._methods, current_generation()
        )
        try:
            await conn.open(self.ssl_context, connect_timeout)
        except BaseException:
            self._opening -= 1
            conn.close()
            self._hand_over()  # the room it held is free again
            raise
        self._opening -= 1
        if self.max_lifetime is not None:
            conn.retire_at = conn.created_at + lifetime_with_jitter(self.max_lifetime)
        conn.on_free = self._on_free
        self._conns.append(conn)
        self._created += 1
        conn.load += 1
        if self._closed:
            conn.retire()
        elif self._waiters:
            self._hand_over()  # a pipelined connection has room for those in line too
        return conn

    def release(self, conn: AsyncConnection, clean: bool = True) -> None:
        """One call is done with `conn`: kept when `clean`, else the connection retires."""
        if clean and not conn.retiring and conn.error is None:
            conn.load -= 1  # the usual case, without the connection's own bookkeeping
            self._on_free(conn)
            return
        if not clean:
            conn.retire()
        conn.release()

    def _on_free(self, conn: AsyncConnection) -> None:
        """`conn` has room again, or is gone: wake the next caller in line."""
        if (
            self._waiters
            and conn.usable
            and not self._closed
            and (conn.retire_at == math.inf or conn.loop.time() <= conn.retire_at)
            and self._hand_over(conn)  # straight to the first in line, no scan of the others
        ):
            return
        if conn.error is not None:
            if conn in self._conns:
                self._conns.remove(conn)
                self._discarded += 1
            if conn.transport is not None:
                self._closing.add(conn)
        elif not conn.load and not conn.pending:
            if self._closed:
                conn.close()
                return
            conns = self._conns
            if conns[-1] is not conn:  # most recently used last: the next takes the warmest
                conns.remove(conn)
                conns.append(conn)
            expires = conn.loop.time() + self.max_idle
            retire = conn.retire_at
            conn.expires_at = expires if expires < retire else retire  # min(), cheaper
        if self._waiters:
            self._hand_over()

    def stats(self) -> dict[str, int]:
        """Counters: open, idle, in_use (calls), created, reused, discarded, waits, timeouts."""
        return {
            "open": len(self._conns),
            "idle": sum(1 for conn in self._conns if conn.idle),
            "in_use": sum(conn.load for conn in self._conns),
            "created": self._created,
            "reused": self._reused,
            "discarded": self._discarded,
            "waits": self._waits,
            "timeouts": self._timeouts,
        }

    def close(self) -> None:
        """Close idle connections now and busy ones when their calls are done; refuse new ones."""
        self._closed = True
        for conn in list(self._conns):
            if conn.idle:
                conn.close()
            else:
                conn.retire()
        self._hand_over()  # closed: every waiter gets PoolClosed

    async def aclose(self) -> None:
        """`close()`, then wait until the sockets of the connections let go of are closed:
        a TLS one once the server answers its close_notify, or cut after `connect_timeout`."""
        self.close()
        closing = [conn for conn in self._closing if conn.transport is not None]
        grace = self.endpoint.connect_timeout
        await asyncio.gather(*(conn.wait_closed(grace) for conn in closing))

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._closed

    def _reset_after_fork(self) -> None:
        """In a forked child: forget the parent's connections, waiters and counters (as the
        sync pool does); start empty."""
        self._start_empty()


_pools: weakref.WeakSet[AsyncConnectionPool] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """Let go of every socket the parent's async connections hold, without a byte sent."""
    for conn in inherited_connections():
        conn.abandon_after_fork()
    for pool in list(_pools):
        pool._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
