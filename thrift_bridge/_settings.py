"""A client's settings and its retry policy: frozen values that check themselves, with no I/O.

`Client`, `AsyncClient`, the registry and the framework adapters all validate through these:
a bad value raises `ConfigError` naming it and what is accepted, wherever it enters.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ._balance import BALANCERS, DEFAULT_OUTLIER_RATIO, check_outlier_ratio
from ._budget import RetryBudgetPolicy
from ._ejection import EjectionPolicy
from ._exceptions import ConfigError, shown
from ._options import OPTION_NAMES

__all__ = [
    "CLIENT_OPTIONS",
    "DEFAULT_MAX_IDLE",
    "ClientSettings",
    "RetryPolicy",
    "check_idempotent",
    "lifetime_with_jitter",
    "parse_rate",
    "split_options",
]

_Policy = TypeVar("_Policy", RetryBudgetPolicy, EjectionPolicy)
# The defaults (frozen values, so one shared instance each is safe).
_FINAGLE_BUDGET = RetryBudgetPolicy()
_FINAGLE_EJECTION = EjectionPolicy()

#: Seconds an idle connection is kept: below the idle timeouts of common load balancers and
#: proxies (HAProxy setups' usual 30 s, AWS ALB's 60 s, nginx's 75 s), so a pooled connection
#: is recycled before a balancer closes it under a call that was just sent.
DEFAULT_MAX_IDLE = 25.0

_RATE_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}


def _whole(name: str, value: object, minimum: int) -> int:
    """A whole number >= minimum, or ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"invalid {name} {shown(value)} (expected a whole number >= {minimum})")
    return value


