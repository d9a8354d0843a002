"""Helpers for comparing a loaded IDL with the same IDL compiled by Apache's ``thrift --gen py``.

`compile_twin` compiles a file (and its includes) under a unique package prefix and imports
it; `Twins` pairs every module and class of the two by their name relative to the prefix;
`normal` turns values, specs and signatures into plain data that compares equal exactly when
the two sides agree; `instances` is a hypothesis strategy of recipes for struct instances,
drawn from a class's ``thrift_spec``, which `build` makes from either side's classes.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st
from thrift.Thrift import TFrozenDict, TType
from thrift.transport.TTransport import TMemoryBuffer

if TYPE_CHECKING:
    import types
    from pathlib import Path

LOADED_PREFIX = "thrift_bridge._idl.loaded."


def compile_twin(compiler: str, source: Path, out: Path, package: str) -> types.ModuleType:
    """Apache's package for `source` (namespace or stem `package`), under a unique prefix."""
    prefix = f"_apache_{uuid.uuid4().hex[:12]}"
    (out / prefix).mkdir(parents=True)
    # -r: the files it includes too; package_prefix: their imports of each other go through it
    command = [compiler, "-r", "-gen", f"py:package_prefix={prefix}.", "-out", str(out / prefix)]
    subprocess.run([*command, str(source)], check=True, capture_output=True)
    sys.path.insert(0, str(out))
    try:
        root = importlib.import_module(f"{prefix}.{package}")
        for name in root.__all__:  # a generated package's __init__ imports none of them
            importlib.import_module(f"{root.__name__}.{name}")
        return root
    finally:
        sys.path.remove(str(out))


def _relative(module_name: str) -> str | None:
    """A module's name without the loaded or Apache prefix; None for any other module."""
    if module_name.startswith(LOADED_PREFIX):
        return module_name[len(LOADED_PREFIX) :]
    if module_name.startswith("_apache_"):
        return module_name.partition(".")[2]
    return None


def modules_under(root: str) -> dict[str, types.ModuleType]:
    """Every module under the same prefix as module `root`, by relative name."""
    prefix = LOADED_PREFIX if root.startswith(LOADED_PREFIX) else root.partition(".")[0] + "."
    return {
        name[len(prefix) :]: module
        for name, module in list(sys.modules.items())
        if name.startswith(prefix) and module is not None
    }


class Twins:
    """Apache's modules and ours for one IDL file, paired by relative module name."""

    def __init__(self, apache: types.ModuleType, loaded: types.ModuleType) -> None:
        self.apache = modules_under(apache.__name__)
        self.loaded = {k: v for k, v in modules_under(loaded.__name__).items() if k in self.apache}

    @staticmethod
    def classes(side: dict[str, types.ModuleType]) -> dict[str, type]:
        """Every class defined in a module of `side`, by ``module.Class``."""
        found = {}
        for key, module in side.items():
            for name, value in vars(module).items():
                if isinstance(value, type) and value.__module__ == module.__name__:
                    found[f"{key}.{name}"] = value
        return found

    @staticmethod
    def key_of(cls: type) -> str:
        """``relative.module.Class`` for a class of either side (else its full name)."""
        relative = _relative(cls.__module__)
        return f"{relative or cls.__module__}.{cls.__qualname__}"


def normal(value: Any, twins: Twins, depth: int = 0) -> Any:
    """Plain data for a spec, value or signature, classes replaced by their relative names."""
    if depth > 50:
        raise RecursionError("value too deep")
    again = lambda v: normal(v, twins, depth + 1)  # noqa: E731
    if isinstance(value, type):
        if value.__module__.startswith(("thrift.", "builtins")):
            return ("builtin class", value.__qualname__)
        return ("class", twins.key_of(value))
    if isinstance(value, TFrozenDict):
        return ("TFrozenDict", [(again(k), again(v)) for k, v in value.items()])
    if isinstance(value, dict):
        return ("dict", [(again(k), again(v)) for k, v in value.items()])
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted((again(v) for v in value), key=repr))
    if isinstance(value, list):
        if len(value) == 2 and isinstance(value[0], type):  # [cls, cls.thrift_spec]
            return ("struct args", again(value[0]))
        return ("list", [again(v) for v in value])
    if isinstance(value, tuple):
        return ("tuple", [again(v) for v in value])
    if isinstance(value, inspect.Signature):
        return [(p.name, p.kind.name, again(p.default)) for p in value.parameters.values()]
    if isinstance(value, float) and value != value:
        return ("nan",)
    if hasattr(value, "thrift_spec") and not isinstance(value, type):
        return ("struct", again(type(value)), [(k, again(v)) for k, v in vars(value).items()])
    return (type(value).__name__, value)


# --- random values from thrift_spec -------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
_BASE = {
    TType.BOOL: st.booleans(),
    TType.BYTE: st.integers(-(2**7), 2**7 - 1),
    TType.I16: st.integers(-(2**15), 2**15 - 1),
    TType.I32: st.integers(-(2**31), 2**31 - 1),
    TType.I64: st.integers(-(2**63), 2**63 - 1),
    # Apache's JSON protocol writes infinity but cannot read it back; NaN is never equal.
    TType.DOUBLE: st.floats(allow_nan=False, allow_infinity=False),
}


