"""Every kind of mistake in an IDL file is an `IDLError` naming file, line, column and token."""

from __future__ import annotations

import pickle
import sys
from typing import TYPE_CHECKING

import pytest
from thrift.Thrift import TType

import thrift_bridge
from thrift_bridge import ConfigError, IDLError

if TYPE_CHECKING:
    from pathlib import Path


def where(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the `occurrence`-th `needle` in `text`."""
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


# (id, files (main.thrift is loaded), file with the error, text at the error (and which
# occurrence of it), the token reported, part of the message)
CASES = [
    ("syntax", {"main": "struct A {\n  1: i32\n}\n"}, "main", ("}", 1), "}", "unexpected '}'"),
    (
        "character",
        {"main": "struct A { 1: i32 a @ }"},
        "main",
        ("@", 1),
        "@",
        "unexpected character '@'",
    ),
    (
        "end of file",
        {"main": "struct A {\n  1: i32 a"},
        "main",
        ("a", 1),
        "",
        "unexpected end of file",
    ),
    ("string", {"main": 'const string S = "abc\n'}, "main", ('"', 1), '"', "unterminated string"),
    (
        "escape",
        {"main": 'const string S = "a\\qb"'},
        "main",
        ('"', 1),
        '"a\\qb"',
        "bad escape '\\q'",
    ),
    (
        "comment",
        {"main": "struct A {}\n/* never closed"},
        "main",
        ("/*", 1),
        "/",
        "unterminated comment",
    ),
    (
        "unknown type",
        {"main": "struct Item {}\nstruct A { 1: Itm x }"},
        "main",
        ("Itm", 1),
        "Itm",
        "unknown type 'Itm' (did you mean 'Item'?)",
    ),
    (
        "duplicate id",
        {"main": "struct A {\n 1: i32 a,\n 1: i32 b\n}"},
        "main",
        ("1", 2),
        "1",
        "'1: b' - field identifier/name has already been used",
    ),
    (
        "duplicate name",
        {"main": "struct A { 1: i32 a, 2: string a }"},
        "main",
        ("a", 2),
        "a",
        "'2: a' - field identifier/name has already been used",
    ),
    (
        "bad default type",
        {"main": 'struct A {\n  1: i32 count = "many"\n}'},
        "main",
        ('"', 1),
        "many",
        "'many' is not a valid i32 value",
    ),
    (
        "default out of range",
        {"main": "struct A { 1: i8 small = 300 }"},
        "main",
        ("300", 1),
        "300",
        "300 does not fit in i8",
    ),
    (
        "enum value",
        {"main": "enum E { A = 1 }\nconst E X = 2"},
        "main",
        ("2", 1),
        "2",
        "enum E has no value 2",
    ),
    (
        "unqualified enum",
        {"main": "enum E { A = 1 }\nconst E X = A"},
        "main",
        ("A", 2),
        "A",
        "identifier 'A' is unqualified",
    ),
    (
        "no such field",
        {"main": 'struct P { 1: i32 x }\nconst P O = {"y": 1}'},
        "main",
        ('"y', 1),
        "y",
        "P has no field 'y'",
    ),
    (
        "missing include",
        {"main": 'include "nope.thrift"\nstruct A {}'},
        "main",
        ('"', 1),
        "nope.thrift",
        "cannot find include file 'nope.thrift'",
    ),
    (
        "include cycle",
        {"main": 'include "b.thrift"', "b": 'include "main.thrift"'},
        "b",
        ('"', 1),
        "main.thrift",
        "include cycle: main.thrift -> b.thrift -> main.thrift",
    ),
    (
        "duplicate definition",
        {"main": "struct A {}\nenum A { X }"},
        "main",
        ("A", 2),
        "A",
        "'A' is already defined",
    ),
    (
        "unknown base service",
        {"main": "service S extends Nope {}"},
        "main",
        ("Nope", 1),
        "Nope",
        "service 'Nope' has not been defined",
    ),
    (
        "throws a struct",
        {"main": "struct P {}\nservice S { void f() throws (1: P p) }"},
        "main",
        ("P", 2),
        "P",
        "throws clause of 'f' may only name exceptions",
    ),
    (
        "oneway returns",
        {"main": "service S { oneway i32 f() }"},
        "main",
        ("f()", 1),
        "f",
        "oneway method 'f' must return void",
    ),
    (
        "oneway throws",
        {"main": "exception E {}\nservice S { oneway void f() throws (1: E e) }"},
        "main",
        ("f()", 1),
        "f",
        "oneway method 'f' can't throw exceptions",
    ),
    (
        "python keyword",
        {"main": "struct A { 1: i32 from }"},
        "main",
        ("from", 1),
        "from",
        "reserved language keyword 'from'",
    ),
    (
        "argument self",
        {"main": "service S { void f(1: i32 self) }"},
        "main",
        ("self", 1),
        "self",
        "may not be called 'self'",
    ),
    ("dotted name", {"main": "struct a.b {}"}, "main", ("a.b", 1), "a.b", "can't have a dot"),
    (
        "slist",
        {"main": "struct A { 1: slist x }"},
        "main",
        ("slist", 1),
        "slist",
        '"slist" is no longer supported, use "string" instead',
    ),
    (
        "senum",
        {"main": 'senum S { "a" }'},
        "main",
        ("senum", 1),
        "senum",
        '"senum" is no longer supported',
    ),
    (
        "legacy namespace",
        {"main": "java_package com.example"},
        "main",
        ("java_package", 1),
        "java_package",
        "use 'namespace java' instead",
    ),
    (
        "typedef cycle",
        {"main": "typedef A B\ntypedef B A\nstruct S { 1: A a }"},
        "main",
        ("B", 2),
        "B",
        "typedef cycle",
    ),
    (
        "default builds itself",
        {"main": 'struct S { 1: list<i32> l = [1] }\nstruct T { 1: S s = {"l": [2]} }'},
        "main",
        ("{", 3),
        "{",
        "fails to import",
    ),
    (
        "error in include",
        {"main": 'include "b.thrift"', "b": "struct B { 1: Unknown u }"},
        "b",
        ("Unknown", 1),
        "Unknown",
        "unknown type 'Unknown'",
    ),
]


@pytest.mark.parametrize(
    ("files", "culprit", "at", "token", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_error_points_at_the_token(tmp_path: Path, files, culprit, at, token, message) -> None:
    for name, text in files.items():
        (tmp_path / f"{name}.thrift").write_text(text)
    with pytest.raises(IDLError) as info:
        thrift_bridge.load(tmp_path / "main.thrift")
    error = info.value
    line, column = where(files[culprit], *at)
    assert error.file == str(tmp_path / f"{culprit}.thrift")
    assert (error.line, error.column, error.token) == (line, column, token)
    assert message in error.reason
    assert str(error) == f"{error.file}:{line}:{column}: {error.reason} (at {token!r})"
    assert isinstance(error, ConfigError)
    assert isinstance(error, ValueError)


def test_idl_error_pickles_with_its_position(tmp_path: Path) -> None:
    (tmp_path / "main.thrift").write_text("struct A { 1: Nope n }")
    with pytest.raises(IDLError) as info:
        thrift_bridge.load(tmp_path / "main.thrift")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.file, copy.line, copy.column, copy.token, str(copy)) == (
        info.value.file,
        1,
        15,
        "Nope",
        str(info.value),
    )


@pytest.mark.skipif(not hasattr(TType, "UUID"), reason="this thrift has no uuid type")
def test_invalid_uuid_constant(tmp_path: Path) -> None:
    (tmp_path / "main.thrift").write_text('const uuid U = "not-a-uuid"')
    with pytest.raises(IDLError, match=r"main\.thrift:1:16: invalid uuid 'not-a-uuid'"):
        thrift_bridge.load(tmp_path / "main.thrift")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        thrift_bridge.load(tmp_path / "nope.thrift")


def test_without_lark_the_message_says_what_to_install(tmp_path, monkeypatch) -> None:
    (tmp_path / "main.thrift").write_text("struct A {}")
    monkeypatch.setitem(sys.modules, "lark", None)  # `import lark` raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'thrift-bridge\[idl\]'"):
        thrift_bridge.load(tmp_path / "main.thrift")


def test_non_utf8_file(tmp_path: Path) -> None:
    (tmp_path / "main.thrift").write_bytes(b"const string S = '\xff'")
    with pytest.raises(IDLError, match=r"main\.thrift:0:0: not UTF-8"):
        thrift_bridge.load(tmp_path / "main.thrift")


def test_uuid_needs_a_thrift_library_that_knows_it(tmp_path, monkeypatch) -> None:
    (tmp_path / "main.thrift").write_text("struct A {\n  1: uuid id\n}")
    monkeypatch.setenv("THRIFT_BRIDGE_LOAD_CACHE", "0")
    monkeypatch.delattr(TType, "UUID", raising=False)
    with pytest.raises(IDLError, match=r"main\.thrift:2:6: uuid needs a thrift library"):
        thrift_bridge.load(tmp_path / "main.thrift")
