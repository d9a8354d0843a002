"""Lark's callbacks, one per grammar rule: the `Document` tree built while parsing.

Checks that need only one definition happen here, as Apache's parser does them: field ids
(implicit ones numbered -1, -2, ...; an id <= 0 is replaced the same way), duplicate field ids
or names, enum values (implicit ones count up, all fit in an i32), names (no dots in a
definition's name, no Python keywords), and string escapes. Checks that need the whole file
or its includes (unknown types, constant values) are `_resolve.py`'s.
"""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING, Any, NoReturn

from . import _model as m
from ._errors import IDLError

if TYPE_CHECKING:
    from lark import Token

__all__ = ["Callbacks", "TreeBuilder"]

# Apache's compiler (0.17) refuses these as names for Python; so do we, and the rest of
# Python's keywords too, since each would be a syntax error in the generated class.
_PYTHON_RESERVED = frozenset(keyword.kwlist) | {"print", "exec"}
_THRIFT_KEYWORDS = frozenset(
    {
        "include", "cpp_include", "namespace", "const", "typedef", "enum", "struct", "union",
        "exception", "service", "extends", "throws", "oneway", "async", "void", "required",
        "optional", "bool", "byte", "i8", "i16", "i32", "i64", "double", "string", "binary",
        "uuid", "map", "set", "list", "true", "false", "cpp_type", "xsd_all", "xsd_optional",
        "xsd_nillable", "xsd_attrs",
    }
)  # fmt: skip
_ESCAPES = {"r": "\r", "n": "\n", "t": "\t", '"': '"', "'": "'", "\\": "\\"}
_I16 = (-32768, 32767)
_I32 = (-(2**31), 2**31 - 1)


class _Throws(tuple):  # type: ignore[type-arg]
    """The fields of a ``throws (...)`` clause (a distinct type among a function's parts)."""


_DEFINITIONS = (m.Typedef, m.Enum, m.Const, m.Struct, m.Service)


def _ln(token: Token) -> int:
    """The token's 1-based line."""
    return token.line or 0


def _col(token: Token) -> int:
    """The token's 1-based column."""
    return token.column or 0


