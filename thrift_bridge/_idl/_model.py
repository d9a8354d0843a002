"""The syntax tree of one Thrift IDL file: frozen values, as written, nothing resolved.

The parser (`_parser.py`) builds these; `_resolve.py` checks them against each other and
against the files they include; `_build.py` turns the checked tree into Python modules. A later
tool (``.pyi`` stubs) can read the same tree. Every node records the 1-based line and column of
the token that names it, so any later check can point at the source.

Names are kept as written: a reference to a type or constant of an included file is
``"other.Name"`` (the include file's stem, a dot, the name), an enum value is ``"Color.RED"``.
``byte`` is normalised to ``i8`` (its alias); implicit field ids are the negative numbers
Apache's compiler assigns (-1, -2, ... in declaration order), with `Field.explicit_id` False.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal, Union

__all__ = [
    "Annotation",
    "BaseType",
    "BaseTypeName",
    "Const",
    "ConstValue",
    "Definition",
    "Document",
    "DoubleValue",
    "Enum",
    "EnumValue",
    "Field",
    "FieldType",
    "Function",
    "IdentifierValue",
    "Include",
    "IntValue",
    "ListType",
    "ListValue",
    "MapType",
    "MapValue",
    "NamedType",
    "Namespace",
    "Node",
    "Requiredness",
    "Service",
    "SetType",
    "StringValue",
    "Struct",
    "Typedef",
]

BaseTypeName = Literal["bool", "i8", "i16", "i32", "i64", "double", "string", "binary", "uuid"]
#: ``required`` / ``optional`` as written; ``default`` when neither was (Apache's
#: "opt-in, req-out"). ``optional`` on a function argument is ignored by Apache, so it reads
#: ``default`` there too.
Requiredness = Literal["required", "optional", "default"]


# Every node is a frozen dataclass. Equality, hashing and repr are written once on `Node`
# (eq=False, repr=False below) instead of generated per class: dataclasses compiles each
# generated method separately, which for these 24 classes was a sixth of a parsing `load()`.


@dataclass(frozen=True, eq=False, repr=False)
class Node:
    """Where a node starts: the 1-based line and column of its naming token."""

    line: int
    column: int

    def _values(self) -> tuple[Any, ...]:
        """The field values in declaration order."""
        return tuple(getattr(self, f.name) for f in fields(self))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Node)
            and type(other) is type(self)
            and self._values() == other._values()
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"{type(self).__name__}({shown})"


@dataclass(frozen=True, eq=False, repr=False)
class Annotation(Node):
    """``key = "value"`` inside parentheses; a bare ``key`` has the value ``"1"`` (as Apache)."""

    key: str
    value: str


Annotations = tuple[Annotation, ...]


# --- types -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class BaseType(Node):
    """A built-in type: ``bool``, ``i8`` (also written ``byte``), ..., ``binary``, ``uuid``."""

    name: BaseTypeName
    annotations: Annotations = ()


@dataclass(frozen=True, eq=False, repr=False)
class NamedType(Node):
    """A name referring to a typedef, enum, struct, union or exception (maybe ``other.Name``);
    also, as `Service.extends`, to a service."""

    name: str


@dataclass(frozen=True, eq=False, repr=False)
class ListType(Node):
    """``list<element>``."""

    element: FieldType
    annotations: Annotations = ()


@dataclass(frozen=True, eq=False, repr=False)
class SetType(Node):
    """``set<element>``."""

    element: FieldType
    annotations: Annotations = ()


@dataclass(frozen=True, eq=False, repr=False)
class MapType(Node):
    """``map<key, value>``."""

    key: FieldType
    value: FieldType
    annotations: Annotations = ()


FieldType = Union[BaseType, NamedType, ListType, SetType, MapType]


# --- constant values ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class IntValue(Node):
    """An integer literal (decimal or ``0x`` hex); ``true`` and ``false`` are 1 and 0."""

    value: int


@dataclass(frozen=True, eq=False, repr=False)
class DoubleValue(Node):
    """A literal with a fraction or an exponent."""

    value: float


@dataclass(frozen=True, eq=False, repr=False)
class StringValue(Node):
    """A quoted literal, escapes already applied."""

    value: str


@dataclass(frozen=True, eq=False, repr=False)
class IdentifierValue(Node):
    """A name standing for a value: a constant or ``Enum.VALUE`` (maybe ``other.``-prefixed)."""

    name: str


@dataclass(frozen=True, eq=False, repr=False)
class ListValue(Node):
    """``[a, b, ...]``: the value of a list or a set."""

    items: tuple[ConstValue, ...]


@dataclass(frozen=True, eq=False, repr=False)
class MapValue(Node):
    """``{k: v, ...}``: the value of a map or a struct (keys then name fields)."""

    entries: tuple[tuple[ConstValue, ConstValue], ...]


ConstValue = Union[IntValue, DoubleValue, StringValue, IdentifierValue, ListValue, MapValue]


# --- definitions -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Field(Node):
    """A struct field, function argument or ``throws`` entry."""

    id: int
    name: str
    type: FieldType
    requiredness: Requiredness = "default"
    default: ConstValue | None = None
    annotations: Annotations = ()
    #: False when the id was left out (or was <= 0) and Apache's negative numbering applied.
    explicit_id: bool = True


@dataclass(frozen=True, eq=False, repr=False)
class Typedef(Node):
    """``typedef <type> <name>``: another name for a type."""

    name: str
    type: FieldType
    annotations: Annotations = ()


@dataclass(frozen=True, eq=False, repr=False)
class EnumValue(Node):
    """One named value of an enum (implicit values count up from the previous one)."""

    name: str
    value: int
    annotations: Annotations = ()


@dataclass(frozen=True, eq=False, repr=False)
class Enum(Node):
    """``enum Name { ... }``."""

    name: str
    values: tuple[EnumValue, ...]
    annotations: Annotations = ()


@dataclass(frozen=True, eq=False, repr=False)
class Const(Node):
    """``const <type> <name> = <value>``."""

    name: str
    type: FieldType
    value: ConstValue


@dataclass(frozen=True, eq=False, repr=False)
class Struct(Node):
    """A struct, union or exception and its fields in declaration order."""

    kind: Literal["struct", "union", "exception"]
    name: str
    fields: tuple[Field, ...]
    annotations: Annotations = ()

    def annotation(self, key: str) -> str | None:
        """The last value given for annotation `key`, or None."""
        found = [a.value for a in self.annotations if a.key == key]
        return found[-1] if found else None


@dataclass(frozen=True, eq=False, repr=False)
class Function(Node):
    """A service method; `return_type` None means ``void``."""

    name: str
    return_type: FieldType | None
    arguments: tuple[Field, ...]
    throws: tuple[Field, ...] = ()
    oneway: bool = False
    annotations: Annotations = ()


@dataclass(frozen=True, eq=False, repr=False)
class Service(Node):
    """``service Name [extends Base] { ... }``; `extends` as written (maybe ``other.Base``)."""

    name: str
    extends: NamedType | None
    functions: tuple[Function, ...]
    annotations: Annotations = ()


Definition = Union[Typedef, Enum, Const, Struct, Service]


# --- headers and the file ----------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Include(Node):
    """``include "path"``: the path as written."""

    path: str


@dataclass(frozen=True, eq=False, repr=False)
class Namespace(Node):
    """``namespace <scope> <name>`` (scope ``*`` applies to every language)."""

    scope: str
    name: str
    annotations: Annotations = ()


@dataclass(frozen=True, eq=False, repr=False)
class Document(Node):
    """One parsed file: its headers and definitions in source order."""

    path: str
    includes: tuple[Include, ...]
    namespaces: tuple[Namespace, ...]
    definitions: tuple[Definition, ...]

    def namespace(self, scope: str) -> str | None:
        """The namespace declared for `scope` (the last one wins, as in Apache), or None."""
        found = [n.name for n in self.namespaces if n.scope == scope]
        return found[-1] if found else None
