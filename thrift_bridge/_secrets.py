"""Secrets in endpoints: which names carry them, and how text is kept free of them. No I/O."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "SECRET_NAMES",
    "is_secret_header",
    "is_secret_name",
    "redact_query",
    "redact_url",
    "scrub",
]

#: Query parameters whose values are secrets by convention (RFC 6750's access_token, API
#: keys, signatures...): exact names, and names ending in one of `_SECRET_SUFFIXES`.
SECRET_NAMES = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "bearer_token",
        "headers",
        "key",
        "passwd",
        "password",
        "pwd",
        "secret",
        "sig",
        "signature",
        "token",
    }
)
_SECRET_SUFFIXES = ("_token", "-token", "_key", "-key", "_secret", "-secret", "_password")
#: HTTP headers whose values are secrets (besides names that `is_secret_name` accepts).
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def is_secret_name(name: str) -> bool:
    """Whether a query parameter called `name` carries a secret (case-insensitive)."""
    lowered = name.lower()
    return lowered in SECRET_NAMES or lowered.endswith(_SECRET_SUFFIXES)


def is_secret_header(name: str) -> bool:
    """Whether an HTTP header called `name` carries a secret."""
    return name.lower() in _SECRET_HEADERS or is_secret_name(name.replace("-", "_"))


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` (a server's words, say) with every occurrence of each of `secrets` as '***'."""
    for secret in secrets:  # longest first (as `Endpoint.secrets` orders them)
        text = text.replace(secret, "***")
    return text


def redact_query(path: str) -> str:
    """`path` with the values of its secret query parameters replaced by '***'."""
    from urllib.parse import unquote_plus

    location, mark, query = path.partition("?")
    if not mark:
        return path
    pairs = []
    for pair in query.split("&"):
        name, equals, _ = pair.partition("=")
        pairs.append(f"{name}=***" if equals and is_secret_name(unquote_plus(name)) else pair)
    return f"{location}?{'&'.join(pairs)}"


def redact_url(url: str) -> str:
    """`url` with its userinfo (up to the last '@') and secret query values replaced by '***'.

    A password may hold unencoded '/', '?', '#' or '@', so everything up to the last '@' goes.
    """
    url = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://).*@", r"\1***@", url, flags=re.DOTALL)
    location, mark, rest = url.partition("?")
    query, hash_mark, fragment = rest.partition("#")
    return location + mark + redact_query("?" + query)[1:] + hash_mark + fragment