class TreeBuilder:
    """Lark callbacks, one per grammar rule, building `_model` nodes bottom-up."""

    def __init__(self) -> None:
        self.path = "<string>"

    # -- helpers ----------------------------------------------------------------------

    def fail(self, message: str, token: Token) -> NoReturn:
        """Raise IDLError at `token`."""
        raise IDLError(
            message,
            file=self.path,
            line=token.line or 0,
            column=token.column or 0,
            token=str(token),
        )

    def name(self, token: Token, *, definition: bool = True) -> str:
        """`token` as the name of something being defined, checked."""
        text = str(token)
        if "." in text:
            self.fail(f"name {text!r} can't have a dot", token)
        if text in _PYTHON_RESERVED:
            self.fail(f"cannot use reserved language keyword {text!r} as a name", token)
        if definition and text in _THRIFT_KEYWORDS:
            self.fail(f"cannot use the Thrift keyword {text!r} as a name", token)
        return text

    def integer(self, token: Token, bounds: tuple[int, int], what: str) -> int:
        """`token` as an int within `bounds`."""
        text = str(token)
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        value = sign * int(digits[2:], 16) if digits.startswith("0x") else int(text)
        if not bounds[0] <= value <= bounds[1]:
            self.fail(f"{what} {value} is out of range ({bounds[0]}..{bounds[1]})", token)
        return value

    def literal(self, token: Token) -> str:
        """A quoted literal without its quotes, escapes applied (only Apache's six)."""
        body = str(token)[1:-1]
        if "\\" not in body:
            return body
        out: list[str] = []
        chars = iter(body)
        for char in chars:
            if char == "\\":
                escaped = next(chars, "")
                if escaped not in _ESCAPES:
                    self.fail(f"bad escape '\\{escaped}' in string literal", token)
                char = _ESCAPES[escaped]
            out.append(char)
        return "".join(out)

    def fields(self, raw: tuple[Any, ...], *, arguments: bool = False) -> tuple[m.Field, ...]:
        """Number a field list as Apache does and refuse a repeated id or name."""
        fields: list[m.Field] = []
        implicit = -1
        ids: set[int] = set()
        names: set[str] = set()
        for id_token, requiredness, ftype, name_token, default, field_annotations in raw:
            written = 0 if id_token is None else self.integer(id_token, _I16, "field id")
            explicit = written > 0
            if explicit:
                field_id = written
            else:  # Apache numbers these -1, -2, ... and ignores an id <= 0 (with a warning)
                field_id, implicit = implicit, implicit - 1
            name = self.name(name_token, definition=False)
            if name == "self":
                self.fail("a field may not be called 'self' in Python", name_token)
            if field_id in ids or name in names:
                where = id_token if explicit and field_id in ids else name_token
                self.fail(
                    f"'{field_id}: {name}' - field identifier/name has already been used", where
                )
            ids.add(field_id)
            names.add(name)
            if arguments and requiredness == "optional":
                requiredness = "default"  # Apache ignores `optional` in argument lists
            fields.append(
                m.Field(
                    line=_ln(name_token),
                    column=_col(name_token),
                    id=field_id,
                    name=name,
                    type=ftype,
                    requiredness=requiredness,
                    default=default,
                    annotations=field_annotations or (),
                    explicit_id=explicit,
                )
            )
        return tuple(fields)

    # -- headers and the file ------------------------------------------------------

    def start(self, *items: Any) -> m.Document:
        return m.Document(
            line=1,
            column=1,
            path=self.path,
            includes=tuple(i for i in items if isinstance(i, m.Include)),
            namespaces=tuple(i for i in items if isinstance(i, m.Namespace)),
            definitions=tuple(i for i in items if isinstance(i, _DEFINITIONS)),
        )

    def include(self, path: Token) -> m.Include:
        return m.Include(line=_ln(path), column=_col(path), path=self.literal(path))

    def cpp_include(self, path: Token) -> None:
        return None

    def namespace(self, scope: Token, name: Token, annotations: Any) -> m.Namespace:
        return m.Namespace(
            line=_ln(scope),
            column=_col(scope),
            scope=str(scope),
            name=str(name),
            annotations=annotations or (),
        )

    # -- definitions -------------------------------------------------------------

    def const(self, ftype: m.FieldType, name: Token, value: m.ConstValue) -> m.Const:
        return m.Const(
            line=_ln(name), column=_col(name), name=self.name(name), type=ftype, value=value
        )

    def typedef(self, ftype: m.FieldType, name: Token, annotations: Any) -> m.Typedef:
        return m.Typedef(
            line=_ln(name),
            column=_col(name),
            name=self.name(name),
            type=ftype,
            annotations=annotations or (),
        )

    def enum_value(self, name: Token, value: Token | None, annotations: Any) -> Any:
        return name, value, annotations

    def enum_number(self, *value: Token) -> Token | None:
        return value[0] if value else None

    def enum(self, name: Token, _brace: Token, *rest: Any) -> m.Enum:
        *raw, annotations = rest
        values: list[m.EnumValue] = []
        seen: set[str] = set()
        last = -1
        for value_name, value_token, value_annotations in raw:
            if value_token is not None:
                last = self.integer(value_token, _I32, "enum value")
            elif last == _I32[1]:
                self.fail("enum value overflow", value_name)
            else:
                last += 1
            text = self.name(value_name)
            if text in seen:
                self.fail(f"enum value {text!r} is already defined", value_name)
            seen.add(text)
            values.append(
                m.EnumValue(
                    line=_ln(value_name),
                    column=_col(value_name),
                    name=text,
                    value=last,
                    annotations=value_annotations or (),
                )
            )
        return m.Enum(
            line=_ln(name),
            column=_col(name),
            name=self.name(name),
            values=tuple(values),
            annotations=annotations or (),
        )

    def xsd_all(self, *_flag: Token) -> None:
        return None

    def struct(
        self, kind: Token, name: Token, _xsd_all: Any, _brace: Token, *rest: Any
    ) -> m.Struct:
        *raw, annotations = rest
        return m.Struct(
            line=_ln(name),
            column=_col(name),
            kind=str(kind),  # type: ignore[arg-type]
            name=self.name(name),
            fields=self.fields(tuple(raw)),
            annotations=annotations or (),
        )

    def exception(self, name: Token, _brace: Token, *rest: Any) -> m.Struct:
        *raw, annotations = rest
        return m.Struct(
            line=_ln(name),
            column=_col(name),
            kind="exception",
            name=self.name(name),
            fields=self.fields(tuple(raw)),
            annotations=annotations or (),
        )

    def service(self, name: Token, extends: Token | None, _brace: Token, *rest: Any) -> m.Service:
        *functions, annotations = rest
        seen: set[str] = set()
        for function in functions:
            if function.name in seen:
                raise IDLError(
                    f"function {function.name!r} is already defined",
                    file=self.path,
                    line=function.line,
                    column=function.column,
                    token=function.name,
                )
            seen.add(function.name)
        return m.Service(
            line=_ln(name),
            column=_col(name),
            name=self.name(name),
            extends=None if extends is None else self.named_type(extends),
            functions=tuple(functions),
            annotations=annotations or (),
        )

    def extends(self, *name: Token) -> Token | None:
        return name[0] if name else None

    def oneway(self, *keyword: Token) -> Token | None:
        return keyword[0] if keyword else None

    def function(self, oneway: Token | None, returns: Any, name: Token, *rest: Any) -> m.Function:
        *raw, throws, annotations = rest
        return_type = None if getattr(returns, "type", None) == "VOID" else returns
        return m.Function(
            line=_ln(name),
            column=_col(name),
            name=self.name(name),
            return_type=return_type,
            arguments=self.fields(tuple(raw), arguments=True),
            throws=self.fields(tuple(throws)),
            oneway=oneway is not None,
            annotations=annotations or (),
        )

    def throws(self, *raw: Any) -> _Throws:
        return _Throws(raw)

    def field(
        self,
        field_id: Token | None,
        requiredness: str,
        ftype: m.FieldType,
        _reference: Any,
        name: Token,
        default: Any,
        _xsd: Any,
        annotations: Any,
    ) -> Any:
        return field_id, requiredness, ftype, name, default, annotations

    def field_id(self, *value: Token) -> Token | None:
        return value[0] if value else None

    def requiredness(self, *keyword: Token) -> str:
        return str(keyword[0]) if keyword else "default"

    def reference(self, *_marker: Token) -> None:
        return None

    def field_default(self, *value: m.ConstValue) -> m.ConstValue | None:
        return value[0] if value else None

    def xsd(self, *parts: Any) -> None:
        # xsd_attrs { ... } fields are checked like any field list, then ignored (as by Apache)
        self.fields(tuple(p for p in parts if isinstance(p, tuple)))

    # -- types -------------------------------------------------------------------

    def named_type(self, name: Token) -> m.NamedType:
        return m.NamedType(line=_ln(name), column=_col(name), name=str(name))

    def base_name(self, token: Token) -> Token:
        return token

    def base_type(self, token: Token, annotations: Any) -> m.BaseType:
        name = "i8" if str(token) == "byte" else str(token)
        return m.BaseType(
            line=_ln(token),
            column=_col(token),
            name=name,  # type: ignore[arg-type]
            annotations=annotations or (),
        )

    def map_type(self, _cpp: Any, key: m.FieldType, value: m.FieldType, ann: Any) -> m.MapType:
        return m.MapType(
            line=key.line, column=key.column, key=key, value=value, annotations=ann or ()
        )

    def set_type(self, _cpp: Any, element: m.FieldType, ann: Any) -> m.SetType:
        return m.SetType(
            line=element.line, column=element.column, element=element, annotations=ann or ()
        )

    def list_type(self, _cpp: Any, element: m.FieldType, _cpp2: Any, ann: Any) -> m.ListType:
        return m.ListType(
            line=element.line, column=element.column, element=element, annotations=ann or ()
        )

    def cpp_type(self, *_literal: Token) -> None:
        return None

    def annotations(self, *items: m.Annotation) -> tuple[m.Annotation, ...]:
        return items

    def annotation(self, key: Token, *value: Token) -> m.Annotation:
        return m.Annotation(
            line=_ln(key),
            column=_col(key),
            key=str(key),
            value=self.literal(value[0]) if value else "1",
        )

    # -- constant values ---------------------------------------------------------

    def int_value(self, token: Token) -> m.IntValue:
        text = str(token)
        if text in ("true", "false"):
            return m.IntValue(line=_ln(token), column=_col(token), value=int(text == "true"))
        return m.IntValue(
            line=_ln(token),
            column=_col(token),
            value=self.integer(token, (-(2**63), 2**63 - 1), "integer"),
        )

    def double_value(self, token: Token) -> m.DoubleValue:
        return m.DoubleValue(line=_ln(token), column=_col(token), value=float(str(token)))

    def string_value(self, token: Token) -> m.StringValue:
        return m.StringValue(line=_ln(token), column=_col(token), value=self.literal(token))

    def identifier_value(self, token: Token) -> m.IdentifierValue:
        return m.IdentifierValue(line=_ln(token), column=_col(token), name=str(token))

    def list_value(self, bracket: Token, *items: m.ConstValue) -> m.ListValue:
        return m.ListValue(line=_ln(bracket), column=_col(bracket), items=items)

    def map_value(self, brace: Token, *flat: m.ConstValue) -> m.MapValue:
        entries = tuple(zip(flat[::2], flat[1::2]))
        return m.MapValue(line=_ln(brace), column=_col(brace), entries=entries)


class Callbacks:
    """What lark calls for each rule: the builder's method, given the children one by one."""

    def __init__(self, builder: TreeBuilder) -> None:
        self._builder = builder

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._builder, name)  # AttributeError: lark builds a Tree instead
        return lambda children: method(*children)
