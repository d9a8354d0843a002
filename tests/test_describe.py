"""`thrift-bridge describe`: services and types, from compiled code and from the IDL itself."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import thrift_bridge
from thrift_bridge.cli import main

from .commands import run_cli as run
from .idl_twins import LOADED_PREFIX, compile_twin

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests" / "idl_corpus").glob("*.thrift")) + sorted(
    (ROOT / "idl").glob("*.thrift")
)
DEMO = """\
enum AccountStatus {
  OPEN = 1
  FROZEN = 2
  CLOSED = 3
}

struct Address {
  1: required string street
  2: required string city
  3: optional string postcode
  4: string country = "GB"
}

struct Customer {
  1: required i64 id
  2: required string name
  3: optional string email
  4: optional Address address
  5: list<string> tags = []
}

struct Account {
  1: required i64 id
  2: required i64 customer_id
  3: required string currency
  4: required i64 balance_cents
  5: AccountStatus status = AccountStatus.OPEN
}

exception CustomerNotFound {
  1: string message
  2: i64 customer_id
}

service CustomerService {
  list<Account> accounts(1: i64 customer_id)
  Customer get_customer(1: i64 id) throws (1: CustomerNotFound e)
  string ping()
  oneway void record_visit(1: i64 customer_id)
  list<Customer> search(1: string name_prefix, 2: i32 limit)
  i32 visit_count(1: i64 customer_id)
}
"""


def test_describe_idl_shows_the_demo_as_written():
    result = run("describe", "--idl", "idl/demo.thrift")
    assert result.returncode == 0, result.stderr
    assert result.stdout == DEMO


def test_describe_module_shows_what_compiled_code_keeps():
    result = run("describe", "--module", "thrift_bridge.generated.demo")
    assert result.returncode == 0, result.stderr
    # Apache's generated code keeps no enum types and writes optional and default fields alike.
    expected = DEMO.replace("optional ", "").replace(
        "AccountStatus status = AccountStatus.OPEN", "i32 status = 1"
    )
    assert result.stdout == expected


def test_describe_idl_keeps_typedefs_unions_constants_and_included_names(tmp_path):
    (tmp_path / "common.thrift").write_text(
        'struct Money { 1: i64 cents, 2: string currency = "EUR" }\nconst i32 LIMIT = 5\n'
    )
    (tmp_path / "shop.thrift").write_text(
        """\
