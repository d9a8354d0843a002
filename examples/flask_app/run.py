"""`make flask-example`: the demo Thrift server on loopback and the Flask app in front of it."""

from __future__ import annotations

import os

from thrift_bridge.demo._service import CustomerServiceHandler
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.testing import serve


def main() -> None:
    """Serve the demo service, then run the Flask development server until interrupted."""
    with serve(CustomerService.Processor(CustomerServiceHandler())) as thrift_server:
        os.environ["THRIFTCLIENT_TRANSPORT"] = thrift_server.url
        from .app import create_app

        port = int(os.environ.get("PORT", "5000"))
        print(f"demo Thrift service at {thrift_server.url}; open http://127.0.0.1:{port}/")
        create_app().run(host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
