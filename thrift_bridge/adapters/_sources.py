"""Where a registry's configuration comes from: flat ``PREFIX_ALIAS_SETTING`` keys and files.

No registry here: these turn environment-style mappings and TOML or JSON files into plain
mappings, which `ClientRegistry` then checks entry by entry.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from .._exceptions import ConfigError


def read_file(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    """The table a TOML or JSON configuration file holds; a `ConfigError` for anything else."""
    name = os.fspath(path)
    if not name.endswith((".toml", ".json")):
        raise ConfigError(f"unknown configuration file type {name!r} (expected .toml or .json)")
    try:
        with open(name, "rb") as file:
            raw = file.read()
    except OSError as exc:
        raise ConfigError(f"cannot read client configuration {name!r}: {exc}") from exc
    if name.endswith(".toml"):
        data = _load_toml(name, raw)
    else:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"invalid JSON in {name!r}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(f"{name!r} must hold a table of clients, got {type(data).__name__}")
    return data


def from_flat(
    mapping: Mapping[str, Any], prefix: str, names: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """Entries from keys like THRIFT_CLIENTS_BILLING_POOL_SIZE (alias billing, setting
    pool_size, one of `names`)."""
    start = prefix.upper() + "_"
    settings = sorted(names, key=len, reverse=True)
    entries: dict[str, dict[str, Any]] = {}
    for key, value in mapping.items():
        upper = str(key).upper()
        if not upper.startswith(start):
            continue
        rest = upper[len(start) :]
        for setting in settings:
            suffix = "_" + setting.upper()
            if rest.endswith(suffix) and len(rest) > len(suffix):
                alias = rest[: -len(suffix)].lower()
                entries.setdefault(alias, {})[setting] = _decode(value)
                break
        else:
            raise ConfigError(
                f"cannot read {key!r}: expected {start}<ALIAS>_<SETTING> with a setting among "
                f"{', '.join(k.upper() for k in names)}"
            )
    return entries


def _decode(value: Any) -> Any:
    """A flat configuration value, JSON-decoded when it is text that looks like JSON."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text in ("true", "false") or text[:1] in ("{", "[", "-", *"0123456789"):
        try:
            return json.loads(text)
        except ValueError:
            return value
    return value


def _load_toml(name: str, raw: bytes) -> Any:
    """Parsed TOML, with tomllib (Python 3.11+) or tomli (a dependency before 3.11)."""
    if sys.version_info >= (3, 11):
        import tomllib as toml
    else:
        import tomli as toml
    try:
        return toml.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML in {name!r}: {exc}") from exc
