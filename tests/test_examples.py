"""The example apps answer 400/404/422 for bad input and `status_for`'s status for a failing
service, never 500: Flask through its test client, Django under real gunicorn; and manage.py
runs from its folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.testing import serve, serve_raw

from .gunicorn import Gunicorn
from .handlers import CustomerServiceHandler

if TYPE_CHECKING:
    import socket

ROOT = Path(__file__).resolve().parent.parent
TOO_BIG = "99999999999999999999999"  # an int Python holds and i64 does not
I64_ERROR = "CustomerService.get_customer: id: expected i64"
UNAVAILABLE = "The customer service is unavailable"


def not_http(sock: socket.socket) -> None:
    """A scripted peer that reads a request and answers bytes that are not Thrift."""
    sock.recv(65536)
    sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def demo_server():
    with serve(CustomerService.Processor(CustomerServiceHandler())) as server:
        yield server


@pytest.fixture
def flask_app(monkeypatch):
    """The Flask example's app factory, with THRIFTCLIENT_TRANSPORT set by the test."""
    from examples.flask_app.app import create_app

    apps = []

    def make(url: str):
        monkeypatch.setenv("THRIFTCLIENT_TRANSPORT", url)
        app = create_app()
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["thriftclient"].close()


def test_flask_example_answers_bad_input_with_4xx(flask_app, demo_server):
    web = flask_app(demo_server.url)
    assert web.post("/", data={"customer_id": "1"}).status_code == 200
    answer = web.post("/", data={"customer_id": "x"})
    assert (answer.status_code, b"Please enter a customer number." in answer.data) == (400, True)
    answer = web.post("/", data={"customer_id": "999"})
    assert (answer.status_code, b"no customer with id 999" in answer.data) == (404, True)
    answer = web.post("/", data={"customer_id": TOO_BIG})
    assert (answer.status_code, b"out of range" in answer.data) == (422, True)
    answer = web.get(f"/api/customers/{TOO_BIG}")
    assert answer.status_code == 422
    assert answer.get_json()["error"].startswith(f"{I64_ERROR} (")
    assert web.get("/api/customers/999").status_code == 404
    assert web.get("/api/customers/1").status_code == 200  # the pool survived the bad input


def test_flask_example_answers_502_for_a_service_that_is_down(flask_app, closed_port):
    web = flask_app(f"tcp://127.0.0.1:{closed_port}?connect_timeout=1")
    answer = web.get("/api/customers/1")
    assert (answer.status_code, answer.get_json()["error"].startswith(UNAVAILABLE)) == (502, True)
    answer = web.post("/", data={"customer_id": "1"})
    assert (answer.status_code, UNAVAILABLE.encode() in answer.data) == (502, True)


def test_flask_example_answers_502_for_a_service_that_answers_garbage(flask_app):
    with serve_raw(not_http) as raw:
        web = flask_app(raw.url)
        answer = web.get("/api/customers/1")
        assert (answer.status_code, answer.get_json()["error"].startswith(UNAVAILABLE)) == (
            502,
            True,
        )


def fetch(url: str) -> tuple[int, bytes]:
    """(status, body) of a GET, 4xx and 5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def django_example(thrift_url: str) -> Gunicorn:
    """The Django example project under gunicorn, calling `thrift_url`."""
    env = {
        "CUSTOMERS_THRIFT_URL": thrift_url,
        "DJANGO_SETTINGS_MODULE": "examples.django_app.settings",
    }
    return Gunicorn("examples.django_app.wsgi:application", env, "/")


def test_django_example_answers_bad_input_with_4xx(demo_server):
    server = django_example(demo_server.url)
    try:
        assert fetch(server.url("/?customer_id=1"))[0] == 200
        status, body = fetch(server.url("/?customer_id=x"))
        assert (status, b"Please enter a customer number." in body) == (400, True)
        status, body = fetch(server.url("/?customer_id=999"))
        assert (status, b"no customer with id 999" in body) == (404, True)
        status, body = fetch(server.url(f"/?customer_id={TOO_BIG}"))
        assert (status, b"out of range" in body) == (422, True)
        status, body = fetch(server.url(f"/api/customers/{TOO_BIG}"))
        assert status == 422
        assert json.loads(body)["error"].startswith(f"{I64_ERROR} (")
        assert fetch(server.url("/api/customers/999"))[0] == 404
    finally:
        server.stop()


def test_django_example_answers_502_for_a_failing_service(closed_port):
    down = django_example(f"tcp://127.0.0.1:{closed_port}?connect_timeout=1")
    try:
        for path in ("/api/customers/1", "/?customer_id=1"):
            status, body = fetch(down.url(path))
            assert (status, UNAVAILABLE.encode() in body) == (502, True)
    finally:
        down.stop()
    with serve_raw(not_http) as raw:
        garbage = django_example(raw.url)
        try:
            status, body = fetch(garbage.url("/api/customers/1"))
            assert (status, UNAVAILABLE.encode() in body) == (502, True)
        finally:
            garbage.stop()


def test_django_manage_py_runs_from_its_folder():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT / "examples" / "django_app",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout
