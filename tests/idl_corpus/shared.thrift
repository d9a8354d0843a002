// Corpus: a file the others include (its types are referenced as shared.Name).
namespace py corpus.shared

enum Level { LOW = 1, HIGH = 2 }

struct Header {
  1: string request_id,
  2: Level level = Level.LOW,
  3: map<string, string> tags,
}

exception Denied {
  1: string reason,
  2: Level level,
}

const i32 LIMIT = 100
const Header DEFAULT_HEADER = {"request_id": "none", "level": Level.HIGH}

service Base {
  string ping(),
  oneway void poke(1: i32 times),
}
