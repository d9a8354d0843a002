"""Fuzzing the configuration surfaces: only our documented exceptions ever escape."""

from __future__ import annotations

import contextlib
import os

import django
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thrift_bridge import ArgumentError, ConfigError, from_dict
from thrift_bridge.adapters import ClientRegistry
from thrift_bridge.adapters.flask import DEFAULTS, ThriftClient

from .generated.alltypes import ttypes as alltypes
from .generated.calculator import Calculator

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_project.settings")
django.setup()

from django.test import override_settings  # noqa: E402

from thrift_bridge.adapters.django.checks import check_settings  # noqa: E402

SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
CALC = "tests.generated.calculator.Calculator"
KEYS = st.sampled_from(
    [
        "service",
        "SERVICE",
        "url",
        "URL",
        "options",
        "versions",
        "default",
        "access_key",
        "pool_size",
        "retries",
        "rate_limit",
        "service_name",
        "bogus",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        [CALC, "tcp://127.0.0.1:9", "tcp://h?transport=framed", "1.0", "200/s", "x.y.Z"]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
ENTRIES = st.dictionaries(KEYS, VALUES, max_size=6)


@SETTINGS
@given(
    st.one_of(VALUES, st.dictionaries(st.text(max_size=6), st.one_of(ENTRIES, VALUES), max_size=3))
)
def test_registry_configuration_only_raises_config_error(config):
    with contextlib.suppress(ConfigError):
        ClientRegistry(config).close()


@SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(DEFAULTS)), SCALARS, max_size=6))
def test_flask_config_only_raises_config_error_at_init_app(values):
    app = Flask(__name__)
    app.config.update({f"THRIFTCLIENT_{k}": v for k, v in values.items()})
    with contextlib.suppress(ConfigError):
        ThriftClient(Calculator.Client, app).close(app)


@SETTINGS
@given(
    st.one_of(VALUES, st.dictionaries(st.text(max_size=6), st.one_of(ENTRIES, VALUES), max_size=3))
)
def test_django_checks_report_and_never_raise(config):
    with override_settings(THRIFT_BRIDGE=config):
        errors = check_settings()
    assert all(error.id.startswith("thrift_bridge.E00") for error in errors)


@SETTINGS
@given(
    st.dictionaries(
        st.one_of(
            st.sampled_from(["URL", "SERVICE", "POOL_SIZE", "OPTIONS", "VERSIONS", "RETRIES"]),
            st.text(max_size=8),
        ).map(lambda setting: f"THRIFT_CLIENTS_{'A_' if setting[:1].isupper() else ''}{setting}"),
        st.one_of(
            st.text(max_size=12),
            st.sampled_from([CALC, "tcp://127.0.0.1:9", "4", "[1]", '{"x": 1}', "true", "1e999"]),
        ),
        max_size=5,
    )
)
def test_flat_environment_keys_only_raise_config_error(environ):
    """`os.environ`-style flat keys (strings, some JSON-looking) through `from_mapping`."""
    with contextlib.suppress(ConfigError):
        ClientRegistry.from_mapping(environ).close()


STRUCTS = [alltypes.Inner, alltypes.Everything, alltypes.Choice, alltypes.BadInput]


@SETTINGS
@given(st.sampled_from(STRUCTS), st.one_of(VALUES, st.dictionaries(st.text(max_size=8), VALUES)))
def test_dict_to_struct_conversion_only_raises_argument_error(cls, data):
    """The dict converter behind `invoke`; `convert_args` itself is fuzzed in test_convert."""
    with contextlib.suppress(ArgumentError):
        from_dict(cls, data)