def fields_of(cls: type) -> list[tuple[int, int, str, Any]]:
    """The (id, type, name, args) of each field ``thrift_spec`` lists."""
    return [f[:4] for f in (getattr(cls, "thrift_spec", None) or ()) if f is not None]


def _immutable(cls: type) -> bool:
    """Whether a struct class is immutable (its read is a classmethod)."""
    return isinstance(inspect.getattr_static(cls, "read"), classmethod)


def _hashable(ttype: int, args: Any) -> bool:
    """Whether values of this type can be set elements or map keys."""
    if ttype == TType.STRUCT:
        return _immutable(args[0]) and all(_hashable(t, a) for _, t, _, a in fields_of(args[0]))
    if ttype in (TType.LIST, TType.SET):
        return bool(args[2]) and _hashable(args[0], args[1])
    # A TFrozenDict hashes its items sorted, which not every key type allows: no map keys.
    return ttype != TType.MAP


class Made:
    """A recipe for a container or struct value, built the same way for either side.

    Both sides must insert set and dict members in the same order for their iteration order
    (which the encoders follow) to agree, so values are built from recipes, not copied.
    """

    def __init__(self, kind: str, items: Any, immutable: bool = False, key: str = "") -> None:
        self.kind, self.items, self.immutable, self.key = kind, items, immutable, key

    def __repr__(self) -> str:
        return f"{self.key or self.kind}({self.items!r})"


def values(ttype: int, args: Any, depth: int) -> st.SearchStrategy[Any]:
    """Recipes of random values of one thrift type."""
    if ttype in _BASE:
        return _BASE[ttype]
    if ttype == TType.STRING:
        return st.binary(max_size=8) if args == "BINARY" else _TEXT
    if ttype == TType.STRUCT:
        return instances(args[0], depth + 1)
    if ttype in (TType.LIST, TType.SET):
        kind = "list" if ttype == TType.LIST else "set"
        element = values(args[0], args[1], depth + 1)
        if element.is_empty or (kind == "set" and not _hashable(args[0], args[1])):
            return st.just(Made(kind, [], bool(args[2])))
        return st.lists(element, max_size=3).map(lambda items: Made(kind, items, bool(args[2])))
    if ttype == TType.MAP:
        key, item = values(args[0], args[1], depth + 1), values(args[2], args[3], depth + 1)
        empty = key.is_empty or item.is_empty or not _hashable(args[0], args[1])
        pairs = st.lists(st.tuples(key, item), max_size=0 if empty else 3)
        return pairs.map(lambda p: Made("map", p, bool(args[4])))
    raise AssertionError(f"no strategy for TType {ttype}")


def instances(cls: type, depth: int = 0) -> st.SearchStrategy[Any]:
    """Recipes of random instances of a struct class, each field unset or a random value."""
    if depth > 3:
        return st.nothing()  # so a field is unset and a list empty, never a None element
    fields = {
        name: st.none() | values(ttype, args, depth) for _, ttype, name, args in fields_of(cls)
    }
    key = Twins.key_of(cls)
    return st.fixed_dictionaries(fields).map(lambda kwargs: Made("struct", kwargs, key=key))


def orders_by_class_hash(recipe: Any) -> bool:
    """Whether a set of two or more structs is inside: each side's iteration order follows
    hashes that include the class itself, so the two encodings order those members apart."""
    if not isinstance(recipe, Made):
        return False
    if recipe.kind == "set" and len(recipe.items) > 1 and isinstance(recipe.items[0], Made):
        return True
    members = recipe.items.values() if recipe.kind == "struct" else recipe.items
    return any(orders_by_class_hash(m) for m in members if not isinstance(m, tuple)) or any(
        orders_by_class_hash(x) for m in members if isinstance(m, tuple) for x in m
    )


def build(recipe: Any, classes: dict[str, type]) -> Any:
    """The value a recipe describes, made of `classes` (one side's, by `Twins.key_of`)."""
    if not isinstance(recipe, Made):
        return recipe
    if recipe.kind == "struct":
        return classes[recipe.key](**{k: build(v, classes) for k, v in recipe.items.items()})
    if recipe.kind == "map":
        pairs = [(build(k, classes), build(v, classes)) for k, v in recipe.items]
        return TFrozenDict(pairs) if recipe.immutable else dict(pairs)
    items = [build(v, classes) for v in recipe.items]
    if recipe.kind == "set":
        return frozenset(items) if recipe.immutable else set(items)
    return tuple(items) if recipe.immutable else items


def encode(obj: Any, factory: Any) -> bytes:
    """`obj` written with a protocol of `factory` into memory."""
    buffer = TMemoryBuffer()
    obj.write(factory.getProtocol(buffer))
    return buffer.getvalue()


def decode(cls: type, data: bytes, factory: Any) -> Any:
    """An instance of `cls` read from `data` (a classmethod read for immutable classes)."""
    protocol = factory.getProtocol(TMemoryBuffer(data))
    if _immutable(cls):
        return cls.read(protocol)  # type: ignore[attr-defined]
    obj = cls()
    obj.read(protocol)
    return obj
