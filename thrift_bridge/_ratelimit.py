"""A thread-safe token bucket: smooth bursts of calls before they reach the backend."""

from __future__ import annotations

import re
import threading
import time

from ._exceptions import ConfigError, RateLimited

__all__ = ["TokenBucket", "parse_rate"]

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
_RATE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*/\s*([a-z]+)\s*$")


def parse_rate(text: str) -> float:
    """Calls per second from text like '200/s', '30/min' or '1000/h'."""
    match = _RATE_RE.match(text.lower()) if isinstance(text, str) else None
    if not match or match[2] not in _UNITS or float(match[1]) <= 0:
        raise ConfigError(
            f"invalid rate_limit {text!r} "
            "(expected calls per unit like '200/s', '30/min', '1000/h')"
        )
    return float(match[1]) / _UNITS[match[2]]


class TokenBucket:
    """`rate` tokens per second, holding at most `burst`; `take()` waits for one."""

    def __init__(self, rate: float, burst: int | None = None):
        if not rate > 0:
            raise ConfigError(f"invalid rate {rate!r} (expected calls per second > 0)")
        self.rate = rate
        self.burst = max(1, int(burst if burst is not None else rate))
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self, timeout: float) -> None:
        """Take one token, waiting up to `timeout` seconds for it; else raise RateLimited."""
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
        if wait:
            time.sleep(wait)
