"""`thrift_bridge.load`: package shape, module names, includes, caching, pickling, uuid."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from thrift.protocol.TBinaryProtocol import TBinaryProtocolAcceleratedFactory
from thrift.protocol.TCompactProtocol import TCompactProtocolAcceleratedFactory
from thrift.protocol.TJSONProtocol import TJSONProtocolFactory
from thrift.Thrift import TType

import thrift_bridge
from thrift_bridge import ConfigError

from .idl_twins import decode, encode

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "idl_corpus"


def write(folder: Path, name: str, text: str) -> Path:
    """Write an IDL file and return its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def unique(stem: str) -> str:
    """A namespace no other test uses."""
    return f"{stem}_{uuid.uuid4().hex[:8]}"


def test_package_shape() -> None:
    basics = thrift_bridge.load(CORPUS / "basics.thrift")
    assert basics.__name__ == "thrift_bridge._idl.loaded.corpus.basics"
    assert basics.__all__ == ["ttypes", "constants", "Everything_Service"]
    assert sys.modules[basics.__name__] is basics
    assert sys.modules[f"{basics.__name__}.ttypes"] is basics.ttypes
    assert basics.Everything is basics.ttypes.Everything  # types, enums, ... at the top too
    assert basics.Color.BLUE == 6
    assert basics.ANSWER == basics.constants.ANSWER == 42
    assert basics.Everything_Service.Client.__module__ == f"{basics.__name__}.Everything_Service"
    assert not hasattr(basics, "Tally")  # typedefs have no Python name, as generated
    includer = thrift_bridge.load(CORPUS / "includer.thrift")
    assert includer.shared.Header is includer.ttypes.Envelope.thrift_spec[1][3][0]
    assert includer.deep.__name__ == "thrift_bridge._idl.loaded.corpus.deep"


def test_a_file_without_namespace_is_named_after_the_file() -> None:
    plain = thrift_bridge.load(CORPUS / "nonamespace.thrift")
    assert plain.__name__ == "thrift_bridge._idl.loaded.nonamespace"


def test_module_name(tmp_path: Path) -> None:
    name = unique("shop") + "_thrift"
    shop = thrift_bridge.load(
        write(tmp_path, "shop.thrift", "struct Item { 1: i64 id }"), module_name=name
    )
    assert shop.__name__ == name
    assert sys.modules[f"{name}.ttypes"].Item is shop.Item
    item = shop.Item(id=3)
    assert pickle.loads(pickle.dumps(item)) == item  # by reference, through sys.modules
    nested = thrift_bridge.load(tmp_path / "shop.thrift", module_name=f"tests.{name}")
    assert sys.modules["tests"].__dict__[name] is nested


@pytest.mark.parametrize(
    ("module_name", "message"),
    [
        ("json", "is an existing module"),
        ("thrift_bridge._client", "is an existing module"),
        ("no_such_parent_pkg.shop", "cannot be imported"),
        ("not a name", "invalid module_name"),
        ("", "invalid module_name"),
    ],
)
def test_module_name_may_not_take_a_real_module(tmp_path, module_name, message) -> None:
    with pytest.raises(ConfigError, match=message):
        thrift_bridge.load(write(tmp_path, "a.thrift", "struct A {}"), module_name=module_name)


def test_two_files_with_one_package_name_get_two_modules(tmp_path: Path) -> None:
    namespace = unique("clash")
    first = write(tmp_path, "one/a.thrift", f"namespace py {namespace}\nstruct A {{}}")
    second = write(tmp_path, "two/a.thrift", f"namespace py {namespace}\nstruct B {{}}")
    one, two = thrift_bridge.load(first), thrift_bridge.load(second)
    assert one.__name__ == f"thrift_bridge._idl.loaded.{namespace}"
    assert two.__name__.startswith(f"{one.__name__}_")  # a digest of its path follows
    assert (sys.modules[one.__name__], sys.modules[two.__name__]) == (one, two)
    assert thrift_bridge.load(first) is one
    name = unique("explicit")
    thrift_bridge.load(first, module_name=name)
    with pytest.raises(ConfigError, match=f"module_name '{name}' is already used by .*one/a"):
        thrift_bridge.load(second, module_name=name)


def test_cached_until_a_file_changes(tmp_path: Path) -> None:
    namespace = unique("cached")
    write(tmp_path, "inc.thrift", "const i32 N = 1")
    main = write(
        tmp_path,
        "main.thrift",
        f'include "inc.thrift"\nnamespace py {namespace}\nconst i32 M = inc.N',
    )
    first = thrift_bridge.load(main)
    assert thrift_bridge.load(main) is first
    write(tmp_path, "inc.thrift", "const i32 N = 2")  # an include changed
    second = thrift_bridge.load(main)
    assert second is not first
    assert (first.M, second.M) == (1, 2)
    assert sys.modules[first.__name__] is second  # replaced, as a reload would