def _seconds(name: str, value: object, *, optional: bool = False) -> Any:
    """Seconds >= 0 as a float (None allowed when optional), or ConfigError."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e9:
        accepted = "None or " if optional else ""
        raise ConfigError(
            f"invalid {name} {shown(value)} (expected {accepted}a number of seconds >= 0)"
        )
    return float(value)


def _policy(name: str, kind: type[_Policy], value: object) -> _Policy | None:
    """A policy setting as its frozen value: True (the defaults), False or None (off), a
    mapping of its fields, or the value itself; else `ConfigError`."""
    if isinstance(value, kind):
        return value
    if value is True:
        return kind()
    if value is False or value is None:
        return None
    fields = [field.name for field in dataclasses.fields(kind)]
    if isinstance(value, Mapping) and all(isinstance(key, str) for key in value):
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise ConfigError(f"unknown {name} field(s) {unknown} (expected: {', '.join(fields)})")
        return kind(**value)
    raise ConfigError(
        f"invalid {name} {shown(value)} (expected true, false, a {kind.__name__} or a mapping of "
        f"{', '.join(fields)})"
    )


def lifetime_with_jitter(max_lifetime: float, rng: random.Random | None = None) -> float:
    """`max_lifetime` give or take 10 %, drawn per connection (gRPC's max connection age
    jitter), so connections opened together are not all retired together."""
    return max_lifetime * (rng or random).uniform(0.9, 1.1)


def parse_rate(text: object) -> float:
    """Calls per second from text like '200/s', '30/min' or '1000/h'."""
    import re

    match = (
        re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*/\s*([a-z]+)\s*", text.lower())
        if isinstance(text, str)
        else None
    )
    if not match or match[2] not in _RATE_UNITS or float(match[1]) <= 0:
        raise ConfigError(
            f"invalid rate_limit {shown(text)} "
            "(expected calls per unit like '200/s', '30/min', '1000/h')"
        )
    return float(match[1]) / _RATE_UNITS[match[2]]


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """When a failed call is tried again, and after how long.

    A call is retried when its request never reached the server whole (a failed connect, a
    send cut short), or when it did and the method is `idempotent`; at most `retries` times,
    after `backoff` seconds doubled each time, with jitter::

        RetryPolicy(retries=3, backoff=0.1, idempotent={"get_customer"})
    """

    retries: int = 2
    backoff: float = 0.05
    idempotent: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Check every field (and take any iterable of method names for `idempotent`)."""
        _whole("retries", self.retries, 0)
        object.__setattr__(self, "backoff", _seconds("retry_backoff", self.backoff))
        names: object = self.idempotent
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, (list, tuple, set, frozenset)) or not all(
            isinstance(name, str) for name in names
        ):
            raise ConfigError(
                f"invalid idempotent {shown(self.idempotent)} (expected method names)"
            )
        object.__setattr__(self, "idempotent", frozenset(names))

    def may_retry(self, method: str, *, sent: bool, attempt: int) -> bool:
        """Whether failed attempt number `attempt` (0 first) of `method` may be tried again."""
        return attempt < self.retries and (not sent or method in self.idempotent)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1 first): exponential, jittered."""
        if not self.backoff:
            return 0.0
        return float(self.backoff * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0))


#: Keyword arguments of `Client` and `AsyncClient` other than endpoint options.
CLIENT_OPTIONS = (
    "balancer",
    "cooldown",
    "ejection",
    "idempotent",
    "max_idle",
    "max_lifetime",
    "middleware",
    "outlier_ratio",
    "pool_size",
    "pool_timeout",
    "rate_limit",
    "rate_limit_burst",
    "rate_limit_timeout",
    "retries",
    "retry_backoff",
    "retry_budget",
    "service_name",
    "telemetry",
)


@dataclasses.dataclass(frozen=True)
class ClientSettings:
    """Everything about a client that is not an endpoint option: pool, retries, middleware,
    and the fleet policies: `balancer` ("p2c" or "round_robin"; p2c's `outlier_ratio`, a
    number > 1 or None), `retry_budget` and `ejection` (a policy value, or True for the
    defaults, False for none, or a mapping).

    ::

        ClientSettings(pool_size=4, retry=RetryPolicy(retries=1), rate_limit="200/s")
    """

    pool_size: int = 8
    pool_timeout: float = 5.0
    max_idle: float | None = DEFAULT_MAX_IDLE
    max_lifetime: float | None = None
    cooldown: float = 5.0
    retry: RetryPolicy = RetryPolicy()
    service_name: str | None = None
    middleware: tuple[Callable[..., Any], ...] = ()
    rate_limit: str | None = None
    rate_limit_burst: int | None = None
    rate_limit_timeout: float = 1.0
    balancer: str = "p2c"
    outlier_ratio: float | None = DEFAULT_OUTLIER_RATIO
    retry_budget: RetryBudgetPolicy | None = _FINAGLE_BUDGET
    ejection: EjectionPolicy | None = _FINAGLE_EJECTION
    #: Whether installed instrumentation (`thrift_bridge.instrumentation`) follows the calls.
    telemetry: bool = True

    def __post_init__(self) -> None:
        """Check every field; a bad one raises `ConfigError` naming it."""
        set_field = object.__setattr__
        _whole("pool_size", self.pool_size, 1)
        set_field(self, "pool_timeout", _seconds("pool_timeout", self.pool_timeout))
        set_field(self, "max_idle", _seconds("max_idle", self.max_idle, optional=True))
        set_field(self, "max_lifetime", _seconds("max_lifetime", self.max_lifetime, optional=True))
        set_field(self, "cooldown", _seconds("cooldown", self.cooldown))
        if not isinstance(self.retry, RetryPolicy):
            raise ConfigError(f"invalid retry {shown(self.retry)} (expected a RetryPolicy)")
        name = self.service_name
        if name is not None and (not isinstance(name, str) or not name or ":" in name):
            raise ConfigError(
                f"invalid service_name {shown(name)} (expected a non-empty name without ':')"
            )
        layers: object = self.middleware
        if not isinstance(layers, (list, tuple)) or not all(callable(m) for m in layers):
            raise ConfigError(
                f"invalid middleware {shown(layers)} (expected a list of callables taking "
                "(call, proceed))"
            )
        set_field(self, "middleware", tuple(layers))
        if self.rate_limit is not None:
            parse_rate(self.rate_limit)
        if self.rate_limit_burst is not None:
            _whole("rate_limit_burst", self.rate_limit_burst, 1)
        set_field(
            self, "rate_limit_timeout", _seconds("rate_limit_timeout", self.rate_limit_timeout)
        )
        balancer = self.balancer.strip().lower() if isinstance(self.balancer, str) else None
        if balancer not in BALANCERS:
            raise ConfigError(
                f"unknown balancer {shown(self.balancer)} (expected one of: {', '.join(BALANCERS)})"
            )
        set_field(self, "balancer", balancer)
        try:
            set_field(self, "outlier_ratio", check_outlier_ratio(self.outlier_ratio))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        set_field(
            self, "retry_budget", _policy("retry_budget", RetryBudgetPolicy, self.retry_budget)
        )
        set_field(self, "ejection", _policy("ejection", EjectionPolicy, self.ejection))
        if not isinstance(self.telemetry, bool):
            raise ConfigError(f"invalid telemetry {shown(self.telemetry)} (expected True or False)")

    @property
    def calls_per_second(self) -> float | None:
        """`rate_limit` in calls per second, or None without a rate limit."""
        return None if self.rate_limit is None else parse_rate(self.rate_limit)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ClientSettings:
        """Settings from `Client`'s keyword arguments (`retries`, `idempotent`, ...)."""
        unknown = set(options) - set(CLIENT_OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown client option(s) {sorted(unknown)} "
                f"(expected: {', '.join(CLIENT_OPTIONS)})"
            )
        values = dict(options)
        retry = RetryPolicy(
            **{
                field: values.pop(key)
                for key, field in (
                    ("retries", "retries"),
                    ("retry_backoff", "backoff"),
                    ("idempotent", "idempotent"),
                )
                if key in values
            }
        )
        return cls(retry=retry, **values)


def split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`Client`'s keyword arguments split into (client options, endpoint options).

    A name that is neither raises `ConfigError` listing both kinds.
    """
    client, endpoint = {}, {}
    for key, value in options.items():
        if key in CLIENT_OPTIONS:
            client[key] = value
        elif key in OPTION_NAMES:
            endpoint[key] = value
        else:
            raise ConfigError(
                f"unknown option {key!r} (expected client options {', '.join(CLIENT_OPTIONS)}, "
                f"or endpoint options {', '.join(OPTION_NAMES)})"
            )
    return client, endpoint


def check_idempotent(policy: RetryPolicy, methods: Iterable[str], service: str) -> None:
    """Raise `ConfigError` unless every idempotent name is a method of the service."""
    unknown = policy.idempotent - set(methods)
    if unknown:
        raise ConfigError(
            f"idempotent names unknown method(s) {sorted(unknown)} "
            f"(methods of {service}: {', '.join(sorted(methods))})"
        )
