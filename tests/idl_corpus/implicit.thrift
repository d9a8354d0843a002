// Corpus: implicit and non-positive field ids, which Apache numbers -1, -2, ... itself.
// Apache then writes thrift_spec = () for the struct, so the C codec sees no fields.
namespace py corpus.implicit

struct Implicit {
  i32 first,
  string second = "two",
  -7: i64 third,
  0: bool fourth = true,
}

struct Mixed {
  1: i32 explicit_one,
  double implicit_double,
  5: string explicit_five,
}

exception ImplicitError {
  string message,
}

service Implicitly {
  i32 add(i32 a, i32 b),
  void mixed(1: string s, Mixed m) throws (ImplicitError error),
}
