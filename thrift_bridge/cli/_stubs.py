"""`thrift-bridge stubs`, and the stubs `thrift-bridge compile` writes beside what it compiled."""

from __future__ import annotations

import importlib.util
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

__all__ = ["add_stubs_command", "add_stubs_flag", "run_stubs", "stubs_after_compile"]

_EXAMPLES = """examples:
  thrift-bridge stubs shop.thrift -o typings          # then load("shop.thrift", module_name="shop")
  thrift-bridge stubs idl/billing.thrift -o src/myapp/idl --package myapp.idl -I idl/common
"""


def add_stubs_command(commands: argparse._SubParsersAction[Any]) -> None:
    """The ``stubs`` subcommand."""
    import argparse

    stubs = commands.add_parser(
        "stubs",
        help="write .pyi type stubs for .thrift files (what thrift_bridge.load() builds)",
        description="Write ttypes.pyi, constants.pyi, <Service>.pyi and __init__.pyi for each "
        "IDL file and the files it includes, under DIR/<package>/ (no compiler needed).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stubs.add_argument("files", nargs="+", help=".thrift files")
    stubs.add_argument("-o", "--out", required=True, help="output directory")
    stubs.add_argument(
        "--package",
        default="",
        help="the Python package DIR is, if any (stubs import included files through it)",
    )
    stubs.add_argument(
        "-I",
        "--include-dir",
        action="append",
        default=[],
        dest="include_dirs",
        help="where else to look for included files; repeatable",
    )


def add_stubs_flag(compile_cmd: argparse.ArgumentParser) -> None:
    """``compile --no-stubs``."""
    compile_cmd.add_argument(
        "--no-stubs",
        action="store_true",
        help="write no .pyi stubs beside the compiled modules (stubs need the idl extra)",
    )


def run_stubs(args: argparse.Namespace) -> int:
    """`stubs`: .pyi files for IDL files, in the shape `thrift_bridge.load` gives them."""
    from .._stubs import write_stubs

    prefix = f"{args.package.strip('.')}." if args.package.strip(".") else ""
    for path in write_stubs(
        args.files, args.out, package_prefix=prefix, include_dirs=args.include_dirs, loaded=True
    ):
        print(f"wrote {path}")
    return 0


def stubs_after_compile(args: argparse.Namespace, package_prefix: str) -> None:
    """After `compile`: the stubs of the packages just compiled, unless ``--no-stubs``.

    `package_prefix` must be the one the modules were compiled with (their imports use it).
    """
    if args.no_stubs:
        return
    if importlib.util.find_spec("lark") is None:
        # Compiling needs only Apache's compiler; say plainly that the stubs were not written.
        print(
            "thrift-bridge: no .pyi stubs written: they need the lark parser "
            "(pip install 'thrift-bridge[idl]'); --no-stubs silences this",
            file=sys.stderr,
        )
        return
    from .._stubs import write_stubs

    written = write_stubs(
        args.files, args.out, package_prefix=package_prefix, recursive=args.recursive
    )
    print(f"wrote {len(written)} stub files")
