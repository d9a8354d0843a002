"""Per-call THeader headers: the scope a ``with client.call_headers(...)`` block opens, and
the headers going out with a request and coming back with its reply. No I/O of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._exceptions import ConfigError

if TYPE_CHECKING:
    import contextvars
    from collections.abc import Sequence

    from ._endpoint import Endpoint
    from ._middleware import Call

__all__ = ["HeaderScope", "all_theader", "check_headers", "reply_headers", "send_headers"]


def all_theader(endpoints: Sequence[Endpoint]) -> bool:
    """Whether every endpoint speaks THeader (transport or protocol): then calls carry headers."""
    return all("header" in (ep.transport, ep.protocol) for ep in endpoints)


def check_headers(headers: object) -> dict[str, str]:
    """Per-call THeader headers: a mapping of str to str."""
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError(f"invalid headers {headers!r} (expected a mapping of str to str)")
    return dict(headers)


def send_headers(trans: Any, endpoint: Endpoint, info: Call) -> None:
    """Queue the endpoint's and the call's headers on a THeaderTransport for the next request
    (over http(s), the endpoint's `headers` are the HTTP request's, not THeader's).

    The call's headers hold those every endpoint shares (middleware may have changed them);
    the endpoint's own go out only where the call does not name them.
    """
    headers = info.headers
    if not endpoint.is_http:
        for key, value in endpoint.headers:
            if key not in headers:
                trans.set_header(key.encode(), value.encode())
    for key, value in headers.items():
        trans.set_header(key.encode(), value.encode())


def reply_headers(trans: Any) -> dict[str, str]:
    """The headers of the reply just read from a THeaderTransport, as text."""
    return {
        k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
        for k, v in trans.get_headers().items()
    }


class HeaderScope:
    """Headers for the calls of one ``with`` block, and the last reply's headers (`reply`).

    Returned by `Client.call_headers`; each block belongs to its thread or task (a context
    variable), so a shared client never mixes two blocks' headers.
    """

    def __init__(self, var: contextvars.ContextVar[HeaderScope | None], headers: dict[str, str]):
        self._var = var
        self._token: contextvars.Token[HeaderScope | None] | None = None
        self.headers = headers
        self.reply: dict[str, str] = {}

    def __enter__(self) -> HeaderScope:
        self._token = self._var.set(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            self._var.reset(self._token)
            self._token = None
