"""A thread-safe token bucket: smooth bursts of calls before they reach the backend (no I/O)."""

from __future__ import annotations

import threading
import time

from ._exceptions import ConfigError, RateLimited

__all__ = ["TokenBucket"]


class TokenBucket:
    """`rate` tokens per second, holding at most `burst`; `reserve()` books one."""

    def __init__(self, rate: float, burst: int | None = None):
        if not rate > 0:
            raise ConfigError(f"invalid rate {rate!r} (expected calls per second > 0)")
        self.rate = rate
        self.burst = max(1, int(burst if burst is not None else rate))
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def reserve(self, timeout: float) -> float:
        """Take one token; return how long to wait for it (at most `timeout`), else raise
        `RateLimited`. The caller waits (a thread sleeps, a task awaits)."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1  # reserve now, so concurrent callers queue in order
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            if wait > timeout:
                self._tokens += 1
                raise RateLimited(
                    f"rate limit of {self.rate:g} calls/s would delay this call {wait:.3f}s, "
                    f"more than rate_limit_timeout={timeout:g}s"
                )
        return wait
