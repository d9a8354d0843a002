"""`thrift_bridge.load` against Apache's compiler: same specs, signatures, values and bytes.

Each IDL of the corpus (tests/idl_corpus/ and idl/) is compiled by ``thrift --gen py`` (the
Debian compiler) and loaded; every class, enum, constant, service method and signature of
the two must agree, and random values of every struct must encode to the same bytes with the
binary and compact protocols (C codec), JSON and the pure-Python binary protocol, each side
decoding what the other wrote to equal values.
"""

from __future__ import annotations

import inspect
import pickle
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from thrift.protocol.TBinaryProtocol import (
    TBinaryProtocolAcceleratedFactory,
    TBinaryProtocolFactory,
)
from thrift.protocol.TCompactProtocol import TCompactProtocolAcceleratedFactory
from thrift.protocol.TJSONProtocol import TJSONProtocolFactory

import thrift_bridge

from .idl_twins import (
    LOADED_PREFIX,
    Twins,
    build,
    compile_twin,
    decode,
    encode,
    instances,
    normal,
    orders_by_class_hash,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests" / "idl_corpus").glob("*.thrift")) + sorted(
    (ROOT / "idl").glob("*.thrift")
)
PROTOCOLS = {
    "binary": TBinaryProtocolAcceleratedFactory(),
    "compact": TCompactProtocolAcceleratedFactory(),
    "json": TJSONProtocolFactory(),
    "binary (Python)": TBinaryProtocolFactory(),
}
# Names each side imports into every module (Apache: ``from thrift.Thrift import ...``).
IGNORED_MEMBERS = {
    "__doc__",
    "__module__",
    "__qualname__",
    "__dict__",
    "__weakref__",
    "__slotnames__",
}


@pytest.fixture(scope="module", params=CORPUS, ids=lambda p: p.name)
def twins(request: Any, compiler: str, tmp_path_factory: Any) -> Twins:
    """The corpus file compiled by Apache and loaded by us."""
    path: Path = request.param
    loaded = thrift_bridge.load(path)
    apache = compile_twin(
        compiler, path, tmp_path_factory.mktemp("apache"), loaded.__name__[len(LOADED_PREFIX) :]
    )
    return Twins(apache, loaded)


def _members(cls: type) -> set[str]:
    return set(vars(cls)) - IGNORED_MEMBERS


def test_same_modules_and_public_names(twins: Twins) -> None:
    assert any(key.endswith(".ttypes") for key in twins.apache)  # not comparing nothing
    assert sorted(twins.loaded) == sorted(twins.apache)
    for key, apache in twins.apache.items():
        assert getattr(twins.loaded[key], "__all__", None) == getattr(apache, "__all__", None)
        if hasattr(apache, "__path__"):
            continue  # packages: ours also carries the types at the top (tested elsewhere)
        public = {
            n
            for n, v in vars(apache).items()
            if not n.startswith("_") and not isinstance(v, types.ModuleType)
        }
        ours = {
            n
            for n, v in vars(twins.loaded[key]).items()
            if not n.startswith("_") and not isinstance(v, types.ModuleType)
        }
        assert ours == public, key


def test_same_classes_specs_and_signatures(twins: Twins) -> None:
    apache, ours = Twins.classes(twins.apache), Twins.classes(twins.loaded)
    assert apache
    assert sorted(ours) == sorted(apache)
    for key, expected in apache.items():
        actual = ours[key]
        assert [Twins.key_of(b) for b in actual.__bases__] == [
            Twins.key_of(b) for b in expected.__bases__
        ], key
        assert _members(actual) == _members(expected), key
        assert normal(getattr(actual, "thrift_spec", None), twins) == normal(
            getattr(expected, "thrift_spec", None), twins
        ), key
        for name in _members(expected):
            mine, theirs = (
                inspect.getattr_static(actual, name),
                inspect.getattr_static(expected, name),
            )
            assert type(mine) is type(theirs), f"{key}.{name}"
            if callable(theirs) and not isinstance(theirs, type):
                assert normal(inspect.signature(mine), twins) == normal(
                    inspect.signature(theirs), twins
                ), f"{key}.{name}"
            elif name.isupper() or name.startswith("_VALUES") or name.startswith("_NAMES"):
                assert normal(mine, twins) == normal(theirs, twins), f"{key}.{name}"


def test_same_constants(twins: Twins) -> None:
    for key, apache in twins.apache.items():
        if not key.endswith(".constants"):
            continue
        ours = twins.loaded[key]
        ttypes = twins.apache[key[: -len("constants")] + "ttypes"]
        names = [n for n in vars(apache) if not n.startswith("_") and n not in vars(ttypes)]
        for name in names:
            assert normal(getattr(ours, name), twins) == normal(getattr(apache, name), twins), name


def test_same_processors(twins: Twins) -> None:
    for key, apache in twins.apache.items():
        if hasattr(apache, "Processor"):
            ours = twins.loaded[key].Processor(object())
            theirs = apache.Processor(object())
            assert list(ours._processMap) == list(theirs._processMap)


def test_same_pickling(twins: Twins) -> None:
    """A class pickles (and unpickles equal) on our side exactly when it does on Apache's."""
    ours = Twins.classes(twins.loaded)
    for key, cls in Twins.classes(twins.apache).items():
        if not hasattr(cls, "thrift_spec"):
            continue
        outcomes = []
        for side in (cls, ours[key]):
            try:
                obj = side()
                outcomes.append(("equal", pickle.loads(pickle.dumps(obj)) == obj))
            except Exception as exc:
                outcomes.append(("raises", type(exc).__name__))
        assert outcomes[0] == outcomes[1], key


def _outcome(action: Any) -> tuple[str, str]:
    """What calling `action` did: its result's repr, or the exception it raised."""
    try:
        return ("returned", repr(action()))
    except Exception as exc:
        return (type(exc).__name__, str(exc))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_bytes_both_ways(twins: Twins, data: st.DataObject) -> None:
    ours = Twins.classes(twins.loaded)
    apache = Twins.classes(twins.apache)
    structs = sorted(k for k, c in ours.items() if hasattr(c, "thrift_spec"))
    key = data.draw(st.sampled_from(structs), label="class")
    recipe = data.draw(instances(ours[key]), label="value")
    value, twin = build(recipe, ours), build(recipe, apache)
    if not orders_by_class_hash(recipe):
        assert repr(value) == repr(twin)
        assert str(value) == str(twin)
    assert _outcome(value.validate) == _outcome(twin.validate)
    assert (value == build(recipe, ours)) == (twin == build(recipe, apache))
    assert _outcome(lambda: setattr(value, "extra", 1)) == _outcome(
        lambda: setattr(twin, "extra", 1)
    )
    for protocol, factory in PROTOCOLS.items():
        mine, theirs = encode(value, factory), encode(twin, factory)
        if not orders_by_class_hash(recipe):
            assert mine == theirs, protocol
        for decoder in (ours[key], apache[key]):
            assert normal(decode(decoder, theirs, factory), twins) == normal(
                decode(apache[key] if decoder is ours[key] else ours[key], mine, factory), twins
            ), protocol
