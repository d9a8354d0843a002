// Corpus: self- and mutually-recursive structs (Apache wires them up with fix_spec).
namespace py corpus.recursive

struct Node {
  1: i32 value,
  2: list<Node> children,
  3: optional Node next,
  4: map<string, Node> named,
}

struct Tree {
  1: string label,
  2: Forest forest,
}

struct Forest {
  1: list<Tree> trees,
  2: set<string> names,
}

union Expr {
  1: i64 literal,
  2: list<Expr> sum,
  3: Expr negate,
}

service Walker {
  Node walk(1: Node root, 2: Tree tree),
  Expr simplify(1: Expr expr),
}
