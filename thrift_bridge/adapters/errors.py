"""`status_for`: the HTTP status a web app answers when the Thrift service behind it fails.

| exception | status |
| --- | --- |
| `PoolTimeout`, `PoolClosed`, `RateLimited` | 503 Service Unavailable (busy, closing, limited) |
| `ConnectTimeout`, `ReadTimeout`, `WriteTimeout` | 504 Gateway Timeout |
| `ConnectError`, any other `TransportError` | 502 Bad Gateway (down, unreachable, garbled) |
| anything else (`ConfigError`, declared exceptions) | None: a bug, or the app's own business |
"""

from __future__ import annotations

from .._exceptions import PoolError, RateLimited, Timeout, TransportError

__all__ = ["status_for"]


def status_for(exc: BaseException) -> int | None:
    """502, 503 or 504 for a failure of the Thrift service (table above); None for others."""
    if isinstance(exc, (PoolError, RateLimited)):
        return 503
    if isinstance(exc, TransportError):
        return 504 if isinstance(exc, Timeout) else 502
    return None
