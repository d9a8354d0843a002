"""The work behind each `thrift-bridge` subcommand (argument parsing lives in `cli.py`)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import statistics
import sys
import time
from types import ModuleType
from typing import TYPE_CHECKING, Any

from thrift.Thrift import TApplicationException

from .._client import Client
from .._convert import convert_args, to_dict
from .._exceptions import ConfigError, map_exceptions
from .._service import service_methods
from .._tls import ssl_context_for
from .._urls import parse_url
from .._wire._stack import open_transport
from ._compile import check_package, compile_idl, package_of
from ._stubs import run_stubs, stubs_after_compile

if TYPE_CHECKING:
    import argparse

__all__ = ["run_call", "run_compile", "run_demo", "run_describe", "run_ping", "run_stubs"]


def _import(name: str) -> ModuleType:
    """Import a module named on the command line, or a ConfigError saying why not."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(f"cannot import --module {name!r}: {exc}") from exc


def _loaded_packages(idl: str) -> list[ModuleType]:
    """The packages `load` builds from `idl`: those of the files it includes, then its own."""
    from .._idl import load

    found: list[ModuleType] = []

    def visit(package: ModuleType) -> None:
        if any(package is seen for seen in found):
            return
        for value in vars(package).values():
            if isinstance(value, ModuleType) and hasattr(value, "__path__"):  # an include
                visit(value)
        found.append(package)

    visit(load(idl))
    return found


def _service_modules(package: ModuleType) -> dict[str, ModuleType]:
    """Service modules (those with a generated Client) in a package, or the module itself."""
    if hasattr(package, "Client") and hasattr(package, "Iface"):
        return {package.__name__.rpartition(".")[2]: package}
    names = getattr(package, "__all__", None)  # generated and loaded packages list theirs
    if names is None:
        names = [info.name for info in pkgutil.iter_modules(getattr(package, "__path__", []))]
    found: dict[str, ModuleType] = {}
    for name in names:
        if name in ("ttypes", "constants"):
            continue
        module = _import(f"{package.__name__}.{name}")
        if hasattr(module, "Client") and hasattr(module, "Iface"):
            found[name] = module
    return found


def _packages(args: argparse.Namespace) -> list[ModuleType]:
    """The generated or loaded packages (or service module) named by --module or --idl."""
    if bool(args.module) == bool(args.idl):
        raise ConfigError(
            "give exactly one of --module (importable package) or --idl (.thrift file)"
        )
    return _loaded_packages(args.idl) if args.idl else [_import(args.module)]


def _services_in(packages: list[ModuleType]) -> dict[str, ModuleType]:
    """Every service module of the packages, by service name."""
    services: dict[str, ModuleType] = {}
    for package in packages:
        services.update(_service_modules(package))
    return services


def _services(args: argparse.Namespace) -> dict[str, ModuleType]:
    """Every service named by --module or --idl."""
    services = _services_in(_packages(args))
    if not services:
        raise ConfigError(f"no generated service found in {args.module or args.idl!r}")
    return services


def _split_target(target: str, services: dict[str, ModuleType]) -> tuple[ModuleType, str]:
    """The service module and method name of ``Service.method``."""
    service, dot, method = target.rpartition(".")
    if not dot or not method:
        raise ConfigError(f"invalid target {target!r} (expected Service.method)")
    if service not in services:
        raise ConfigError(f"unknown service {service!r} (services: {', '.join(sorted(services))})")
    return services[service], method


def _url_options(args: argparse.Namespace) -> dict[str, Any]:
    """Endpoint options given as flags."""
    return {
        name: getattr(args, name)
        for name in ("protocol", "transport", "timeout")
        if getattr(args, name, None) is not None
    }


def _read_arguments(text: str) -> Any:
    """The call's arguments from JSON text, or from stdin for '-'."""
    raw = sys.stdin.read() if text == "-" else text
    try:
        return json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"arguments are not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise ConfigError("arguments are nested too deeply to read") from None


def _headers(pairs: list[str]) -> dict[str, str]:
    """`--header K=V` pairs as a mapping."""
    headers = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"invalid --header {pair!r} (expected NAME=VALUE)")
        headers[key] = value
    return headers


