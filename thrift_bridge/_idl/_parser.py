"""IDL text to a `Document` (the syntax tree of `_model.py`), or `IDLError` at the bad token.

One LALR parser (`_grammar.py`) is built once, with `_tree.TreeBuilder` as its callbacks;
lark's errors become IDLErrors saying what came and what would have fitted there.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from . import _model as m
from ._errors import IDLError
from ._tree import Callbacks, TreeBuilder

if TYPE_CHECKING:
    from lark import Lark

__all__ = ["parse"]

# Old declarations Apache now rejects, with the namespace scope it suggests instead.
_LEGACY_NAMESPACES = {
    "cpp_namespace": "cpp",
    "java_package": "java",
    "csharp_namespace": "csharp",
    "delphi_namespace": "delphi",
    "php_namespace": "php",
    "py_module": "py",
    "perl_package": "perl",
    "ruby_namespace": "ruby",
    "smalltalk_category": "st",
    "smalltalk_prefix": "st",
    "xsd_namespace": "xsd",
}
_READABLE = {
    "IDENTIFIER": "a name",
    "INTCONST": "an integer",
    "DUBCONST": "a number",
    "LITERAL": "a quoted string",
    "$END": "end of file",
}
_lock = threading.Lock()
_state: list[tuple[Lark, TreeBuilder]] = []


def parse(text: str, path: str) -> m.Document:
    """The syntax tree of `text` (the contents of `path`); IDLError for any syntax error."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    with _lock:  # one parser and builder, built once; the builder knows the current path
        if not _state:
            from ._grammar import make_parser

            builder = TreeBuilder()
            _state.append((make_parser(Callbacks(builder)), builder))
        parser, builder = _state[0]
        builder.path = path
        try:
            document = parser.parse(text)
        except UnexpectedToken as exc:
            raise _token_error(path, exc) from None
        except UnexpectedCharacters as exc:
            at = exc.pos_in_stream or 0
            char = text[at] if at < len(text) else ""
            message = (
                "unterminated comment"
                if text.startswith("/*", at)
                else (
                    "unterminated string literal"
                    if char in "\"'"
                    else f"unexpected character {char!r}"
                )
            )
            raise IDLError(
                message, file=path, line=exc.line, column=exc.column, token=char
            ) from None
        except UnexpectedInput as exc:  # the end of the file where more was expected
            raise IDLError(
                "unexpected end of file", file=path, line=exc.line, column=exc.column, token=""
            ) from None
    assert isinstance(document, m.Document)
    return document


def _token_error(path: str, exc: Any) -> IDLError:
    """The IDLError for lark's UnexpectedToken: what came, and what would have fitted."""
    token = exc.token
    text = "" if token.type == "$END" else str(token)
    if text in ("senum", "slist"):
        message = f'"{text}" is no longer supported, use "string" instead'
    elif text in _LEGACY_NAMESPACES:
        message = (
            f"unsupported declaration '{text}'; use 'namespace {_LEGACY_NAMESPACES[text]}' instead"
        )
    else:
        got = "end of file" if token.type == "$END" else repr(text)
        message = f"unexpected {got} (expected {_expected(exc)})"
    line = token.line if token.type != "$END" else exc.line
    column = token.column if token.type != "$END" else exc.column
    return IDLError(message, file=path, line=line or 0, column=column or 0, token=text)


def _expected(exc: Any) -> str:
    """What the parser would have accepted, readably: ``'}', a name or an integer``."""
    terminals = getattr(exc, "_terminals_by_name", None) or {}
    shown = []
    for name in sorted(exc.expected):
        terminal = terminals.get(name)
        if name in _READABLE:
            shown.append(_READABLE[name])
        elif terminal is not None and terminal.pattern.type == "str":
            shown.append(repr(terminal.pattern.value))
        else:
            shown.append(name.lower())
    shown = sorted(set(shown))
    return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else "".join(shown)
