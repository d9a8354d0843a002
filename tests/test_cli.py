"""The `thrift-bridge` command, run as a real subprocess against real servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from thrift_bridge.testing import serve

from .commands import run_cli as run
from .generated.alltypes import AllTypes
from .generated.calculator import Calculator
from .handlers import AllTypesHandler, CalculatorHandler

ROOT = Path(__file__).resolve().parent.parent
ALLTYPES = "tests.generated.alltypes"


@pytest.fixture(scope="module")
def alltypes():
    with serve(AllTypes.Processor(AllTypesHandler())) as server:
        yield server.url


def test_call_prints_the_result_as_json(alltypes):
    result = run(
        "call",
        alltypes,
        "AllTypes.echo_struct",
        '{"value": {"must": "m", "names": ["b", "a"]}}',
        "--module",
        ALLTYPES,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["names"] == ["a", "b"]


def test_call_reads_arguments_from_stdin(alltypes):
    result = run(
        "call", alltypes, "AllTypes.add", "-", "--module", ALLTYPES, stdin='{"a": 2, "b": 40}'
    )
    assert (result.returncode, result.stdout.strip()) == (0, "42")


def test_declared_exception_exits_1_with_json_on_stderr(alltypes):
    result = run("call", alltypes, "AllTypes.raise_error", '{"kind": 2}', "--module", ALLTYPES)
    assert result.returncode == 1
    document = json.loads(result.stderr[: result.stderr.rindex("}") + 1])
    assert document["exception"] == "Unavailable"
    assert document["fields"]["message"]
    assert result.stderr.strip().endswith("raise_error raised Unavailable")


def test_application_exception_exits_1(alltypes):
    result = run("call", alltypes, "AllTypes.raise_error", '{"kind": 3}', "--module", ALLTYPES)
    assert result.returncode == 1
    assert '"exception": "TApplicationException"' in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["AllTypes.add", "{not json"], "arguments are not valid JSON"),
        (["AllTypes.mul", "{}"], "'mul' is not a method"),
        (["Nope.add", "{}"], "unknown service 'Nope' (services: AllTypes)"),
        (["AllTypes.add", '{"a": "x", "b": 1}'], "a: expected i64"),
        (["add", "{}"], "expected Service.method"),
        (["AllTypes.add", "[" * 30_000 + "]" * 30_000], "arguments are nested too deeply"),
        (["AllTypes.echo_string", '{"value": "\\ud800"}'], "expected string (valid Unicode)"),
        (["AllTypes.echo_double", '{"value": 1' + "0" * 400 + "}"], "does not fit"),
        (["AllTypes.add", "-"], "missing argument(s) 'a', 'b'"),  # stdin is empty
    ],
)
def test_usage_and_argument_errors_exit_2_with_one_line(alltypes, args, message):
    result = run("call", alltypes, *args, "--module", ALLTYPES, stdin="")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_url_and_missing_module_exit_2():
    assert run("call", "ftp://h", "A.b", "--module", ALLTYPES).returncode == 2
    assert run("call", "tcp://h:1", "A.b", "--module", "no.such.module").returncode == 2
    assert run("call", "tcp://h:1", "A.b").returncode == 2  # neither --module nor --idl


def test_server_down_exits_3(closed_port):
    result = run(
        "call",
        f"tcp://127.0.0.1:{closed_port}",
        "AllTypes.add",
        '{"a": 1, "b": 2}',
        "--module",
        ALLTYPES,
    )
    assert result.returncode == 3
    assert "Connection refused" in result.stderr
    assert "Traceback" not in result.stderr


def test_timeout_exits_3(alltypes):
    args = ("AllTypes.slow_echo", '{"value": "v", "delay_seconds": 1}', "--module", ALLTYPES)
    result = run("call", alltypes, *args, "--timeout", "0.2")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_flags_set_url_options_and_headers_need_a_header_endpoint(closed_port):
    with serve(
        AllTypes.Processor(AllTypesHandler()), transport="framed", protocol="compact"
    ) as srv:
        base = srv.url.split("?")[0]
        ok = run(
            "call",
            base,
            "AllTypes.add",
            '{"a": 1, "b": 1}',
            "--module",
            ALLTYPES,
            "--transport",
            "framed",
            "--protocol",
            "compact",
            "--timeout",
            "2",
        )
        assert (ok.returncode, ok.stdout.strip()) == (0, "2"), ok.stderr
    result = run(
        "call",
        f"tcp://127.0.0.1:{closed_port}",
        "AllTypes.add",
        "{}",
        "--module",
        ALLTYPES,
        "--header",
        "x=y",
    )
    assert result.returncode == 2
    assert "headers apply to http(s) and to THeader endpoints" in result.stderr
    with serve(AllTypes.Processor(AllTypesHandler()), scheme="http") as srv:
        args = ("AllTypes.echo_i64", '{"value": 7}', "--module", ALLTYPES)
        ok = run("call", srv.url, *args, "--header", "X-Request-Id=r1")
        assert (ok.returncode, ok.stdout.strip()) == (0, "7"), ok.stderr
        bad = run("call", srv.url, *args, "--header", "no-equals-sign")
        assert bad.returncode == 2
        assert "invalid --header 'no-equals-sign' (expected NAME=VALUE)" in bad.stderr


def test_call_and_describe_with_idl_need_no_compiler(tmp_path):
    no_compiler = {"PATH": str(tmp_path / "empty")}  # not even /usr/bin: no thrift on PATH
    with serve(Calculator.Processor(CalculatorHandler())) as server:
        idl = str(ROOT / "idl" / "calculator.thrift")
        args = ("Calculator.add", '{"num1": 20, "num2": 22}', "--idl", idl)
        called = run("call", server.url, *args, env=no_compiler)
        assert (called.returncode, called.stdout.strip()) == (0, "42"), called.stderr
    shared = tmp_path / "shared.thrift"
    shared.write_text("struct Point { 1: i32 x }\nservice Base { void ping() }\n")
    main = tmp_path / "main.thrift"
    main.write_text('include "shared.thrift"\nnamespace py main\nservice S { shared.Point f() }\n')
    described = run("describe", "--idl", str(main), env=no_compiler)
    assert "service S {\n  shared.Point f()\n}" in described.stdout, described.stderr
    assert "service Base {" in described.stdout  # an included file's services too
    main.write_text('include "shared.thrift"\nservice S extends shared.Base { void g() }\n')
    edited = run("describe", "--idl", str(main), env=no_compiler)
    assert "service S {\n  void g()\n  void ping()\n}" in edited.stdout, edited.stderr
    missing = run("describe", "--idl", str(tmp_path / "nope.thrift"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    broken = tmp_path / "broken.thrift"
    broken.write_text("service S { Nope f() }\n")
    refused = run("describe", "--idl", str(broken))
    assert refused.returncode == 2
    assert "broken.thrift:1:13: unknown type 'Nope'" in refused.stderr


def test_ping_reports_connect_and_call_latency(alltypes):
    result = run(
        "ping", alltypes, "--count", "3", "--method", "AllTypes.last_fired", "--module", ALLTYPES
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("connect: min ")
    assert "(3 samples)" in lines[1]
    assert lines[2].startswith("call AllTypes.last_fired: min ")


def test_ping_server_down_exits_3(closed_port):
    result = run("ping", f"tcp://127.0.0.1:{closed_port}")
    assert result.returncode == 3
    assert "Connection refused" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "AllTypes.last_fired"], "give exactly one of --module"),
        (["--method", "AllTypes.add", "--module", ALLTYPES], "missing argument(s) 'a', 'b'"),
        (["--method", "AllTypes.nope", "--module", ALLTYPES], "no method 'nope'"),
        (["--count", "0"], "invalid --count 0"),
    ],
)
def test_ping_checks_its_arguments_before_connecting(closed_port, args, message):
    result = run("ping", f"tcp://127.0.0.1:{closed_port}", *args)
    assert result.returncode == 2  # not 3: nothing was dialled
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_demo_runs_every_combination():
    result = run("demo")
    assert result.returncode == 0, result.stderr
    assert " 0 failed." in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].split()[-4:] == ["sync", "µs", "async", "µs"]
    rows = [line.split() for line in lines[2:] if "://" in line]
    assert len(rows) == 58  # every scheme x protocol x transport, TLS rows too
    for row in rows:  # both clients answered, each with a latency
        assert row[-4:-2] == ["2", "accounts"], row
        assert row[-2].isdigit(), row
        assert row[-1].isdigit(), row


def test_compile_writes_packages_and_reports_missing_files(compiler, tmp_path):
    idl = str(ROOT / "idl" / "calculator.thrift")
    result = run("compile", idl, "-o", str(tmp_path), "--package", "gen", "--compiler", compiler)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"wrote {tmp_path / 'calculator'} (import gen.calculator)\nwrote 3 stub files\n"
    )
    assert (tmp_path / "calculator" / "Calculator.py").is_file()
    assert not list(tmp_path.rglob("*-remote"))
    missing = run("compile", str(tmp_path / "nope.thrift"), "-o", str(tmp_path), "--package", "g")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


@pytest.mark.parametrize("command", ["call", "ping", "describe", "compile", "demo"])
def test_every_subcommand_has_help_with_examples(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "example" in result.stdout


def test_version_and_no_command():
    from thrift_bridge import __version__

    assert run("--version").stdout.strip() == f"thrift-bridge {__version__}"
    assert run().returncode == 2
    assert run("bogus").returncode == 2