include "common.thrift"
typedef i64 ItemId
enum Kind { NEW = 1, OLD = 2 }
const ItemId FIRST = 1
const common.Money FREE = {"cents": 0}
const set<Kind> KINDS = [Kind.OLD, Kind.NEW, Kind.OLD]
const map<i32, binary> BLOBS = {2: "hi"}
union Pick { 1: ItemId id, 2: common.Money price }
struct Basket { 1: required list<Pick> picks, 2: optional Kind kind = Kind.NEW }
service Shop { Basket fill(1: map<string, Kind> by, 2: ItemId first) }
"""
    )
    result = run("describe", "--idl", str(tmp_path / "shop.thrift"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n\n") == [
        "typedef i64 ItemId",
        "enum Kind {\n  NEW = 1\n  OLD = 2\n}",
        "const ItemId FIRST = 1\n"
        'const common.Money FREE = {"cents": 0, "currency": "EUR"}\n'
        "const set<Kind> KINDS = [1, 2]\n"
        'const map<i32,binary> BLOBS = {"2": "aGk="}\n'
        "const i32 common.LIMIT = 5",
        "union Pick {\n  1: ItemId id\n  2: common.Money price\n}",
        "struct Basket {\n  1: required list<Pick> picks\n  2: optional Kind kind = Kind.NEW\n}",
        'struct common.Money {\n  1: i64 cents\n  2: string currency = "EUR"\n}',
        "service Shop {\n  Basket fill(1: map<string,Kind> by, 2: ItemId first)\n}\n",
    ]
    document = json.loads(run("describe", "--idl", str(tmp_path / "shop.thrift"), "--json").stdout)
    assert document["structs"]["Basket"]["fields"][1] == {
        "id": 2,
        "name": "kind",
        "type": "Kind",
        "requiredness": "optional",
        "default": 1,
    }
    assert document["constants"]["BLOBS"] == {"type": "map<i32,binary>", "value": {"2": "aGk="}}


def test_describe_json_of_compiled_code():
    result = run("describe", "--module", "tests.generated.alltypes", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["typedefs", "enums", "constants", "structs", "services"]
    assert document["enums"] == {"Color": {"RED": 1, "GREEN": 2, "BLUE": 3}}
    assert document["structs"]["Choice"]["kind"] == "struct"  # Apache marks no unions
    assert document["structs"]["BadInput"]["kind"] == "exception"
    fields = {f["name"]: f for f in document["structs"]["Everything"]["fields"]}
    assert fields["must"] == {
        "id": 14,
        "name": "must",
        "type": "string",
        "requiredness": "required",
    }
    assert fields["maybe"]["requiredness"] is None  # optional or default: the code is the same
    assert fields["a_color"]["type"] == "i32"
    assert fields["a_binary"]["type"] == "binary"
    assert fields["list_default"]["default"] == [1, 2, 3]
    assert fields["by_small_int"]["type"] == "map<i16,double>"
    methods = {m["name"]: m for m in document["services"]["AllTypes"]}
    assert methods["echo_nested"]["returns"] == "map<string,list<set<i32>>>"
    assert methods["raise_error"]["throws"] == [
        {"id": 1, "name": "bad", "type": "BadInput"},
        {"id": 2, "name": "unavailable", "type": "Unavailable"},
    ]
    assert methods["raise_error"]["arguments"] == [{"id": 1, "name": "kind", "type": "i32"}]
    assert methods["fire"]["oneway"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--module", "tests.generated.alltypes.ttypes"], "nothing to describe in"),
        (["--module", "no.such.module"], "cannot import --module 'no.such.module'"),
        (["--idl", "nope.thrift"], "IDL file 'nope.thrift' does not exist"),
        ([], "give exactly one of --module"),
    ],
)
def test_describe_errors_are_one_line(args, message):
    result = run("describe", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- the two sources agree wherever compiled code can tell --------------------------------


def _described(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """`thrift-bridge describe ARGS --json`, run in this process, as data."""
    assert main(["describe", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def _as_compiled(document: dict[str, Any]) -> dict[str, Any]:
    """An `--idl` document reduced to what compiled code keeps."""
    names = {**{n: "i32" for n in document["enums"]}, **document["typedefs"]}

    def erase(type_name: str) -> str:  # typedef and enum names: their types, until none is left
        while True:
            spelled = re.sub(r"[\w.]+", lambda m: names.get(m.group(0), m.group(0)), type_name)
            if spelled == type_name:
                return spelled
            type_name = spelled

    def fields(found: list[dict[str, Any]], *, struct: bool = False) -> list[dict[str, Any]]:
        if any(f["id"] < 0 for f in found):
            return []  # an implicit field id: Apache then writes `thrift_spec = ()`
        kept = []
        for field in sorted(found, key=lambda f: f["id"]):
            field = {**field, "type": erase(field["type"])}
            if struct:
                field["requiredness"] = "required" if field["requiredness"] == "required" else None
            kept.append(field)
        return kept

    return {
        "typedefs": {},
        "enums": document["enums"],
        "constants": {n: {**c, "type": None} for n, c in document["constants"].items()},
        "structs": {
            name: {
                "kind": "exception" if s["kind"] == "exception" else "struct",
                "fields": fields(s["fields"], struct=True),
            }
            for name, s in document["structs"].items()
        },
        "services": {
            name: [
                {
                    **m,
                    "arguments": fields(m["arguments"]),
                    "throws": fields(m["throws"]),
                    "returns": erase(m["returns"]),
                }
                for m in methods
            ]
            for name, methods in document["services"].items()
        },
    }


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_idl_and_compiled_descriptions_agree(compiler, tmp_path, capsys, path):
    package = thrift_bridge.load(path).__name__[len(LOADED_PREFIX) :]
    apache = compile_twin(compiler, path, tmp_path, package)
    compiled = _described(capsys, "--module", apache.__name__)
    from_idl = _as_compiled(_described(capsys, "--idl", str(path)))
    assert compiled["structs"] or compiled["services"]  # not comparing nothing
    for section, described in compiled.items():
        # --idl also shows the services, constants and types of included files nothing uses
        assert {k: from_idl[section][k] for k in described} == described, section
