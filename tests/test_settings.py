"""`ClientSettings` and `RetryPolicy` built directly (property tests): valid values construct
and round-trip through `Client`'s keyword arguments; anything else is a `ConfigError` naming
the bad value and what is accepted, never another exception."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from thrift_bridge import Client, ClientSettings, ConfigError, RetryPolicy
from thrift_bridge._exceptions import shown

from .generated.alltypes import AllTypes

SETTINGS = settings(max_examples=200, deadline=None)

METHODS = sorted(Client(AllTypes, "tcp://127.0.0.1:1").methods)
SECONDS = st.one_of(
    st.floats(min_value=0, max_value=1e8, allow_nan=False),
    st.integers(0, 10**8),
)
RATES = st.builds(
    "{}/{}".format,
    st.one_of(st.integers(1, 10**6), st.floats(0.001, 1e6).map(lambda f: f"{f:.3f}")),
    st.sampled_from(["s", "sec", "m", "min", "h", "hour"]),
)


def noop(call: Any, proceed: Any) -> Any:
    """A middleware that hands every call on."""
    return proceed(call)


def retry_policies() -> st.SearchStrategy[RetryPolicy]:
    """Valid retry policies, built directly."""
    return st.builds(
        RetryPolicy,
        retries=st.integers(0, 100),
        backoff=SECONDS,
        idempotent=st.one_of(
            st.frozensets(st.sampled_from(METHODS)),
            st.lists(st.sampled_from(METHODS)),
            st.sampled_from(METHODS),  # one name
        ),
    )


def client_settings() -> st.SearchStrategy[ClientSettings]:
    """Valid client settings, built directly."""
    return st.builds(
        ClientSettings,
        pool_size=st.integers(1, 10_000),
        pool_timeout=SECONDS,
        max_idle=st.none() | SECONDS,
        max_lifetime=st.none() | SECONDS,
        cooldown=SECONDS,
        retry=retry_policies(),
        service_name=st.none() | st.text(min_size=1, max_size=10).filter(lambda t: ":" not in t),
        middleware=st.lists(st.just(noop), max_size=2),
        rate_limit=st.none() | RATES,
        rate_limit_burst=st.none() | st.integers(1, 10_000),
        rate_limit_timeout=SECONDS,
    )


def client_options(value: ClientSettings) -> dict[str, Any]:
    """The settings as `Client`'s keyword arguments."""
    options = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    retry = options.pop("retry")
    options.update(retries=retry.retries, retry_backoff=retry.backoff, idempotent=retry.idempotent)
    return options


@SETTINGS
@given(client_settings())
def test_valid_settings_built_directly_round_trip_through_clients_options(value):
    assert dataclasses.replace(value) == value  # its fields are in their one spelling
    options = client_options(value)
    assert ClientSettings.from_options(options) == value
    assert Client(AllTypes, "tcp://127.0.0.1:1", **options).settings == value  # opens nothing


@SETTINGS
@given(retry_policies())
def test_valid_retry_policies_built_directly_keep_their_values(policy):
    assert dataclasses.replace(policy) == policy
    assert isinstance(policy.idempotent, frozenset)
    assert policy.may_retry("add", sent=False, attempt=0) is (policy.retries > 0)
    assert policy.may_retry("add", sent=False, attempt=policy.retries) is False
    sent_again = policy.retries > 0 and "add" in policy.idempotent
    assert policy.may_retry("add", sent=True, attempt=0) is sent_again
    assert 0 <= policy.delay(1) <= policy.backoff


#: Values that are wrong for most fields, and right for some.
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**5000, -(10**5000), 2**63, -1, 0, 1e9, float("inf"), float("nan")]),
    st.floats(),
    st.decimals(allow_nan=True),
    st.fractions(),
    st.complex_numbers(),
    st.text(max_size=8),
    st.sampled_from(["9" * 5000, "\ud800", "200/s", "0/s", "1/fortnight", "a:b", "add"]),
    st.binary(max_size=4),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), st.just(noop)), max_size=2),
    st.sets(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object),
    st.just(noop),
    retry_policies(),
)


def names_the_value(message: str, name: str, value: object) -> bool:
    """Whether an error message names the bad value, or at least the field it was given for."""
    return shown(value) in message or name in message


def check_refusal(error: ConfigError, name: str, value: object) -> None:
    """The refusal names the value (or its field) and says what is accepted."""
    message = str(error)
    assert names_the_value(message, name, value), message
    assert re.search(r"\(expected", message), message


@SETTINGS
@example("pool_size", 0)
@example("pool_timeout", 10**5000)
@example("max_idle", float("nan"))
@example("retry", 3)
@example("rate_limit", "fast")
@given(st.sampled_from([f.name for f in dataclasses.fields(ClientSettings)]), ANY_VALUE)
def test_any_settings_value_constructs_or_raises_config_error_naming_it(name, value):
    try:
        built = ClientSettings(**{name: value})
    except ConfigError as exc:
        check_refusal(exc, "retry_backoff" if name == "backoff" else name, value)
    else:
        assert ClientSettings.from_options(client_options(built)) == built


@SETTINGS
@example("retries", -1)
@example("backoff", "soon")
@example("idempotent", 7)
@given(st.sampled_from([f.name for f in dataclasses.fields(RetryPolicy)]), ANY_VALUE)
def test_any_retry_policy_value_constructs_or_raises_config_error_naming_it(name, value):
    try:
        policy = RetryPolicy(**{name: value})
    except ConfigError as exc:
        check_refusal(exc, "retry_backoff" if name == "backoff" else name, value)
    else:
        assert dataclasses.replace(policy) == policy
