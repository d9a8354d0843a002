"""`ConnectionPool`: a bounded, LIFO, thread-safe and fork-safe set of connections to one endpoint.

The pool is a stack pre-filled with `size` empty slots: popping an empty slot is the right to
open a connection, so creation is lazy and the bound is held by one primitive. Sockets are
opened and closed outside the lock. A connection is given back clean (reply read in full, or
an IDL-declared exception / TApplicationException) or it is closed and its slot emptied.
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

from ._connection import Connection
from ._exceptions import ConnectTimeout, PoolClosed, PoolTimeout
from ._settings import lifetime_with_jitter
from ._tls import ssl_context_for

if TYPE_CHECKING:
    from ._endpoint import Endpoint

__all__ = [
    "ConnectionPool",
    "connect_share",
    "current_generation",
    "inherited",
    "pool_timeout_message",
]

_pools: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()
_generation = 0  # bumped in every forked child; connections remember the one they were born in


def _after_fork_in_child() -> None:
    """Make every pool in a forked child forget the sockets it shares with its parent."""
    global _generation
    _generation += 1
    for pool in list(_pools):
        pool._reset_after_fork()


def current_generation() -> int:
    """This process's fork generation (bumped in every forked child)."""
    return _generation


def pool_timeout_message(size: int, wait: float, what: str = "connections") -> str:
    """What `PoolTimeout` says when every connection of a pool stayed busy."""
    return (
        f"all {size} {what} of the pool stayed busy for {wait:g}s "
        "(raise pool_size or pool_timeout, or release connections sooner)"
    )


def connect_share(connect_timeout: float, waited: float, where: str) -> float:
    """What is left of a deadline's share for connecting once `waited` seconds went on the
    pool's line (at least 1 ms); `ConnectTimeout` when the line took all of it (a caller
    handed room after its deadline passed does not start a connect it cannot finish)."""
    left = connect_timeout - waited
    if left <= 0:
        raise ConnectTimeout(
            f"no time left to connect: the {connect_timeout:g}s left of the deadline went on "
            f"waiting {waited:.3f}s for room in the pool",
            endpoint=where,
        )
    return max(0.001, left)


