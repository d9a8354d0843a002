// Corpus: services: extends chains, oneway (and the deprecated async), void, throws,
// argument lists with defaults and `optional` (which Apache ignores in arguments).
namespace py corpus.services

enum Mode { FAST = 1, SAFE = 2 }

struct Item {
  1: i64 id,
  2: string name,
  3: Mode mode = Mode.SAFE,
}

exception NotFound { 1: i64 id }
exception Invalid { 1: string why, 2: list<string> fields }

service Root {
  void ping(),
  i32 version(),
}

service Store extends Root {
  Item get(1: i64 id) throws (1: NotFound not_found),
  list<Item> list_items(1: i32 offset = 0, 2: optional i32 limit = 10, 3: Mode mode = Mode.FAST),
  oneway void touch(1: i64 id),
  async void touch_later(1: i64 id, 2: double seconds),
  void put(1: Item item) throws (1: Invalid invalid, 2: NotFound not_found);
  map<string, set<i64>> index(1: list<string> names, 2: binary blob, 3: bool flag, 4: i8 b,
                              5: i16 s, 6: double d, 7: map<i64, Item> items)
}

service Admin extends Store {
  bool reset(1: bool hard) throws (1: Invalid invalid),
  Mode mode(),
}
