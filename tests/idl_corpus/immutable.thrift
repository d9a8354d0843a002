// Corpus: python.immutable on structs, exceptions and containers.
namespace py corpus.immutable

typedef list<i32> (python.immutable) Frozen
typedef map<string, Frozen> (python.immutable = "") FrozenMap

struct Key {
  1: string name,
  2: i32 version = 1,
} (python.immutable = "")

struct Record {
  1: Key key,
  2: set<Key> keys,
  3: Frozen numbers = [1, 2],
  4: FrozenMap index,
  5: set<i32> (python.immutable) ids,
  6: list<string> tags = ["t"],
} (python.immutable)

exception Mutable {
  1: string message,
  2: list<i32> codes = [1],
} (python.immutable = "false")

exception Frozenly {
  1: string message = "frozen",
  2: Key key,
}

const Frozen FROZEN = [3, 2, 1]
const FrozenMap FROZEN_MAP = {"b": [2], "a": [1]}
const Key KEY = {"name": "k"}

service Keys {
  Record lookup(1: Key key) throws (1: Mutable mutable, 2: Frozenly frozenly),
}