def inherited(conn: Any) -> bool:
    """Whether `conn` was opened before this process was forked (its socket is the parent's)."""
    return bool(conn.generation != _generation)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ConnectionPool:
    """Up to `size` open connections to one endpoint, handed out one caller at a time.

    ::

        pool = ConnectionPool(parse_url("tcp://127.0.0.1:9090"), Calculator.Client, size=4)
        conn = pool.acquire()
        try:
            conn.begin_call()
            print(conn.client.add(1, 2))
            pool.release(conn)
        except Exception:
            pool.release(conn, clean=False)
            raise
    """

    def __init__(
        self,
        endpoint: Endpoint,
        client_class: type[Any],
        *,
        size: int = 8,
        timeout: float = 5.0,
        max_idle: float | None = None,
        max_lifetime: float | None = None,
        service_name: str | None = None,
    ):
        self.endpoint = endpoint
        self.client_class = client_class
        self.size = size
        self.timeout = timeout
        self.max_idle = max_idle
        self.max_lifetime = max_lifetime
        #: The TLS context connections are made with (built once per TLS setting), or None.
        self.ssl_context = ssl_context_for(endpoint)
        self.service_name = service_name
        self._recycles = max_idle is not None or max_lifetime is not None
        self._max_idle = math.inf if max_idle is None else max_idle
        self._closed = False
        self._init_state()
        _pools.add(self)
        self._finalizer = weakref.finalize(self, ConnectionPool._close_all, self._slots)

    def _init_state(self) -> None:
        """Fresh lock, slots and counters (at construction and in a forked child)."""
        self._lock = threading.Lock()  # fast paths take the bare lock; waiters use _cond on it
        self._cond = threading.Condition(self._lock)
        self._slots: deque[Connection | None] = deque([None] * self.size)
        self._open = self._waiting = 0
        self._created = self._reused = self._discarded = self._waits = self._timeouts = 0

    def __repr__(self) -> str:
        return f"<ConnectionPool {self.endpoint.redacted_url} size={self.size}>"

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def acquire(
        self, timeout: float | None = None, *, connect_timeout: float | None = None
    ) -> Connection:
        """A connection for one caller: an idle healthy one or a new one; may wait.

        `timeout`: how long to wait for room (None: the pool's); `connect_timeout`: for a new
        connection (None: the endpoint's); time spent waiting for room comes off it.
        """
        began = time.monotonic() if connect_timeout is not None else 0.0  # for a deadline's share
        with self._lock:
            # Queue behind earlier waiters: a thread that just released a connection must not
            # take it back before the waiter it woke runs (that starved waiters for minutes).
            if not self._slots or self._waiting or self._closed:
                self._wait_for_slot(self.timeout if timeout is None else timeout)
            conn = self._slots.pop()
            if conn is not None:
                self._reused += 1  # taken back in _discard if the check below fails
        if conn is not None:
            if (self._recycles and time.monotonic() > conn.expires_at) or not conn.is_usable():
                self._discard(conn, was_reused=True)
            else:
                return conn
        try:
            if connect_timeout is not None:  # a deadline's share: the wait spent some of it
                waited = time.monotonic() - began
                connect_timeout = connect_share(connect_timeout, waited, self.endpoint.redacted_url)
            conn = Connection(
                self.endpoint,
                self.client_class,
                self.ssl_context,
                generation=_generation,
                service_name=self.service_name,
                connect_timeout=connect_timeout,
            )
        except BaseException:
            self._give_back(None)
            raise
        if self.max_lifetime is not None:
            conn.retire_at = conn.created_at + lifetime_with_jitter(self.max_lifetime)
        with self._lock:
            self._open += 1
            self._created += 1
        return conn

    def _wait_for_slot(self, wait: float) -> None:
        """Wait (lock held), first come first served, for a free slot; else raise."""
        if not self._closed:
            self._waits += 1
            self._waiting += 1
            try:
                deadline = time.monotonic() + wait
                queue = bool(self._slots)  # a free slot is promised to an earlier waiter
                while (queue or not self._slots) and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)  # Condition wakes waiters in FIFO order
                    queue = False
            finally:
                self._waiting -= 1
        if self._closed:
            raise PoolClosed(f"{self!r} is closed", endpoint=self.endpoint.redacted_url)
        if not self._slots:
            self._timeouts += 1
            raise PoolTimeout(
                pool_timeout_message(self.size, wait), endpoint=self.endpoint.redacted_url
            )

    def release(self, conn: Connection, clean: bool = True) -> None:
        """Give a connection back: kept when `clean`, else closed (it may be out of step)."""
        if conn.generation != _generation:  # `inherited`, inline: every call passes here
            conn.abandon()  # checked out before a fork; the parent still owns the socket
            return
        if clean and not self._closed:
            if self._recycles:  # when this idle connection must no longer be handed out
                expires = time.monotonic() + self._max_idle
                retire = conn.retire_at
                conn.expires_at = expires if expires < retire else retire  # min(), cheaper
            with self._lock:
                self._slots.append(conn)
                if self._waiting:
                    self._cond.notify()
        else:
            self._discard(conn)
            self._give_back(None)

    def _discard(self, conn: Connection, *, was_reused: bool = False) -> None:
        """Close a connection that may not be used again."""
        conn.close()
        with self._lock:
            self._open -= 1
            self._discarded += 1
            self._reused -= was_reused

    def _give_back(self, slot: Connection | None) -> None:
        """Return a slot (a connection, or None for 'may open one') and wake one waiter."""
        with self._lock:
            self._slots.append(slot)
            if self._waiting:
                self._cond.notify()

    def stats(self) -> dict[str, int]:
        """Counters: open, idle, in_use, created, reused, discarded, waits, timeouts."""
        with self._lock:
            return {
                "open": self._open,
                "idle": sum(1 for slot in self._slots if slot is not None),
                "in_use": self.size - len(self._slots),  # every checkout holds one slot
                "created": self._created,
                "reused": self._reused,
                "discarded": self._discarded,
                "waits": self._waits,
                "timeouts": self._timeouts,
            }

    def close(self) -> None:
        """Close idle connections now and in-use ones when returned; later acquires fail."""
        with self._cond:
            self._closed = True
            idle = [slot for slot in self._slots if slot is not None]
            empty = [None] * len(self._slots)
            self._slots.clear()
            self._slots.extend(empty)
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            conn.close()

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._closed

    def _reset_after_fork(self) -> None:
        """In a forked child: abandon inherited sockets (no shutdown) and start empty."""
        inherited = [slot for slot in self._slots if slot is not None]
        self._init_state()
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, ConnectionPool._close_all, self._slots)
        for conn in inherited:
            conn.abandon()

    @staticmethod
    def _close_all(slots: deque[Connection | None]) -> None:
        """Close the idle connections left in `slots` (run when the pool is collected)."""
        for slot in list(slots):
            if slot is not None:
                slot.close()
