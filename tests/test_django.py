"""The Django adapter with Django's test client, system checks and real Thrift servers."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client as DjangoClient
from django.test import override_settings

from thrift_bridge import ConfigError
from thrift_bridge.adapters.django import clients
from thrift_bridge.demo._service import CustomerServiceHandler
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.testing import serve

from .generated.calculator import Calculator
from .gunicorn import Gunicorn, pids_answering
from .handlers import CalculatorHandler

ROOT = Path(__file__).resolve().parent.parent
CALC = "tests.generated.calculator.Calculator"


@pytest.fixture(scope="module", autouse=True)
def _django_project(django_setup):
    """Django set up with tests/django_project when these tests run (conftest.py)."""


def test_views_call_through_request_thrift(calc_settings):
    web = DjangoClient()
    assert web.get("/add/2/3").content == b"5"
    assert web.get("/plain").content == b"no thrift here"


def test_clients_like_caches_one_pool_per_alias(calc_settings):
    assert clients["calc"] is clients["calc"]
    assert clients["calc"].add(1, 1) == 2
    assert list(clients) == ["calc"]
    with pytest.raises(ConfigError, match=r"under 'nope' \(configured: calc\)"):
        clients["nope"]


def test_pinned_connection_released_with_the_response_and_after_errors(calc_settings):
    web = DjangoClient(raise_request_exception=False)
    assert web.get("/pinned/10").content == b"11 12 in_use=1"
    assert clients["calc"].stats()["in_use"] == 0
    assert web.get("/pinned-then-fail").status_code == 500
    stats = clients["calc"].stats()
    assert stats["in_use"] == 0
    assert stats["discarded"] == 0


def test_unknown_alias_on_request_thrift_lists_the_configured(calc_settings):
    assert DjangoClient().get("/missing-alias").content == (
        b"no Thrift client 'nope' in settings.THRIFT_BRIDGE (configured: calc)"
    )


def test_override_settings_rebuilds_clients(calc_settings):
    first = clients["calc"]
    with serve(Calculator.Processor(CalculatorHandler()), protocol="compact") as other:
        config = {"calc": {"SERVICE": CALC, "URL": other.url}}
        with override_settings(THRIFT_BRIDGE=config):
            assert clients["calc"] is not first
            assert first.closed
            assert clients["calc"].endpoints[0].protocol == "compact"
            assert clients["calc"].add(3, 4) == 7
    assert clients["calc"].endpoints[0].protocol == "binary"


def test_wire_options_in_url_or_options(calc_settings):
    with serve(Calculator.Processor(CalculatorHandler()), transport="framed") as framed:
        base = framed.url.split("?")[0]
        config = {
            "in_url": {"SERVICE": CALC, "URL": framed.url},
            "in_options": {"SERVICE": CALC, "URL": base, "OPTIONS": {"transport": "framed"}},
        }
        with override_settings(THRIFT_BRIDGE=config):
            assert clients["in_url"].add(1, 2) == clients["in_options"].add(1, 2) == 3
            assert clients["in_url"].endpoints == clients["in_options"].endpoints


def test_threads_share_the_pool(calc_settings):
    web = DjangoClient()

    def hammer(n):
        return all(web.get(f"/add/{n}/{i}").content == str(n + i).encode() for i in range(30))

    with ThreadPoolExecutor(12) as pool:
        assert all(pool.map(hammer, range(12)))
    stats = clients["calc"].stats()
    assert stats["open"] <= 4
    assert stats["in_use"] == 0


@pytest.mark.parametrize(
    ("config", "error_id", "text"),
    [
        (["not", "a", "mapping"], "thrift_bridge.E001", "must be a mapping of alias"),
        ({"calc": "tcp://h:1"}, "thrift_bridge.E001", "must be a mapping"),
        (
            {"calc": {"SERVICE": CALC, "COLOUR": 1}},
            "thrift_bridge.E002",
            "unknown setting(s) COLOUR",
        ),
        ({"calc": {"URL": "tcp://h:1"}}, "thrift_bridge.E003", "SERVICE is missing"),
        ({"calc": {"SERVICE": "no.such.Service"}}, "thrift_bridge.E003", "cannot import service"),
        ({"calc": {"SERVICE": CALC, "URL": "tcp://h:99999"}}, "thrift_bridge.E004", "invalid port"),
        (
            {"calc": {"SERVICE": CALC, "URL": "tcp://h?protocol=x"}},
            "thrift_bridge.E004",
            "unknown protocol",
        ),
        ({"calc": {"SERVICE": CALC, "POOL_SIZE": 0}}, "thrift_bridge.E004", "invalid pool_size"),
        ({"calc": {"SERVICE": CALC, "OPTIONS": {"tiemout": 1}}}, "thrift_bridge.E005", "tiemout"),
    ],
)
def test_system_checks_report_each_problem_with_a_stable_id(config, error_id, text):
    with override_settings(THRIFT_BRIDGE=config):
        with pytest.raises(SystemCheckError) as info:
            call_command("check", stdout=StringIO(), stderr=StringIO())
    message = str(info.value)
    assert error_id in message
    assert text in message
    assert "HINT:" in message


def test_valid_settings_pass_the_checks_without_network():
    config = {"calc": {"SERVICE": CALC, "URL": "tcp://192.0.2.1:9"}}  # nothing listens there
    with override_settings(THRIFT_BRIDGE=config):
        out = StringIO()
        call_command("check", stdout=out)
    assert "no issues" in out.getvalue()


def test_no_setting_means_no_clients_and_no_check_errors():
    with override_settings():
        del settings.THRIFT_BRIDGE
        clients.reset()
        out = StringIO()
        call_command("check", stdout=out)
        assert "no issues" in out.getvalue()
        with pytest.raises(ConfigError, match=r"configured: none"):
            clients["calc"]
    clients.reset()


def test_importing_the_adapter_reads_no_settings():
    code = (
        "import sys, thrift_bridge.adapters.django as d; from django.conf import settings; "
        "assert not settings.configured; assert d.clients is not None; print('ok')"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_example_project_under_gunicorn_with_3_preloaded_workers():
    """Workers forked after the master used the pool each open their own connections."""
    with serve(CustomerService.Processor(CustomerServiceHandler())) as thrift_server:
        env = {
            "CUSTOMERS_THRIFT_URL": thrift_server.url,
            "DJANGO_SETTINGS_MODULE": "examples.django_app.settings",
        }
        server = Gunicorn("tests.django_project.wsgi_preload", env, "/api/customers/1")
        try:
            assert thrift_server.connections_accepted >= 1  # the master's, before the fork
            pids = pids_answering(server.url("/api/customers/1"))
            assert len(pids) >= 2, f"only {pids} answered; {server.log_tail()}"
            # The master's connection plus at least one of each worker's own.
            assert thrift_server.connections_accepted >= 1 + len(pids)
            with urllib.request.urlopen(server.url("/?customer_id=1"), timeout=10) as r:
                assert b"Ada Lovelace" in r.read()
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(server.url("/?customer_id=999"), timeout=10)
            with missing.value as answer:  # 404, with the page saying why
                assert (answer.code, b"no customer with id 999" in answer.read()) == (404, True)
        finally:
            server.stop()


def test_telemetry_false_opts_an_alias_out_of_instrumentation(calc_settings):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from thrift_bridge.instrumentation import ThriftBridgeInstrumentor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = ThriftBridgeInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    config = {
        "traced": {"SERVICE": CALC, "URL": calc_settings.url},
        "quiet": {"SERVICE": CALC, "URL": calc_settings.url, "TELEMETRY": False},
    }
    try:
        with override_settings(THRIFT_BRIDGE=config):
            assert clients["quiet"].settings.telemetry is False
            assert clients["quiet"].add(1, 1) == 2
            assert clients["traced"].add(2, 2) == 4
            clients.reset()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    assert [span.name for span in exporter.get_finished_spans() if span.kind.name == "CLIENT"] == [
        "Calculator/add"
    ]
