"""Load a Thrift IDL file at run time, without the Thrift compiler (`thrift_bridge.load`).

    shop = thrift_bridge.load("shop.thrift")
    client = thrift_bridge.Client(shop.Shop, "tcp://127.0.0.1:9090")
    client.get_item(shop.ItemId(1))

The result has the shape of the package ``thrift --gen py`` writes (``shop.ttypes``,
``shop.constants``, ``shop.Shop`` with ``Iface``, ``Client``, ``Processor``, ``<method>_args``
and ``<method>_result``), with the same ``thrift_spec`` tuples, signatures and wire behaviour,
so it goes anywhere a compiled service goes. Types, enums, constants and services are also on
the package itself (``shop.Item``), as with thriftpy2.

Module names: the package is registered in ``sys.modules`` as `module_name` when given (it
must not name an existing module), else as ``thrift_bridge._idl.loaded.<package>`` where
``<package>`` is what Apache would name it (``namespace py``, else the file's stem); included
files always get such private names. Classes therefore pickle by reference, and unpickle in
any process that has loaded the same file. A file whose default name another file already
holds gets the name plus ``_`` and a digest of its path (two ``common.thrift`` files without a
namespace); an explicit `module_name` may not be taken twice. Loading a changed file again
replaces its modules (as ``importlib.reload`` would). Why a private prefix rather than the bare
package name: a loaded ``shop`` must never shadow, or be shadowed by, an importable ``shop``.

Results are cached by absolute path, module name and include directories, in memory and as
plans on disk (`_diskcache.py`); a cached result is used while every file it read has the same
content (sha256) and every include would still resolve to the same file.

Pipeline: `_parser` (text to `_model`'s tree), `_resolve` and `_consts` (checks), `_build`
(module source), then here: run the source into modules and register them.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import types
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError
from ._errors import IDLError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._build import Plan
    from ._resolve import Program

__all__ = ["IDLError", "load", "require_lark"]

#: Where loaded packages live in ``sys.modules`` unless `module_name` says otherwise.
PREFIX = "thrift_bridge._idl.loaded"

_lock = threading.RLock()
# (path, module name, include dirs) -> (every file read: path -> sha256, the package)
_memory: dict[tuple[str, str | None, tuple[str, ...]], tuple[dict[str, Any], types.ModuleType]] = {}
# The package built for an included program, by (path, digest of it and all it includes).
_built: dict[tuple[str, str], types.ModuleType] = {}
# Which file owns each module name we registered.
_owners: dict[str, str] = {}


def load(
    path: str | os.PathLike[str],
    *,
    module_name: str | None = None,
    include_dirs: Iterable[str | os.PathLike[str]] = (),
) -> types.ModuleType:
    """Parse a ``.thrift`` file (and its includes) into modules shaped like generated code."""
    source = os.path.abspath(os.fspath(path))
    if not os.path.isfile(source):
        raise ConfigError(f"IDL file {os.fspath(path)!r} does not exist")
    if module_name is not None:
        _check_module_name(module_name)
    dirs = tuple(os.path.abspath(os.fspath(d)) for d in include_dirs)
    key = (source, module_name, dirs)
    with _lock:
        from . import _diskcache as disk

        cached = _memory.get(key)
        if (
            cached is not None
            and sys.modules.get(cached[1].__name__) is cached[1]  # not replaced since
            and disk.still_valid(cached[0])
        ):
            return cached[1]
        entry = disk.read(key) if disk.enabled() else None
        package = _register(entry) if entry is not None else None
        if entry is None or package is None:  # not cached, or under names others took since
            entry = _plan(source, module_name, dirs)
            if disk.enabled():
                disk.write(key, entry)
            package = _register(entry)
            assert package is not None  # the names were chosen just now
        _memory[key] = (entry, package)
        return package


def require_lark(needed_by: str) -> None:
    """ConfigError unless the lark parser (the ``idl`` extra) is installed."""
    try:
        import lark  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"{needed_by} needs the lark parser: pip install 'thrift-bridge[idl]'"
        ) from None


def _check_module_name(name: object) -> None:
    """A dotted Python name that is not an existing module (ours may be replaced)."""
    if not isinstance(name, str) or not all(part.isidentifier() for part in name.split(".")):
        raise ConfigError(f"invalid module_name {name!r} (expected a dotted Python name)")
    if name in _owners:
        return
    parent = name.rpartition(".")[0]
    if parent:
        try:
            __import__(parent)
        except ImportError:
            raise ConfigError(
                f"module_name {name!r}: its parent package {parent!r} cannot be imported"
            ) from None
    import importlib.util

    if name in sys.modules or importlib.util.find_spec(name) is not None:
        raise ConfigError(
            f"module_name {name!r} is an existing module; choose a name of your own "
            "(e.g. ending in _thrift)"
        )


def _plan(source: str, module_name: str | None, dirs: tuple[str, ...]) -> dict[str, Any]:
    """Parse, check and build `source` and its includes: the plans and what they depend on."""
    require_lark("thrift_bridge.load()")  # only parsing needs it: the plan cache does not
    from ._build import build_program
    from ._resolve import check, load_programs

    root, read, probes = load_programs(source, dirs)
    order: list[Program] = []
    closure: dict[str, str] = {}

    def visit(program: Program) -> str:
        if program.path not in closure:
            parts = [program.digest, *sorted(visit(p) for p in program.includes.values())]
            closure[program.path] = hashlib.sha256(" ".join(parts).encode()).hexdigest()
            order.append(program)
        return closure[program.path]

    visit(root)
    for program in order:
        check(program)
    packages: dict[str, str] = {}
    services: dict[str, str] = {}
    plans = []
    for program in order:
        if program is root and module_name:
            name = module_name
            owner = _owners.get(name)
            if owner is not None and owner != program.path:
                raise ConfigError(f"module_name {name!r} is already used by {owner}")
        else:
            name = f"{PREFIX}.{program.package}"
            if _owners.get(name, program.path) != program.path:
                # Another file has this name (both `common.thrift` without a namespace, say):
                # this one's name gets a digest of its path.
                name += "_" + hashlib.sha256(program.path.encode()).hexdigest()[:8]
        plans.append(build_program(program, name, packages, services))
    return {"files": read, "probes": probes, "closure": closure, "plans": plans}


def _register(entry: dict[str, Any]) -> types.ModuleType | None:
    """Run the entry's plans (skipping unchanged includes already loaded); the root package.

    None if a name in the entry now belongs to another file (a plan read from the disk cache
    in a process that has loaded other files since).
    """
    plans: list[Plan] = entry["plans"]
    closure: dict[str, str] = entry["closure"]
    if any(_owners.get(p["package"], p["path"]) != p["path"] for p in plans):
        return None
    todo = []
    for plan in plans:
        path, name = plan["path"], plan["package"]
        existing = _built.get((path, closure[path]))
        if existing is None or sys.modules.get(name) is not existing:
            todo.append(plan)
        # else unchanged and still registered (loaded itself, or included by another file):
        # every file that includes it shares its classes
    run_plans(todo)
    for plan in todo:
        _built[(plan["path"], closure[plan["path"]])] = sys.modules[plan["package"]]
    return sys.modules[plans[-1]["package"]]


def run_plans(plans: list[Plan]) -> None:
    """Execute planned programs in order and register them.

    If anything fails, ``sys.modules`` is put back as it was.
    """
    previous: dict[str, types.ModuleType | None] = {}
    try:
        for plan in plans:
            _run(plan, previous)
    except BaseException:
        for name, module in previous.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        raise
    for plan in plans:
        _owners[plan["package"]] = plan["path"]


def _run(plan: Plan, previous: dict[str, types.ModuleType | None]) -> types.ModuleType:
    """One program: its package, then each module executed in order."""
    import linecache

    path, name = plan["path"], plan["package"]
    package = types.ModuleType(name, f"Loaded from {path} by thrift_bridge.load")
    package.__path__ = []  # a package: pickle finds its submodules in sys.modules
    package.__file__ = path
    package.__all__ = list(plan["all"])  # type: ignore[attr-defined]  # as generated
    _install(name, package, previous)
    for key, module_name, source in plan["sources"]:
        module = types.ModuleType(module_name)
        module.__file__ = path
        _install(module_name, module, previous)
        filename = f"<thrift-bridge {module_name}>"
        # Tracebacks through loaded code show its lines, as they would for a generated file.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), module.__dict__)
        setattr(package, key, module)
    for attribute, included in plan["includes"]:
        setattr(package, attribute, sys.modules[included])
    for attribute, key, member in plan["attributes"]:
        setattr(package, attribute, getattr(getattr(package, key), member))
    return package


def _install(
    name: str, module: types.ModuleType, previous: dict[str, types.ModuleType | None]
) -> None:
    """Register `module` as `name`, creating our private parent packages as needed."""
    parent_name, _, leaf = name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    if parent_name and parent is None:
        if not (parent_name + ".").startswith(PREFIX + "."):
            raise ConfigError(f"cannot register {name!r}: {parent_name!r} is not imported")
        parent = types.ModuleType(parent_name, "Packages loaded by thrift_bridge.load")
        parent.__path__ = []
        _install(parent_name, parent, previous)
    previous.setdefault(name, sys.modules.get(name))
    sys.modules[name] = module
    if parent is not None:
        setattr(parent, leaf, module)
