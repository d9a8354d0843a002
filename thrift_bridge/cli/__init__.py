"""The `thrift-bridge` command (also `python -m thrift_bridge`): call, ping, describe, ...

Exit codes: 0 ok; 1 the server answered with a declared exception or TApplicationException;
2 usage or configuration error; 3 connection or transport error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError, ThriftBridgeError, TransportError
from ._stubs import add_stubs_command, add_stubs_flag

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["EXIT_ANSWERED_WITH_ERROR", "EXIT_OK", "EXIT_TRANSPORT", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_ANSWERED_WITH_ERROR = 1
EXIT_USAGE = 2
EXIT_TRANSPORT = 3

_CALL_EXAMPLES = """examples:
  thrift-bridge call tcp://127.0.0.1:9090 CustomerService.get_customer '{"id": 1}' \\
      --module thrift_bridge.generated.demo
  echo '{"num1": 1, "num2": 2}' | thrift-bridge call unix:///run/calc.sock Calculator.add - \\
      --idl idl/calculator.thrift --protocol compact
  thrift-bridge call https://api/rpc Billing.charge '{"cents": 5}' --module gen.billing \\
      --header X-Request-Id=r1 --timeout 2
"""


class _Parser(argparse.ArgumentParser):
    """argparse with our exit code for usage errors."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from .._version import __version__

    parser = _Parser(
        prog="thrift-bridge",
        description="Call Thrift services named by one URL.",
        epilog="run 'thrift-bridge COMMAND --help' for each command's options and examples",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    raw = argparse.RawDescriptionHelpFormatter

    call = commands.add_parser(
        "call",
        help="call one method with JSON arguments and print the JSON result",
        description="Call Service.method at URL with a JSON object of arguments ('-': stdin).",
        epilog=_CALL_EXAMPLES,
        formatter_class=raw,
    )
    call.add_argument("url", help="endpoint URL, e.g. tcp://127.0.0.1:9090?protocol=compact")
    call.add_argument("target", help="Service.method")
    call.add_argument("arguments", nargs="?", default="{}", help="JSON object, or - for stdin")
    _add_module_options(call)
    _add_wire_options(call)
    call.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="K=V",
        help="header sent with the call (http(s) or THeader endpoints); repeatable",
    )

    ping = commands.add_parser(
        "ping",
        help="measure connect (and, with --method, call) latency",
        description="Open COUNT connections and report connect latency; with --method, also "
        "call that method (no arguments) COUNT times and report its round trip.",
        epilog="examples:\n  thrift-bridge ping tcp://127.0.0.1:9090 --count 20\n"
        "  thrift-bridge ping tcp://127.0.0.1:9090 --method CustomerService.ping "
        "--module thrift_bridge.generated.demo",
        formatter_class=raw,
    )
    ping.add_argument("url", help="endpoint URL")
    ping.add_argument("--count", type=int, default=5, help="how many times (default 5)")
    ping.add_argument("--method", help="Service.method taking no arguments")
    _add_module_options(ping)
    _add_wire_options(ping)

    describe = commands.add_parser(
        "describe",
        help="list services, methods, structs, enums and constants",
        description="Describe the services (methods, arguments, results, exceptions) and the "
        "types (structs, unions, exceptions, enums, typedefs, constants) of generated code or "
        "of an IDL file, as IDL-like text or JSON. --idl shows what compiled code cannot: "
        "typedef and enum names of fields, optional fields, unions and constant types.",
        epilog="examples:\n  thrift-bridge describe --module thrift_bridge.generated.demo\n"
        "  thrift-bridge describe --idl idl/demo.thrift --json",
        formatter_class=raw,
    )
    _add_module_options(describe)
    describe.add_argument("--json", action="store_true", help="machine-readable output")

    compile_cmd = commands.add_parser(
        "compile",
        help="compile .thrift files with the Apache Thrift compiler",
        description="Compile IDL files into packages under OUT whose imports match the package "
        "OUT is imported as (the compiler's *-remote scripts, which use eval, are deleted).",
        epilog="examples:\n"
        "  thrift-bridge compile -r shop.thrift -o myapp/gen  # import myapp.gen.shop\n"
        "  thrift-bridge compile shop.thrift -o src/myapp/gen --package myapp.gen\n"
        "  thrift-bridge compile idl/*.thrift -o .  # top-level packages",
        formatter_class=raw,
    )
    compile_cmd.add_argument("files", nargs="+", help=".thrift files")
    compile_cmd.add_argument("-o", "--out", required=True, help="output directory")
    compile_cmd.add_argument(
        "--package",
        help="the dotted name OUT is imported as (default: OUT's path from the current "
        "directory, e.g. myapp.gen for -o myapp/gen)",
    )
    compile_cmd.add_argument("--compiler", default="thrift", help="compiler executable")
    compile_cmd.add_argument(
        "-r", "--recursive", action="store_true", help="also compile the files they include"
    )
    add_stubs_flag(compile_cmd)
    add_stubs_command(commands)

    demo = commands.add_parser(
        "demo",
        help="serve the demo service on loopback and call it through every URL scheme",
        description="Start the demo customer service on loopback (tcp, tcps, unix, unixs, "
        "http, https), call it through every scheme x protocol x transport, print a table.",
        epilog="examples:\n  thrift-bridge demo\n  thrift-bridge demo --trace",
        formatter_class=raw,
    )
    demo.add_argument(
        "--trace",
        action="store_true",
        help="instead, make one call with OpenTelemetry tracing on (client and server) and "
        "print its span tree (needs the otel extra and opentelemetry-sdk)",
    )
    return parser


def _add_module_options(parser: argparse.ArgumentParser) -> None:
    """--module / --idl: where the generated code comes from."""
    source = parser.add_argument_group("generated code (one of)")
    source.add_argument("--module", help="generated package or service module, importable")
    source.add_argument(
        "--idl", help=".thrift file, parsed by thrift_bridge.load (no compiler needed)"
    )


def _add_wire_options(parser: argparse.ArgumentParser) -> None:
    """--protocol / --transport / --timeout: URL options from flags."""
    parser.add_argument("--protocol", help="binary, compact, json or header")
    parser.add_argument("--transport", help="buffered, framed, zlib or header")
    parser.add_argument("--timeout", help="seconds for the reply (e.g. 2, 500ms)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _import_from_working_directory()
    from . import _commands as cli_commands

    handler = getattr(cli_commands, f"run_{args.command}")
    try:
        return int(handler(args))
    except TransportError as exc:
        print(f"thrift-bridge: {exc}", file=sys.stderr)
        return EXIT_TRANSPORT
    except (ConfigError, json.JSONDecodeError) as exc:
        print(f"thrift-bridge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ThriftBridgeError as exc:  # pool errors and the like: the call did not happen
        print(f"thrift-bridge: {exc}", file=sys.stderr)
        return EXIT_TRANSPORT


def _import_from_working_directory() -> None:
    """Put the working directory first on ``sys.path``, as ``python -m`` does, if it is not there.

    An installed console script starts with its own directory there instead, so without this
    ``thrift-bridge call --module gen.shop`` could not import the ``gen`` compiled beside you.
    """
    if getattr(sys.flags, "safe_path", False):  # python -P / PYTHONSAFEPATH: -m adds none either
        return
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was deleted: nothing there to import
        return
    if not any(os.path.abspath(entry or os.curdir) == cwd for entry in sys.path):
        sys.path.insert(0, cwd)
