"""`make django-example`: the demo Thrift server on loopback and the Django example in front."""

from __future__ import annotations

import os

from thrift_bridge.demo._service import CustomerServiceHandler
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.testing import serve


def main() -> None:
    """Serve the demo service, then run Django's development server until interrupted."""
    with serve(CustomerService.Processor(CustomerServiceHandler())) as thrift_server:
        os.environ["CUSTOMERS_THRIFT_URL"] = thrift_server.url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
        from django.core.management import execute_from_command_line

        port = os.environ.get("PORT", "8000")
        print(f"demo Thrift service at {thrift_server.url}; open http://127.0.0.1:{port}/")
        execute_from_command_line(["manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"])


if __name__ == "__main__":
    main()
