"""The ConfigError a bad endpoint raises, for the URL and option tests."""

from __future__ import annotations

import pytest

from thrift_bridge import ConfigError, ThriftBridgeError, parse_url


def config_error(url: object = None, **options: object) -> ConfigError:
    """The ConfigError that `parse_url(url, **options)` raises, checked to be all it claims."""
    with pytest.raises(ConfigError) as info:
        parse_url(url, **options)  # type: ignore[arg-type]
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, ThriftBridgeError)
    return error