def app_including_lib(folder: Path) -> Path:
    """app/main.thrift, including common.thrift from lib/ (an include dir) unless one appears
    beside it; its constant WHO says which file it got."""
    write(folder, "lib/common.thrift", "const string WHO = 'lib'")
    text = f'include "common.thrift"\nnamespace py {unique("app")}\nconst string WHO = common.WHO'
    return write(folder, "app/main.thrift", text)


def test_includes_beside_the_file_first_then_include_dirs(tmp_path: Path) -> None:
    main = app_including_lib(tmp_path)
    assert thrift_bridge.load(main, include_dirs=[tmp_path / "lib"]).WHO == "lib"
    write(tmp_path, "app/common.thrift", "const string WHO = 'app'")  # now found beside it
    assert thrift_bridge.load(main, include_dirs=[tmp_path / "lib"]).WHO == "app"


def test_files_including_one_file_share_its_classes(tmp_path: Path) -> None:
    a = thrift_bridge.load(CORPUS / "includer.thrift")
    b = thrift_bridge.load(CORPUS / "nonamespace.thrift")
    assert a.shared is b.shared
    assert a.shared.Header is b.Plain.thrift_spec[1][3][0]


def test_a_file_loaded_itself_and_included_elsewhere_is_one_package() -> None:
    shared = thrift_bridge.load(CORPUS / "shared.thrift")
    assert thrift_bridge.load(CORPUS / "includer.thrift").shared is shared
    assert thrift_bridge.load(CORPUS / "shared.thrift") is shared
    assert sys.modules[shared.__name__] is shared


def test_concurrent_loads_give_one_module(tmp_path: Path) -> None:
    main = write(tmp_path, "main.thrift", f"namespace py {unique('threads')}\nstruct A {{}}")
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(thrift_bridge.load(main))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(r) for r in results}) == 1


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter with this test session's cache directory."""
    environment = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def test_unpickles_in_another_process_that_loaded_the_file() -> None:
    demo = thrift_bridge.load(ROOT / "idl" / "demo.thrift")
    data = pickle.dumps(demo.Customer(id=1, name="Ada", tags=["x"]))
    code = (
        "import pickle, sys, thrift_bridge\n"
        f"thrift_bridge.load({str(ROOT / 'idl' / 'demo.thrift')!r})\n"
        f"print(pickle.loads({data!r}))"
    )
    result = _run(code)
    assert (
        result.stdout.strip() == "Customer(id=1, name='Ada', email=None, address=None, tags=['x'])"
    )


def test_a_fresh_interpreter_loads_an_unchanged_file_without_parsing(tmp_path: Path) -> None:
    main = write(tmp_path, "main.thrift", f"namespace py {unique('disk')}\nconst i32 X = 7")
    thrift_bridge.load(main)  # parses, and keeps the plans on disk
    without_lark = (
        "import sys; sys.modules['lark'] = None\n"  # any parse would now fail
        f"import thrift_bridge; print(thrift_bridge.load({str(main)!r}).X)"
    )
    assert _run(without_lark).stdout.strip() == "7"
    assert "pip install" in _run(without_lark, THRIFT_BRIDGE_LOAD_CACHE="0").stderr
    main.write_text(main.read_text().replace("7", "8"))
    assert "pip install" in _run(without_lark).stderr  # changed: it must parse again


def test_the_disk_cache_notices_an_include_that_would_resolve_elsewhere(tmp_path: Path) -> None:
    main = app_including_lib(tmp_path)
    thrift_bridge.load(main, include_dirs=[tmp_path / "lib"])
    write(tmp_path, "app/common.thrift", "const string WHO = 'app'")
    lib = str(tmp_path / "lib")
    code = f"import thrift_bridge as tb; print(tb.load({str(main)!r}, include_dirs=[{lib!r}]).WHO)"
    assert _run(code).stdout.strip() == "app"


@pytest.mark.skipif(not hasattr(TType, "UUID"), reason="this thrift has no uuid type")
def test_uuid(tmp_path: Path) -> None:
    """uuid (Apache 0.19+; Debian's 0.17 compiler cannot check it) as newer generators write it."""
    source = (
        f"namespace py {unique('uuids')}\n"
        'const uuid ID = "{00112233-4455-6677-8899-aabbccddeeff}"\n'
        "struct Thing {\n"
        "  1: uuid id, 2: list<uuid> more,\n"
        '  3: uuid fixed = "00000000-0000-0000-0000-000000000001"\n'
        "}"
    )
    things = thrift_bridge.load(write(tmp_path, "u.thrift", source))
    assert uuid.UUID("00112233-4455-6677-8899-aabbccddeeff") == things.ID
    assert things.Thing.thrift_spec[1] == (1, TType.UUID, "id", None, None)
    assert things.Thing.thrift_spec[2][3] == (TType.UUID, None, False)
    value = things.Thing(id=uuid.uuid4(), more=[uuid.uuid4()])
    for factory in (
        TBinaryProtocolAcceleratedFactory(),
        TCompactProtocolAcceleratedFactory(),
        TJSONProtocolFactory(),
    ):
        data = encode(value, factory)
        assert value.id.bytes in data or str(value.id).encode() in data
        assert decode(things.Thing, data, factory) == value