def run_call(args: argparse.Namespace) -> int:
    """`call`: one method, JSON in, JSON out."""
    services = _services(args)
    module, method = _split_target(args.target, services)
    arguments = _read_arguments(args.arguments)
    options = _url_options(args)
    headers = _headers(args.header)
    if headers:
        options["headers"] = headers
    with Client(module, args.url, retries=1, **options) as client:
        declared = service_methods(client.client_class).get(method, ())
        try:
            result = client.invoke(method, arguments)
        except TApplicationException as exc:
            _print_error(
                {"exception": "TApplicationException", "type": exc.type, "message": exc.message}
            )
            print(f"thrift-bridge: the server failed the call: {exc.message}", file=sys.stderr)
            return 1
        except declared as exc:
            _print_error({"exception": type(exc).__name__, "fields": to_dict(exc)})
            print(f"thrift-bridge: {method} raised {type(exc).__name__}", file=sys.stderr)
            return 1
    print(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False))
    return 0


def _print_error(document: dict[str, Any]) -> None:
    """A declared or application exception as JSON on stderr."""
    print(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False), file=sys.stderr)


def _summary(label: str, seconds: list[float]) -> str:
    """min/median/max of latencies in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return (
        f"{label}: min {min(ms):.3f} ms, median {statistics.median(ms):.3f} ms, "
        f"max {max(ms):.3f} ms ({len(ms)} samples)"
    )


def run_ping(args: argparse.Namespace) -> int:
    """`ping`: connect latency, and call latency with --method."""
    if args.count < 1:
        raise ConfigError(f"invalid --count {args.count} (expected 1 or more)")
    endpoint = parse_url(args.url, **_url_options(args))
    # Check --method before touching the network, so a typo is a usage error, not a timing.
    target = _split_target(args.method, _services(args)) if args.method else None
    if target is not None:
        convert_args(target[0].Client, target[1], {})  # unknown, or needs arguments: exit 2
    context = ssl_context_for(endpoint)
    connects = []
    for _ in range(args.count):
        start = time.perf_counter()
        with map_exceptions(endpoint.redacted_url, connecting=True):
            transport = open_transport(endpoint, context)
        connects.append(time.perf_counter() - start)
        transport.close()
    print(f"{endpoint.redacted_url}")
    print(_summary("connect", connects))
    if target is not None:
        module, method = target
        with Client(module, endpoint, pool_size=1) as client:
            client.invoke(method, {})  # connect and warm up outside the measurement
            calls = []
            for _ in range(args.count):
                start = time.perf_counter()
                client.invoke(method, {})
                calls.append(time.perf_counter() - start)
        print(_summary(f"call {args.method}", calls))
    return 0


def run_describe(args: argparse.Namespace) -> int:
    """`describe`: services, methods and types (structs, enums, constants) as text or JSON."""
    if args.idl and not args.module:
        from ._describe_idl import describe_idl

        document = describe_idl(args.idl)
    else:
        from ._describe import describe_compiled

        packages = _packages(args)
        document = describe_compiled(packages, _services_in(packages))
    if not any(document.values()):
        raise ConfigError(
            f"nothing to describe in {args.module or args.idl!r} (expected a generated package "
            "or service module, or a .thrift file, with services or types)"
        )
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        from ._describe import render_text

        print(render_text(document))
    return 0


def run_compile(args: argparse.Namespace) -> int:
    """`compile`: IDL files to importable packages, with .pyi stubs beside them."""
    package = check_package(args.package) if args.package is not None else package_of(args.out)
    written = compile_idl(
        args.files, args.out, package=package, compiler=args.compiler, recursive=args.recursive
    )
    for path in written:
        name = ".".join((package, *path.relative_to(args.out).parts)).lstrip(".")
        print(f"wrote {path} (import {name})")
    stubs_after_compile(args, f"{package}." if package else "")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """`demo`: the demo service called through every scheme, protocol and transport (with
    --trace: one traced call, its span tree printed)."""
    if args.trace:
        from ..demo._trace import run_trace_demo

        return run_trace_demo()
    from ..demo import run_demo as demo

    return 1 if demo() else 0
