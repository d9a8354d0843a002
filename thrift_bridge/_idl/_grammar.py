"""The Thrift IDL grammar (lark, LALR(1)) and the cached parser built from it.

Written from Apache Thrift's ``compiler/cpp/src/thrift/thrifty.yy`` and ``thriftl.ll``:

- Headers (``include``, ``cpp_include``, ``namespace``) come before every definition.
- Separators ``,`` and ``;`` are optional after fields, enum values, functions, typedefs,
  constants, annotations and constant list/map items.
- ``true`` / ``false`` are the integers 1 and 0; integers may be hex (``0x1F``); a double needs
  a fraction or an exponent (``e10`` alone is a name, THRIFT-3477).
- Legacy syntax Apache still accepts is parsed and ignored: ``cpp_include``, ``cpp_type``,
  ``xsd_all``, ``xsd_optional``, ``xsd_nillable``, ``xsd_attrs { ... }``, the ``&`` reference
  marker and ``async`` for ``oneway``. ``slist`` and ``senum`` are rejected as Apache 0.17 does.
- ``uuid`` is a base type (Apache 0.19+). Field names may be keywords (``1: i32 map``), as in
  newer Apache; the contextual lexer reads a keyword as a name wherever only a name fits.

Keywords are separate string terminals so that lark turns an identifier that equals one into the
keyword, and ``i32x`` stays a name.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lark import Lark

__all__ = ["GRAMMAR", "make_parser"]

GRAMMAR = r"""
start: header* definition*

?header: "include" LITERAL                                     -> include
       | "cpp_include" LITERAL                                 -> cpp_include
       | "namespace" (IDENTIFIER | STAR) IDENTIFIER annotations -> namespace

?definition: const | typedef | enum | struct | exception | service

const: "const" field_type IDENTIFIER "=" const_value _sep
typedef: "typedef" field_type IDENTIFIER annotations _sep
enum: "enum" IDENTIFIER LBRACE enum_value* "}" annotations
enum_value: IDENTIFIER enum_number annotations _sep
enum_number: ("=" INTCONST)?
struct: (STRUCT | UNION) IDENTIFIER xsd_all LBRACE field* "}" annotations
xsd_all: XSD_ALL?
exception: "exception" IDENTIFIER LBRACE field* "}" annotations
service: "service" IDENTIFIER extends LBRACE function* "}" annotations
extends: ("extends" IDENTIFIER)?

function: oneway (field_type | VOID) IDENTIFIER "(" field* ")" throws annotations _sep
oneway: (ONEWAY | ASYNC)?
throws: ("throws" "(" field* ")")?

field: field_id requiredness field_type reference IDENTIFIER field_default xsd annotations _sep
field_id: (INTCONST ":")?
requiredness: (REQUIRED | OPTIONAL)?
reference: REFERENCE?
field_default: ("=" const_value)?
xsd: XSD_OPTIONAL? XSD_NILLABLE? ("xsd_attrs" LBRACE field* "}")?

?field_type: IDENTIFIER                                                 -> named_type
           | base_name annotations                                      -> base_type
           | "map" cpp_type "<" field_type "," field_type ">" annotations -> map_type
           | "set" cpp_type "<" field_type ">" annotations               -> set_type
           | "list" cpp_type "<" field_type ">" cpp_type annotations     -> list_type
!base_name: "bool" | "byte" | "i8" | "i16" | "i32" | "i64" | "double" | "string" | "binary"
          | "uuid"
cpp_type: ("cpp_type" LITERAL)?

annotations: ("(" annotation* ")")?
annotation: IDENTIFIER ("=" LITERAL)? _sep

?const_value: INTCONST                                   -> int_value
            | DUBCONST                                   -> double_value
            | TRUE                                       -> int_value
            | FALSE                                      -> int_value
            | LITERAL                                    -> string_value
            | IDENTIFIER                                 -> identifier_value
            | LSQB (const_value _sep)* "]"               -> list_value
            | LBRACE (const_value ":" const_value _sep)* "}" -> map_value

_sep: ("," | ";")?

STRUCT: "struct"
UNION: "union"
ONEWAY: "oneway"
ASYNC: "async"
VOID: "void"
REQUIRED: "required"
OPTIONAL: "optional"
XSD_ALL: "xsd_all"
XSD_OPTIONAL: "xsd_optional"
XSD_NILLABLE: "xsd_nillable"
TRUE: "true"
FALSE: "false"
REFERENCE: "&"
STAR: "*"
LBRACE: "{"
LSQB: "["

IDENTIFIER: /[a-zA-Z_](\.[a-zA-Z_0-9]|[a-zA-Z_0-9])*/
INTCONST: /[+-]?(0x[0-9A-Fa-f]+|[0-9]+)/
DUBCONST.2: /[+-]?([0-9]*\.[0-9]+([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)/
LITERAL: /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/

%ignore /[ \t\r\n]+/
%ignore /\/\/[^\n]*/
%ignore /#[^\n]*/
%ignore /\/\*(.|\n)*?\*\//
"""


def _cache_path() -> str | bool:
    """Where lark keeps the analysed grammar, or False when no cache directory is writable.

    Lark checks a digest of the grammar, its options and its version stored in the file, so a
    stale or foreign file is rebuilt, never used; the name keeps two lark versions apart.
    """
    import lark

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "thrift-bridge")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    version = f"{lark.__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
    return os.path.join(folder, f"idl-grammar-{version}.lark")


def make_parser(transformer: Any) -> Lark:
    """A LALR parser of `GRAMMAR` that builds the syntax tree with `transformer` as it parses."""
    from lark import Lark

    # Building the LALR tables takes ~100 ms; loading them from the cache a few.
    return Lark(
        GRAMMAR,
        parser="lalr",
        lexer="basic",
        transformer=transformer,
        cache=_cache_path(),
    )
