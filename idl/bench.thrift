// The benchmark service: the same calls for every client measured in benchmarks/.
namespace py bench
namespace cpp bench

struct Item {
  1: i64 id,
  2: string name,
  3: double score,
  4: list<i32> tags,
}

service Bench {
  void ping(),
  string echo(1: string s),
  binary echo_bin(1: binary b),
  list<Item> batch(1: list<Item> items),
  Item echo_item(1: Item item),
}
