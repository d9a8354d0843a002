"""The work behind each `thrift-bridge` subcommand (argument parsing lives in `cli.py`)."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from thrift.Thrift import TApplicationException, TType

from .._client import Client
from .._convert import convert_args, to_dict
from .._endpoint import parse_url
from .._exceptions import ConfigError, map_exceptions
from .._service import service_methods
from .._tls import ssl_context_for
from .._wire._stack import open_transport
from ._compile import compile_cached, compile_idl
from ._stubs import run_stubs, stubs_after_compile

if TYPE_CHECKING:
    import argparse

__all__ = ["run_call", "run_compile", "run_demo", "run_describe", "run_ping", "run_stubs"]

_TYPE_NAMES = {
    TType.BOOL: "bool",
    TType.BYTE: "i8",
    TType.I16: "i16",
    TType.I32: "i32",
    TType.I64: "i64",
    TType.DOUBLE: "double",
    TType.STRING: "string",
}


def _cache_dir() -> Path:
    """Where IDL files compiled on the fly are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "thrift-bridge" / "idl"


def _compile_cached(idl: str) -> list[ModuleType]:
    """The top-level packages compiled from `idl` (once per content and compiler version)."""
    try:
        target = compile_cached(idl, _cache_dir())
    except OSError as exc:
        raise ConfigError(f"cannot compile {idl!r} into {str(_cache_dir())!r}: {exc}") from exc
    if str(target) not in sys.path:
        sys.path.insert(0, str(target))
    names = sorted(p.name for p in target.iterdir() if (p / "__init__.py").is_file())
    return [importlib.import_module(name) for name in names]


def _service_modules(package: ModuleType) -> dict[str, ModuleType]:
    """Service modules (those with a generated Client) in a package, or the module itself."""
    if hasattr(package, "Client") and hasattr(package, "Iface"):
        return {package.__name__.rpartition(".")[2]: package}
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        if info.name in ("ttypes", "constants"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "Client") and hasattr(module, "Iface"):
            found[info.name] = module
    return found


def _services(args: argparse.Namespace) -> dict[str, ModuleType]:
    """Every service named by --module or --idl."""
    if bool(args.module) == bool(args.idl):
        raise ConfigError(
            "give exactly one of --module (importable package) or --idl (.thrift file)"
        )
    if args.idl:
        packages = _compile_cached(args.idl)
    else:
        try:
            packages = [importlib.import_module(args.module)]
        except ImportError as exc:
            raise ConfigError(f"cannot import --module {args.module!r}: {exc}") from exc
    services: dict[str, ModuleType] = {}
    for package in packages:
        services.update(_service_modules(package))
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


def _type_name(ttype: int, type_args: Any) -> str:
    """IDL spelling of a thrift_spec type."""
    if ttype == TType.STRING and type_args == "BINARY":
        return "binary"
    if ttype in _TYPE_NAMES:
        return _TYPE_NAMES[ttype]
    if ttype == TType.STRUCT:
        return str(type_args[0].__name__)
    if ttype == TType.LIST:
        return f"list<{_type_name(type_args[0], type_args[1])}>"
    if ttype == TType.SET:
        return f"set<{_type_name(type_args[0], type_args[1])}>"
    if ttype == TType.MAP:
        key = _type_name(type_args[0], type_args[1])
        return f"map<{key},{_type_name(type_args[2], type_args[3])}>"
    return f"type{ttype}"


def describe_service(module: ModuleType) -> list[dict[str, Any]]:
    """Each method of a service module with its arguments, return type and exceptions."""
    methods = []
    client_class = module.Client
    for name in sorted(service_methods(client_class)):
        home = next(
            sys.modules[c.__module__]
            for c in client_class.__mro__
            if hasattr(sys.modules[c.__module__], f"{name}_args")
        )
        arguments = [
            {"name": f[2], "type": _type_name(f[1], f[3]), "id": f[0]}
            for f in getattr(home, f"{name}_args").thrift_spec
            if f is not None
        ]
        result = getattr(home, f"{name}_result", None)
        returns, throws = "void", []
        for field in (result.thrift_spec or ()) if result is not None else ():
            if field is not None and field[0] == 0:
                returns = _type_name(field[1], field[3])
            elif field is not None:
                throws.append(
                    {"name": field[2], "type": _type_name(field[1], field[3]), "id": field[0]}
                )
        methods.append(
            {
                "name": name,
                "arguments": arguments,
                "returns": returns,
                "throws": throws,
                "oneway": result is None,
            }
        )
    return methods


def run_describe(args: argparse.Namespace) -> int:
    """`describe`: services, methods, arguments and types."""
    services = {name: describe_service(module) for name, module in _services(args).items()}
    if args.json:
        print(json.dumps(services, indent=2, sort_keys=True))
        return 0
    for service, methods in sorted(services.items()):
        print(f"service {service} {{")
        for m in methods:
            params = ", ".join(map(_idl_field, m["arguments"]))
            prefix = "oneway " if m["oneway"] else ""
            throws = f" throws ({', '.join(map(_idl_field, m['throws']))})" if m["throws"] else ""
            print(f"  {prefix}{m['returns']} {m['name']}({params}){throws}")
        print("}")
    return 0


def _idl_field(field: dict[str, Any]) -> str:
    """An argument or exception as IDL writes it: ``1: i64 id``."""
    return f"{field['id']}: {field['type']} {field['name']}"


def run_compile(args: argparse.Namespace) -> int:
    """`compile`: IDL files to importable packages."""
    packages = compile_idl(args.files, args.out, compiler=args.compiler, recursive=args.recursive)
    for package in packages:
        print(f"wrote {package}")
    stubs_after_compile(args)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """`demo`: the demo service called through every scheme, protocol and transport."""
    from ..demo import run_demo as demo

    return 1 if demo() else 0
