"""Dict in, dict out: plain values checked against the IDL, results back as JSON-ready data."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from thrift.Thrift import TType
from thrift.TMultiplexedProcessor import TMultiplexedProcessor

from thrift_bridge import ArgumentError, Client, ConfigError, Invoker, from_dict, to_dict
from thrift_bridge._convert import convert_args, convert_result
from thrift_bridge._service import service_methods
from thrift_bridge.testing import serve

from .generated.alltypes import AllTypes
from .generated.alltypes.ttypes import (
    BadInput,
    Choice,
    Color,
    Everything,
    Inner,
    Unavailable,
)
from .generated.calculator import Calculator
from .handlers import AllTypesHandler, CalculatorHandler
from .roundtrip import EVERYTHING

PLAIN_EVERYTHING = {
    "a_bool": True,
    "a_byte": -128,
    "an_i16": -32768,
    "an_i32": 2**31 - 1,
    "an_i64": -(2**63),
    "a_double": 1.5e300,
    "a_string": "héllo wörld ✓",
    "a_binary": base64.b64encode(bytes(range(256))).decode(),
    "a_color": 3,
    "inner": {"number": 7, "label": "seven"},
    "inners": [{"number": i, "label": str(i)} for i in range(5)],
    "names": ["a", "b", "c"],
    "nested": {"x": [[1, 2], [3]], "y": []},
    "must": "required",
    "with_default": 42,
    "text_default": "hello",
    "list_default": [1, 2, 3],
    "by_small_int": {"-2": 2.25, "1": 0.5},
}


def test_struct_to_dict_is_json_ready_and_from_dict_goes_back():
    plain = to_dict(EVERYTHING)
    assert json.loads(json.dumps(plain)) == plain
    assert plain == PLAIN_EVERYTHING
    assert from_dict(Everything, plain) == EVERYTHING


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("echo_bool", {"value": False}, {"value": False}),
        ("echo_byte", {"value": 127}, {"value": 127}),
        ("echo_i16", {"value": -32768}, {"value": -32768}),
        ("echo_i32", {"value": -(2**31)}, {"value": -(2**31)}),
        ("echo_i64", {"value": 2**63 - 1}, {"value": 2**63 - 1}),
        ("echo_string", {"value": "ünï ✓"}, {"value": "ünï ✓"}),
        ("echo_double", {"value": "-inf"}, {"value": float("-inf")}),
        ("echo_enum", {"value": "GREEN"}, {"value": Color.GREEN}),
        ("echo_enum", {"value": 3}, {"value": Color.BLUE}),
        ("echo_binary", {"value": "AAE="}, {"value": b"\x00\x01"}),
        ("echo_binary", {"value": b"raw"}, {"value": b"raw"}),
        ("echo_double", {"value": 2}, {"value": 2.0}),
        ("echo_set", {"value": ["a", "b", "a"]}, {"value": {"a", "b"}}),
        ("echo_map", {"value": {"1": "one"}}, {"value": {1: "one"}}),
        ("echo_map", {"value": {"-7": "x", "RED": "red"}}, {"value": {-7: "x", 1: "red"}}),
        ("echo_nested", {"value": {"k": [[3, 1], []]}}, {"value": {"k": [{1, 3}, set()]}}),
        ("echo_union", {"value": {"text": "t"}}, {"value": Choice(text="t")}),
        ("echo_union", {"value": {"words": ["a"]}}, {"value": Choice(words=["a"])}),
        (
            "echo_union",
            {"value": {"inner": {"label": "l"}}},
            {"value": Choice(inner=Inner(label="l"))},
        ),
        (
            "echo_struct",
            {"value": {"must": "m", "a_color": "BLUE", "by_small_int": {"-1": 1, "2": 0.5}}},
            {"value": Everything(must="m", a_color=Color.BLUE, by_small_int={-1: 1.0, 2: 0.5})},
        ),
        ("echo_list", {"value": [{"number": 1}]}, {"value": [Inner(number=1)]}),
        ("nothing", {}, {}),
        ("nothing", None, {}),
    ],
)
def test_convert_args_accepts_plain_values(method, args, expected):
    assert convert_args(AllTypes.Client, method, args) == expected


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        (
            "echo_i32",
            {"value": "x"},
            "value: expected i32 or an enum value name (BLUE, GREEN, RED), got 'x'",
        ),
        ("echo_i16", {"value": "x"}, "value: expected i16 (-32768..32767), got 'x'"),
        ("echo_i32", {"value": 2**31}, "value: expected i32"),
        ("echo_byte", {"value": 128}, "value: expected i8 (-128..127), got 128"),
        ("echo_i64", {"value": True}, "value: expected i64"),
        ("echo_bool", {"value": 1}, "value: expected bool, got 1"),
        ("echo_double", {"value": "1.5"}, "value: expected double"),
        (
            "echo_double",
            {"value": 10**400},
            "value: expected double (an int this large does not fit)",
        ),
        ("echo_string", {"value": b"x"}, "value: expected string"),
        (
            "echo_string",
            {"value": "a\ud800"},
            "value: expected string (valid Unicode), got 'a\\ud800'",
        ),
        ("echo_binary", {"value": "not base64!"}, "value: expected binary (bytes or base64 text)"),
        (
            "echo_enum",
            {"value": "PURPLE"},
            "value: expected i32 or an enum value name (BLUE, GREEN",
        ),
        ("echo_set", {"value": "abc"}, "value: expected a set (JSON array)"),
        ("echo_map", {"value": {"x": "one"}}, "value['x']: expected i32"),
        ("echo_map", {"value": {"1": 1}}, "value['1']: expected string, got 1"),
        ("echo_map", {"value": ["1"]}, "value: expected a map (JSON object), got ['1']"),
        ("echo_nested", {"value": {"k": [[1, "2"]]}}, "value['k'][0][1]: expected i32"),
        ("echo_nested", {"value": {"k": [{"1": 1}]}}, "value['k'][0]: expected a set (JSON array)"),
        ("echo_union", {"value": {"inner": {"number": 2**31}}}, "value.inner.number: expected i32"),
        ("echo_union", {"value": "text"}, "value: expected Choice (JSON object), got 'text'"),
        (
            "echo_struct",
            {"value": {"must": "m", "by_small_int": {"40000": 1.0}}},
            "value.by_small_int['40000']: expected i16 (-32768..32767), got 40000",
        ),
        ("echo_struct", {"value": {"must": "m", "inner": {"number": "7"}}}, "value.inner.number"),
        ("echo_struct", {"value": {"must": "m", "colour": 1}}, "unknown field(s) 'colour'"),
        ("echo_struct", {"value": {"a_bool": True}}, "Required field must is unset"),
        ("echo_list", {"value": [{"number": 1}, {"label": 2}]}, "value[1].label: expected string"),
        ("echo_i32", {}, "missing argument(s) 'value'"),
        ("echo_i32", {"value": 1, "extra": 2}, "unknown argument(s) 'extra' (arguments: value)"),
        ("echo_i32", [1], "expected a JSON object of arguments (value)"),
    ],
)
def test_convert_args_names_the_field_path(method, args, message):
    with pytest.raises(ArgumentError) as info:
        convert_args(AllTypes.Client, method, args)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_convert_result_to_plain():
    assert convert_result(AllTypes.Client, "echo_struct", EVERYTHING) == PLAIN_EVERYTHING
    assert convert_result(AllTypes.Client, "echo_set", {"b", "a"}) == ["a", "b"]
    assert convert_result(AllTypes.Client, "echo_enum", Color.RED) == Color.RED
    assert convert_result(AllTypes.Client, "nothing", None) is None


TRICKY_TEXT = st.sampled_from(["\ud800", "inf", "nan", "RED", "AAE=", "1", "true", "-"])
JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**63, -(2**63) - 1, 10**400])
    | st.floats()
    | st.text(max_size=5)
    | TRICKY_TEXT,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4) | TRICKY_TEXT, inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(service_methods(AllTypes.Client))), JSONISH)
def test_arbitrary_json_only_ever_raises_argument_error(method, value):
    for args in (value, {"value": value}, {"data": value, "delay_seconds": value}):
        with contextlib.suppress(ArgumentError):
            convert_args(AllTypes.Client, method, args)


_INT_BOUNDS = {TType.BYTE: 7, TType.I16: 15, TType.I32: 31, TType.I64: 63}


def generated_values(ttype, type_args):
    """Any Python value the generated code may hold for a `thrift_spec` type."""
    if ttype == TType.BOOL:
        return st.booleans()
    if ttype in _INT_BOUNDS:
        bits = _INT_BOUNDS[ttype]
        return st.integers(-(2**bits), 2**bits - 1)
    if ttype == TType.DOUBLE:
        return st.floats(allow_nan=False)  # nan != nan; inf and -0.0 are in
    if ttype == TType.STRING:
        return st.binary(max_size=8) if type_args == "BINARY" else st.text(max_size=8)
    if ttype == TType.STRUCT:
        return generated_structs(type_args[0])
    if ttype == TType.LIST:
        return st.lists(generated_values(*type_args[:2]), max_size=3)
    if ttype == TType.SET:
        return st.sets(generated_values(*type_args[:2]), max_size=3)
    if ttype == TType.MAP:
        keys, values = generated_values(*type_args[:2]), generated_values(*type_args[2:4])
        return st.dictionaries(keys, values, max_size=3)
    raise AssertionError(f"no strategy for type id {ttype}")


def _is_valid(obj):
    try:
        obj.validate()
    except Exception:
        return False
    return True


def generated_structs(cls):
    """Instances of a generated struct, union or exception with any fields set or unset."""
    fields = {}
    for _, ttype, name, type_args, default in (f for f in cls.thrift_spec if f is not None):
        values = generated_values(ttype, type_args)
        # from_dict reads "left out" as "the IDL default", so defaulted fields are always set.
        fields[name] = values if default is not None else st.none() | values
    return st.builds(cls, **fields).filter(_is_valid)  # required fields set


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        generated_structs(Everything),
        generated_structs(Choice),
        generated_structs(Inner),
        generated_structs(BadInput),
        generated_structs(Unavailable),
    )
)
def test_to_dict_from_dict_round_trip(obj):
    plain = to_dict(obj)
    assert json.loads(json.dumps(plain, allow_nan=False)) == plain  # strict JSON, no Infinity
    assert from_dict(type(obj), plain) == obj


@pytest.fixture
def alltypes_url():
    with serve(AllTypes.Processor(AllTypesHandler())) as server:
        yield server.url


def test_invoke_dict_in_dict_out_against_a_real_server(alltypes_url):
    with Client(AllTypes, alltypes_url) as client:
        assert client.invoke("echo_struct", {"value": PLAIN_EVERYTHING}) == PLAIN_EVERYTHING
        assert client.invoke("add", {"a": 2, "b": 3}) == 5
        assert client.invoke("nothing") is None
        with pytest.raises(BadInput) as info:
            client.invoke("raise_error", {"kind": 1})
        assert to_dict(info.value) == {"message": "bad input", "code": 400}
        with pytest.raises(ArgumentError, match="a: expected i64"):
            client.invoke("add", {"a": "two", "b": 3})
        with pytest.raises(ConfigError, match="'mul' is not a method"):
            client.invoke("mul", {})
        assert client.stats()["created"] == 1  # bad arguments never touched the wire


def test_invoker_calls_multiplexed_services_by_name():
    processor = TMultiplexedProcessor()
    processor.registerProcessor("Calculator", Calculator.Processor(CalculatorHandler()))
    processor.registerProcessor("AllTypes", AllTypes.Processor(AllTypesHandler()))
    with (
        serve(processor) as server,
        Invoker(server.url, services={"Calculator": Calculator, "AllTypes": AllTypes}) as invoker,
    ):
        assert invoker.invoke("Calculator.add", {"num1": 1, "num2": 2}) == 3
        assert invoker.invoke("AllTypes.echo_enum", {"value": "RED"}) == Color.RED
        assert list(invoker) == ["AllTypes", "Calculator"]
        with pytest.raises(ConfigError, match=r"no service 'Nope' .*AllTypes, Calculator"):
            invoker.invoke("Nope.add", {})
        with pytest.raises(ConfigError, match=r"expected 'Service\.method'"):
            invoker.invoke("add", {})
