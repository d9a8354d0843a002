"""Built plans kept on disk, so a fresh interpreter loads an unchanged IDL without parsing it.

Like Python's own bytecode cache: the first `load` of a file parses and checks it; the plans it
builds (module sources and how to register them) are written to
``$XDG_CACHE_HOME/thrift-bridge/idl-load/`` (default ``~/.cache``). A later `load` of the same
file, module name and include directories uses them only if every file read then still has the
same sha256 and every include would still resolve to the same file; the key also covers this
package's code and whether the thrift library knows ``uuid``. Anything else (a missing or
corrupt entry, an unwritable directory) falls back to parsing, silently.
``THRIFT_BRIDGE_LOAD_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

from thrift.Thrift import TType

from ._paths import first_file

__all__ = ["enabled", "read", "still_valid", "write"]

_FORMAT = 1


def enabled() -> bool:
    """Whether the cache is on (``THRIFT_BRIDGE_LOAD_CACHE`` is not ``0``)."""
    return os.environ.get("THRIFT_BRIDGE_LOAD_CACHE", "1") != "0"


def _folder() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "thrift-bridge", "idl-load")


def _entry_path(key: tuple[str, str | None, tuple[str, ...]]) -> str:
    """The file of the entry for (path, module name, include dirs)."""
    import json

    here = os.path.dirname(os.path.abspath(__file__))
    # Our own code is part of the key: a changed builder must not reuse old output.
    code = [
        (name, st.st_mtime_ns, st.st_size)
        for name in sorted(os.listdir(here))
        if name.endswith(".py")
        for st in [os.stat(os.path.join(here, name))]
    ]
    material = json.dumps(
        [_FORMAT, list(key), code, hasattr(TType, "UUID"), list(sys.version_info[:2])]
    )
    return os.path.join(_folder(), hashlib.sha256(material.encode()).hexdigest()[:40] + ".json")


def _sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def still_valid(entry: dict[str, Any]) -> bool:
    """Whether parsing again would read the same files: same contents, same include paths."""
    if any(_sha256(path) != digest for path, digest in entry["files"].items()):
        return False
    # An include would find another file (or none) if one appeared or vanished on its path.
    return all(first_file(candidates) == chosen for candidates, chosen in entry["probes"])


def read(key: tuple[str, str | None, tuple[str, ...]]) -> dict[str, Any] | None:
    """The cached entry for `key` if it is still exact, else None."""
    import json

    try:
        with open(_entry_path(key), encoding="utf-8") as f:
            entry: dict[str, Any] = json.load(f)
        if entry.get("format") != _FORMAT or not still_valid(entry):
            return None
        return entry
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(key: tuple[str, str | None, tuple[str, ...]], entry: dict[str, Any]) -> None:
    """Store `entry` for `key` (atomically; an error only means no cache)."""
    import json

    try:
        target = _entry_path(key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # A private name beside the target, renamed over it: readers never see half a file.
        # (Not tempfile.mkstemp: importing tempfile costs a cold load 5 ms.)
        temporary = f"{target}.{os.getpid()}-{os.urandom(6).hex()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({**entry, "format": _FORMAT}, f)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass
