"""The Django app config: registers the system checks."""

from __future__ import annotations

from django.apps import AppConfig


class ThriftBridgeConfig(AppConfig):
    """``INSTALLED_APPS = [..., "thrift_bridge.adapters.django"]``."""

    name = "thrift_bridge.adapters.django"
    label = "thrift_bridge"
    verbose_name = "Thrift clients (thrift-bridge)"

    def ready(self) -> None:
        """Register the system checks of THRIFT_CLIENTS."""
        from . import checks  # noqa: F401 - registers the checks
