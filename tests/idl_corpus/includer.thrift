// Corpus: includes, types and constants of included files, extends across files.
include "shared.thrift"
include "sub/deep.thrift"

namespace py corpus.includer

typedef shared.Header H

struct Envelope {
  1: H header,
  2: deep.Deep deep,
  3: shared.Level level = shared.Level.HIGH,
  4: i32 limit = shared.LIMIT,
  5: list<deep.Hdr> more,
  6: map<shared.Level, deep.Deep> by_level,
}

const shared.Level TOP = shared.Level.HIGH
const i32 TWICE_LIMIT = 200
const list<shared.Level> LEVELS = [shared.Level.LOW, shared.Level.HIGH]

service Child extends deep.Middle {
  Envelope wrap(1: shared.Header header, 2: deep.Deep deep) throws (1: shared.Denied denied),
  shared.Level level_of(1: Envelope envelope),
}
