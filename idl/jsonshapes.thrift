// Shapes the JSON codec's differential tests need beyond alltypes.thrift: map keys of every
// scalar type, struct keys, fields declared out of id order, recursion, frozen structs.

namespace py jsonshapes

enum Level {
  LOW = 1,
  HIGH = 2,
}

struct Point {
  1: i32 x,
  2: i32 y,
}

// Declared out of id order: the generated write() still emits them in id order.
struct OutOfOrder {
  3: string third,
  1: i64 first,
  2: optional double second,
}

struct Keys {
  1: map<bool, string> by_bool,
  2: map<i8, string> by_byte,
  3: map<i16, i16> by_i16,
  4: map<i64, string> by_i64,
  5: map<double, double> by_double,
  6: map<binary, binary> by_binary,
  7: map<Level, list<Level>> by_enum,
  8: map<string, map<string, set<double>>> nested_maps,
  9: list<binary> blobs,
  10: set<i64> longs,
  11: list<map<i32, Point>> points,
  12: set<bool> flags,
  13: list<list<list<string>>> deep_lists,
}

// Each `left` nests one struct deeper: the depth-limit tests build chains of these.
struct Tree {
  1: string label,
  2: list<Tree> children,
  3: optional Tree left,
}

exception Failure {
  1: string why,
  2: Level level,
}

union Pick {
  1: Point point,
  2: binary raw,
  3: double ratio,
}

struct Defaults {
  1: i32 n = 7,
  2: string s = "x",
  3: list<string> names = ["a"],
  4: optional Level level = Level.HIGH,
}

// Immutable (hashable), so it can be a map key that Apache's Python reader reads back.
struct Frozen {
  1: i32 a,
  2: list<i32> numbers,
  3: i32 with_default = 5,
} (python.immutable = "")

// Apache writes a struct key as a bare object: {{"1":{"i32":1}}:"one"}, which is not JSON.
struct StructKeys {
  1: map<Frozen, string> by_struct,
  2: map<list<i32>, string> by_list,
}

// The benchmark's batch row and lists of every scalar the compiled codec writes in line.
struct Row {
  1: i64 id,
  2: string name,
  3: double score,
  4: list<i32> tags,
  5: list<double> weights,
  6: set<i64> ids,
  7: list<i8> small,
  8: list<bool> flags,
  9: optional Level level,
}

service Shapes {
  list<Row> echo_rows(1: list<Row> rows),
  Keys echo_keys(1: Keys value),
  Tree echo_tree(1: Tree value),
  OutOfOrder echo_order(1: OutOfOrder value),
  Pick echo_pick(1: Pick value) throws (1: Failure failure),
  Defaults echo_defaults(1: Defaults value),
  StructKeys echo_struct_keys(1: StructKeys value),
}
