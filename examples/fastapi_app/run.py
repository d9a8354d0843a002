"""`make fastapi-example`: the demo Thrift server on loopback and the FastAPI app in front of it."""

from __future__ import annotations

import os

import uvicorn

from thrift_bridge.demo._service import CustomerServiceHandler
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.testing import serve


def main() -> None:
    """Serve the demo service, then run the app under uvicorn until interrupted."""
    with serve(CustomerService.Processor(CustomerServiceHandler())) as thrift_server:
        os.environ["CUSTOMERS_THRIFT_URL"] = thrift_server.url
        from .app import create_app

        port = int(os.environ.get("PORT", "8000"))
        print(f"demo Thrift service at {thrift_server.url}; open http://127.0.0.1:{port}/")
        uvicorn.run(create_app(), host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
