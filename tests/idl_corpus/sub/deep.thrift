// Corpus: an include in a subdirectory, itself including a file.
// (It has a namespace because Apache's package_prefix, which the differential test compiles
// with, is not applied to includes without one; nonamespace.thrift covers a root without.)
include "../shared.thrift"

namespace py corpus.deep

typedef shared.Header Hdr

struct Deep {
  1: Hdr header,
  2: list<shared.Level> levels = [shared.Level.HIGH],
}

service Middle extends shared.Base {
  Deep deepen(1: shared.Header header),
}
