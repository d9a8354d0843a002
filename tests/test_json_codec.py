"""The JSON codec against Apache's TJSONProtocol: the same bytes out, the same values in.

Values are drawn from `thrift_spec` for every struct and method of the alltypes and jsonshapes
IDLs (tests/jsonvalues.py). The one place our bytes differ on purpose is a non-finite double,
which Apache's Python writer emits as bare nan/inf that no reader accepts (its own included);
we write it as C++ and Java do, and `CppDoubles` is Apache's writer with exactly that change.
"""

from __future__ import annotations

import contextlib
import math
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from thrift.protocol.TProtocol import TProtocolException
from thrift.Thrift import TApplicationException, TMessageType

from thrift_bridge import ProtocolError
from thrift_bridge._codec._json_stream import decode_message
from thrift_bridge._codec._json_write import JsonLimits, encode_message, quote

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import Everything
from .generated.jsonshapes import Shapes
from .generated.jsonshapes import ttypes as shapes
from .jsonvalues import (
    CLASSES,
    MESSAGE_TYPES,
    SEQIDS,
    TEXT,
    CppDoubles,
    apache_bytes,
    apache_decode,
    as_read,
    normal,
    structs,
    values,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IDS = [f"{cls.__module__.rsplit('.', 2)[-2]}.{cls.__qualname__}" for cls in CLASSES]


def messages(cls: type) -> st.SearchStrategy[tuple[str, int, int, object]]:
    """(name, type, seqid, instance of cls) for one message."""
    return st.tuples(TEXT, MESSAGE_TYPES, SEQIDS, structs(cls))


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_our_bytes_are_apaches_and_each_side_reads_the_others(cls, data):
    name, message_type, seqid, value = data.draw(messages(cls))
    ours = encode_message(name, message_type, seqid, value)
    assert ours == apache_bytes(name, message_type, seqid, value, CppDoubles)
    if not _has_non_finite(value):
        assert ours == apache_bytes(name, message_type, seqid, value)  # Apache's writer itself
    expected = (name, message_type, seqid, normal(as_read(value)))
    theirs = apache_decode(ours, cls)
    assert (*theirs[:3], normal(theirs[3])) == expected
    decoded = decode_message(ours, cls)
    assert (*decoded[:3], normal(decoded[3])) == expected


def _has_non_finite(value: object) -> bool:
    """Whether a NaN or an infinity hides anywhere in `value`."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(map(_has_non_finite, value)) or any(map(_has_non_finite, value.values()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(map(_has_non_finite, value))
    spec = getattr(value, "thrift_spec", None) or ()
    return any(_has_non_finite(getattr(value, f[2])) for f in spec if f is not None)


class _Level(IntEnum):
    HIGH = 2


BATCH = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@BATCH
@given(st.lists(structs(shapes.Row), max_size=100), SEQIDS, st.sampled_from([1, 2]))
def test_a_struct_heavy_batch_is_apaches_bytes_and_each_side_reads_the_others(rows, seqid, kind):
    # The benchmark's batch, random: compiled struct and list writers and readers over many
    # structs, every scalar both in line and (an int subclass, NaN) by the slow path.
    value = Shapes.echo_rows_args(rows) if kind == 1 else Shapes.echo_rows_result(success=rows)
    cls = type(value)
    ours = encode_message("echo_rows", kind, seqid, value)
    assert ours == apache_bytes("echo_rows", kind, seqid, value, CppDoubles)
    expected = ("echo_rows", kind, seqid, normal(as_read(value)))
    theirs = apache_decode(ours, cls)
    assert (*theirs[:3], normal(theirs[3])) == expected
    decoded = decode_message(ours, cls)
    assert (*decoded[:3], normal(decoded[3])) == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tags", [1, _Level.HIGH, 2]),  # an int subclass: Apache writes its number
        ("small", [-128, 127]),
        ("weights", [0.5, 3, -0.0, math.inf, math.nan]),  # an int, -0.0, the non-finite
        ("ids", {2**63 - 1, -(2**63)}),
        ("flags", [True, False, 1]),
        ("score", 3),  # an int in a double field
        ("id", _Level.HIGH),
    ],
)
def test_values_off_the_in_line_path_are_written_as_apache_writes_them(field, value):
    row = shapes.Row(**{field: value})
    ours = encode_message("m", 1, 1, row)
    assert ours == apache_bytes("m", 1, 1, row, CppDoubles)
    assert normal(decode_message(ours, shapes.Row)[3]) == normal(apache_decode(ours, shapes.Row)[3])


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("tags", [1, 2**31], TProtocolException),
        ("small", [128], TProtocolException),
        ("ids", {2**63}, TProtocolException),
        ("tags", [1.0], TypeError),
        ("tags", ["1"], TypeError),
    ],
)
def test_list_elements_of_the_wrong_type_or_range_are_refused_when_writing(field, value, error):
    row = shapes.Row(**{field: value})
    with pytest.raises(error):
        encode_message("m", 1, 1, row)
    if error is TProtocolException:  # as Apache's writer refuses them (a float it would send)
        with pytest.raises(TProtocolException):
            apache_bytes("m", 1, 1, row)


@pytest.mark.parametrize(
    ("value", "written"),
    [(math.nan, b'"NaN"'), (math.inf, b'"Infinity"'), (-math.inf, b'"-Infinity"')],
)
def test_non_finite_doubles_are_written_as_cpp_writes_them_as_apaches_python_reads_not_its_own(
    value, written
):
    args = AllTypes.echo_double_args(value)
    apache = apache_bytes("echo_double", 1, 0, args)
    assert apache == b'[1,"echo_double",1,0,{"1":{"dbl":' + repr(value).encode() + b"}}]"
    with pytest.raises(TProtocolException, match="Bad data"):
        apache_decode(apache, AllTypes.echo_double_args)
    with pytest.raises(ProtocolError):
        decode_message(apache, AllTypes.echo_double_args)
    ours = encode_message("echo_double", 1, 0, args)
    assert ours == b'[1,"echo_double",1,0,{"1":{"dbl":' + written + b"}}]"
    assert normal(apache_decode(ours, AllTypes.echo_double_args)[3].value) == normal(value)


@pytest.mark.parametrize(
    "text",
    ['"\\\b\f\n\r\t/\x00\x01\x1f\x7f', "é€😀\U0010ffff", "x" * 300 + '"\\\n\x02', "x" * 300],
    ids=["escapes", "non-BMP", "long with escapes", "long plain"],
)
def test_strings_are_escaped_exactly_as_apache_escapes_them(text):
    # Long strings take the seven-memchr check instead of the regex: both must agree.
    args = AllTypes.echo_string_args(text)
    assert encode_message("s", 1, 1, args) == apache_bytes("s", 1, 1, args)
    assert (
        quote(text) == apache_bytes("s", 1, 1, args)[len(b'[1,"s",1,1,{"1":{"str":') : -3].decode()
    )


def test_fields_go_out_in_id_order_whatever_order_the_idl_declares_them_in():
    value = shapes.OutOfOrder(third="c", first=1, second=0.5)
    ours = encode_message("m", 1, 1, value)
    assert ours == b'[1,"m",1,1,{"1":{"i64":1},"2":{"dbl":0.5},"3":{"str":"c"}}]'
    assert ours == apache_bytes("m", 1, 1, value)


def test_struct_and_container_keys_are_written_as_apache_writes_them_and_read_where_it_can():
    key = shapes.Frozen(a=1)
    value = shapes.StructKeys(by_struct={key: "one"}, by_list={(1, 2): "pair"})  # type: ignore[dict-item]
    ours = encode_message("m", 2, 1, value)
    assert ours == apache_bytes("m", 2, 1, value)
    assert b'{{"1":{"i32":1},"3":{"i32":5}}:"one"}' in ours  # a bare object as a key: not JSON
    assert b'{["i32",2,1,2]:"pair"}' in ours
    # A hashable struct key reads back (through Apache's own reader, the C scanner cannot);
    # a list key cannot be a dict key in Python, so Apache's reader fails and so do we.
    frozen_only = apache_bytes("m", 2, 1, shapes.StructKeys(by_struct={key: "one"}))
    assert decode_message(frozen_only, shapes.StructKeys)[3].by_struct == {key: "one"}
    assert apache_decode(frozen_only, shapes.StructKeys)[3].by_struct == {key: "one"}
    with pytest.raises(TypeError, match="unhashable"):
        apache_decode(ours, shapes.StructKeys)
    with pytest.raises(ProtocolError, match="unhashable"):
        decode_message(ours, shapes.StructKeys)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("an_i32", 2**31, TProtocolException),
        ("a_byte", -129, TProtocolException),
        ("an_i64", 1.5, TypeError),
        ("an_i16", "7", TypeError),
        ("a_string", b"bytes", TypeError),
        ("a_binary", "text", TypeError),
        ("a_double", "1.5", TypeError),
    ],
)
def test_values_of_the_wrong_type_or_range_are_refused_when_writing(field, value, error):
    with pytest.raises(error):
        encode_message("m", 1, 1, Everything(**{field: value}))


def test_writing_follows_apache_for_int_subclasses_and_non_bool_truth_values():
    from enum import IntEnum

    class Level(IntEnum):
        HIGH = 2

    args = Everything(a_color=Level.HIGH, a_bool=1)  # Apache writes a_bool=1 as 0: `is True`
    assert encode_message("m", 1, 1, args) == apache_bytes("m", 1, 1, args)
    assert b'"1":{"tf":0}' in encode_message("m", 1, 1, args)


def test_an_exception_message_decodes_to_a_tapplicationexception():
    error = TApplicationException(TApplicationException.INTERNAL_ERROR, "boom ✓")
    data = apache_bytes("add", TMessageType.EXCEPTION, 9, error)
    name, message_type, seqid, decoded = decode_message(data, AllTypes.add_result)
    assert (name, message_type, seqid) == ("add", TMessageType.EXCEPTION, 9)
    assert isinstance(decoded, TApplicationException)
    assert (decoded.type, decoded.message) == (error.type, error.message)


# -- reading what Apache reads ---------------------------------------------------------------

R = AllTypes.echo_struct_result
REJECT = "rejected"


def reply(body: str, head: str = '[1,"m",2,0,') -> bytes:
    """A reply message around `body`, the result struct's JSON."""
    return (head + body + "]").encode()


def everything(fields: str) -> bytes:
    """A reply whose success is an Everything with the given fields' JSON."""
    return reply('{"0":{"rec":{' + fields + "}}}")


READS = [
    # C++ writes base64 without padding; Apache pads before decoding (and drops junk).
    ("unpadded base64", everything('"8":{"str":"YWJjZA"}'), Everything(a_binary=b"abcd")),
    ("padded base64", everything('"8":{"str":"YWJjZA=="}'), Everything(a_binary=b"abcd")),
    ("base64 with junk", everything('"8":{"str":"YWJj!ZA=="}'), Everything(a_binary=b"abcd")),
    ("base64 with junk, unpadded", everything('"8":{"str":"YW!JjZA"}'), REJECT),
    ("base64 one too many", everything('"8":{"str":"YWJjZ"}'), REJECT),
    ("quoted double", everything('"6":{"dbl":"1.5"}'), Everything(a_double=1.5)),
    ("quoted NaN", everything('"6":{"dbl":"NaN"}'), Everything(a_double=math.nan)),
    ("quoted -Infinity", everything('"6":{"dbl":"-Infinity"}'), Everything(a_double=-math.inf)),
    (
        "quoted double, float() spelling",
        everything('"6":{"dbl":" 1_0 "}'),
        Everything(a_double=10.0),
    ),
    ("bare NaN", everything('"6":{"dbl":NaN}'), REJECT),
    ("double as integer", everything('"6":{"dbl":3}'), Everything(a_double=3.0)),
    ("negative zero double", everything('"6":{"dbl":-0}'), Everything(a_double=-0.0)),
    ("negative zero integer", everything('"4":{"i32":-0}'), Everything(an_i32=0)),
    (
        "double past the float range",
        everything('"6":{"dbl":' + "9" * 400 + "}"),
        Everything(a_double=math.inf),
    ),
    (
        "5000 digits as a double",
        everything('"6":{"dbl":' + "9" * 5000 + "}"),
        Everything(a_double=math.inf),
    ),
    ("quoted integer value", everything('"4":{"i32":"1"}'), REJECT),
    ("float for an integer", everything('"4":{"i32":1.0}'), REJECT),
    ("bool as any integer", everything('"1":{"tf":2}'), Everything(a_bool=True)),
    ("true literal", everything('"1":{"tf":true}'), REJECT),
    ("integer spellings JSON refuses", everything('"4":{"i32":+01}'), Everything(an_i32=1)),
    ("field id with leading zero", everything('"04":{"i32":5}'), Everything(an_i32=5)),
    ("field id with sign", everything('"+4":{"i32":5}'), Everything(an_i32=5)),
    ("field id with a space", everything('" 4":{"i32":5}'), REJECT),
    ("field id escaped", everything('"\\u0034":{"i32":5}'), REJECT),
    ("escaped digit in a string", everything('"7":{"str":"\\u0034"}'), Everything(a_string="4")),
    (
        "map keys as Apache's int() reads them",
        everything('"19":{"map":["i16","dbl",2,{"01":1.5,"-2":2}]}'),
        Everything(by_small_int={1: 1.5, -2: 2.0}),
    ),
    (
        "map key that is not an integer",
        everything('"19":{"map":["i16","dbl",1,{"1.0":1.5}]}'),
        REJECT,
    ),
    (
        "duplicate map keys count as pairs",
        everything('"19":{"map":["i16","dbl",2,{"1":1,"1":2}]}'),
        Everything(by_small_int={1: 2.0}),
    ),
    (
        "map size short of its pairs",
        everything('"19":{"map":["i16","dbl",1,{"1":1,"2":2}]}'),
        REJECT,
    ),
    (
        "negative list size, no elements",
        everything('"18":{"lst":["i32",-3]}'),
        Everything(list_default=[]),
    ),
    ("negative list size, elements", everything('"18":{"lst":["i32",-1,5]}'), REJECT),
    ("list size past its elements", everything('"18":{"lst":["i32",2,5]}'), REJECT),
    (
        "element type name not checked",
        everything('"18":{"lst":["str",1,5]}'),
        Everything(list_default=[5]),
    ),
    ("unknown element type name", everything('"18":{"lst":["int",1,5]}'), REJECT),
    (
        "unknown field skipped",
        everything('"99":{"lst":["rec",1,{"1":{"str":"x"}}]},"4":{"i32":1}'),
        Everything(an_i32=1),
    ),
    ("mistyped field skipped", everything('"4":{"str":"x"}'), Everything()),
    ("mistyped field still checked", everything('"4":{"i64":"x"}'), REJECT),
    ("skipped map still checked", everything('"99":{"map":["i32","str",1,{"x":"y"}]}'), REJECT),
    ("skipped uuid checked", everything('"99":{"uid":"not a uuid"}'), REJECT),
    (
        "skipped uuid",
        everything('"99":{"uid":"{12345678-1234-5678-1234-567812345678}"}'),
        Everything(),
    ),
    ("duplicate field: last wins", everything('"4":{"i32":1},"4":{"i32":2}'), Everything(an_i32=2)),
    ("field with two types", everything('"4":{"i32":1,"i64":2}'), REJECT),
    (
        "surrogate pair escapes",
        everything('"7":{"str":"\\ud83d\\ude00"}'),
        Everything(a_string="😀"),
    ),
    (
        "high surrogate ending a string is dropped",
        everything('"7":{"str":"a\\ud83d"}'),
        Everything(a_string="a"),
    ),
    ("high surrogate then a character", everything('"7":{"str":"\\ud83dx"}'), REJECT),
    ("lone low surrogate", everything('"7":{"str":"\\ude00"}'), REJECT),
    (
        "C++ control escapes and raw controls",
        everything('"7":{"str":"\\u0001\\/\x02\n"}'),
        Everything(a_string="\x01/\x02\n"),
    ),
    (
        "escapes Apache's int(x, 16) takes",
        everything('"7":{"str":"\\u+041"}'),
        Everything(a_string="A"),
    ),
    ("unknown escape", everything('"7":{"str":"\\x"}'), REJECT),
    (
        "invalid UTF-8 in a string",
        everything('"7":{"str":"\xff"}').replace("\xff".encode(), b"\xff"),
        REJECT,
    ),
    ("whitespace between tokens", everything('"4": {"i32":1}'), REJECT),
    ("whitespace inside a string", everything('"7":{"str":" a "}'), Everything(a_string=" a ")),
    ("bad version", reply('{"0":{"rec":{}}}', '[2,"m",2,0,'), REJECT),
    ("message name not a string", reply('{"0":{"rec":{}}}', "[1,7,2,0,"), REJECT),
    ("extra message element", reply('{"0":{"rec":{}}},1'), REJECT),
    ("bytes after the message", reply('{"0":{"rec":{}}}') + b"x", REJECT),
    ("one brace too many", reply('{"0":{"rec":{}}}}'), REJECT),
]


@pytest.mark.parametrize(("data", "expected"), [r[1:] for r in READS], ids=[r[0] for r in READS])
def test_we_read_what_apache_reads_and_refuse_what_it_refuses(data, expected):
    try:
        apache = normal(apache_decode(data, R)[3].success)
    except Exception:  # Apache's reader raises anything from KeyError to UnicodeDecodeError
        apache = REJECT
    if expected == REJECT:
        assert apache == REJECT
        with pytest.raises(ProtocolError):
            decode_message(data, R)
    else:
        assert apache == normal(expected)
        assert normal(decode_message(data, R)[3].success) == normal(expected)


# -- limits and malformed input ----------------------------------------------------------------


def chain(depth: int) -> shapes.Tree:
    """A Tree nesting `depth` structs through `left`."""
    tree = shapes.Tree(label="leaf")
    for _ in range(depth - 1):
        tree = shapes.Tree(left=tree)
    return tree


def test_nesting_up_to_the_depth_limit_is_read_and_deeper_is_refused():
    from .generated.jsonshapes import Shapes

    result = Shapes.echo_tree_result
    # The result struct is depth 1, its success field's Tree depth 2: 63 Trees reach 64.
    at_limit = apache_bytes("echo_tree", 2, 0, result(success=chain(63)))
    assert normal(decode_message(at_limit, result)[3]) == normal(result(success=chain(63)))
    too_deep = apache_bytes("echo_tree", 2, 0, result(success=chain(64)))
    assert apache_decode(too_deep, result)  # Apache's Python reader has no depth limit
    with pytest.raises(ProtocolError, match="max_depth=64"):
        decode_message(too_deep, result)
    # The same through Apache's reader (our fallback for what is not JSON: a '+1' here).
    with pytest.raises(ProtocolError, match="max_depth=64"):
        decode_message(too_deep.replace(b',0,{"0"', b',+0,{"0"'), result)
    assert decode_message(at_limit.replace(b',0,{"0"', b',+0,{"0"'), result)[2] == 0


def test_nesting_deeper_than_the_c_scanner_goes_is_a_protocol_error():
    data = b'[1,"m",2,0,{"0":{"lst":' + b"[" * 100_000 + b"]" * 100_000 + b"}}]"
    with pytest.raises(ProtocolError):
        decode_message(data, R)


@pytest.mark.parametrize(
    ("limits", "fields", "match"),
    [
        (JsonLimits(container_length_limit=2), '"18":{"lst":["i32",3,1,2,3]}', "container_length"),
        (JsonLimits(container_length_limit=2), '"99":{"set":["i32",3,1,2,3]}', "container_length"),
        (JsonLimits(string_length_limit=3), '"7":{"str":"four"}', "string_length_limit"),
        (JsonLimits(string_length_limit=3), '"8":{"str":"YWJjZA=="}', "string_length_limit"),
        (JsonLimits(max_message_size=40), '"7":{"str":"' + "x" * 40 + '"}', "max_message_size"),
        (JsonLimits(max_depth=2), '"10":{"rec":{}}', "max_depth=2"),
    ],
)
def test_size_limits_are_protocol_errors(limits, fields, match):
    with pytest.raises(ProtocolError, match=match):
        decode_message(everything(fields), R, limits)


@SETTINGS
@given(structs(AllTypes.echo_struct_result), SEQIDS)
def test_every_truncation_of_a_message_is_a_protocol_error(value, seqid):
    data = encode_message("echo_struct", 2, seqid, value)
    for end in range(len(data)):
        with pytest.raises(ProtocolError):
            decode_message(data[:end], AllTypes.echo_struct_result)


INTERESTING = [bytes([b]) for b in b'"\\{}[],:0123456789-+.eE tfxu \x00'] + [b"\xc3", b"\xc3\xa9"]


def full(cls: type) -> st.SearchStrategy[Any]:
    """Instances of `cls` with every field set: the compiled readers' path without a loop."""
    fields = {f[2]: values(f[1], f[3]) for f in cls.thrift_spec if f is not None}  # type: ignore[attr-defined]
    return st.fixed_dictionaries(fields).map(lambda kwargs: cls(**kwargs))


MUTATED = [
    ("echo_struct", AllTypes.echo_struct_result, structs(AllTypes.echo_struct_result)),
    (
        "echo_rows",
        Shapes.echo_rows_result,
        st.lists(full(shapes.Row), min_size=1, max_size=3).map(
            lambda rows: Shapes.echo_rows_result(success=rows)
        ),
    ),
]


@pytest.mark.parametrize(("name", "cls", "strategy"), MUTATED, ids=[m[0] for m in MUTATED])
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_mutated_messages_are_read_exactly_when_apache_reads_them(name, cls, strategy, data):
    value = data.draw(strategy)
    message = apache_bytes(name, 2, 1, value, CppDoubles)
    at = data.draw(st.integers(0, len(message)))
    kind = data.draw(st.sampled_from(["delete", "insert", "replace"]))
    piece = data.draw(st.sampled_from(INTERESTING))
    if kind == "delete":
        mutated = message[:at] + message[at + 1 :]
    else:
        mutated = message[:at] + piece + message[at + (kind == "replace") :]
    try:
        apache = normal(apache_decode(mutated, cls))
    except Exception:
        apache = REJECT
    try:
        ours = normal(decode_message(mutated, cls))
    except ProtocolError:
        ours = REJECT
    assert ours == apache


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_is_a_protocol_error(garbage):
    for data in (garbage, b"[" + garbage, b'[1,"m",2,0,' + garbage):
        with contextlib.suppress(ProtocolError):
            decode_message(data, R)  # anything else escaping fails the test


def _hand_made_struct(names: list[str]) -> type:
    """A struct class with i32 fields named `names` (ids 1..n), as a hand-written thrift_spec
    may name them: the compiler never makes most of these names."""
    from thrift.Thrift import TType

    class Hand:
        thrift_spec = (None, *((i + 1, TType.I32, n, None, None) for i, n in enumerate(names)))

        def __init__(self, **values: Any) -> None:
            for name in names:
                object.__setattr__(self, name, values.get(name))

    return Hand


@pytest.mark.parametrize(
    "name", ["__debug__", "ﬁeld", "from", 'quote"d', "x'); import os #", "ä", "_"]
)
def test_a_field_of_any_name_goes_through_the_compiled_codec_to_its_own_attribute(name):
    # `obj.__debug__ = v` does not compile, and source identifiers are NFKC-normalised
    # ("ﬁeld" would be "field"): such names go through getattr/setattr.
    cls = _hand_made_struct([name, "other"])
    data = encode_message("m", TMessageType.CALL, 1, cls(**{name: 5, "other": 6}))
    assert data == b'[1,"m",1,1,{"1":{"i32":5},"2":{"i32":6}}]'
    read = decode_message(data, cls)[3]
    assert vars(read) == {name: 5, "other": 6}


@pytest.mark.parametrize("width", [33, 3000])
def test_a_wide_struct_reads_with_fields_missing_and_in_any_order(width):
    # Past CHAIN_FIELDS a reader looks keys up by dict: an if/elif chain of 3,000 fields did
    # not compile (RecursionError), and one of 300 read in quadratic time.
    names = [f"f{i}" for i in range(width)]
    cls = _hand_made_struct(names)
    values = {name: i for i, name in enumerate(names) if i % 7}
    body = ",".join(
        f'"{i + 1}":{{"i32":{v}}}' for i, v in reversed(list(enumerate(range(width)))) if i % 7
    )
    data = f'[1,"m",1,1,{{{body}}}]'.encode()
    read = decode_message(data, cls)[3]
    assert vars(read) == {name: values.get(name) for name in names}
    assert decode_message(encode_message("m", TMessageType.CALL, 1, read), cls)[3].__dict__ == vars(
        read
    )
