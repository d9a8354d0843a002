// Corpus: a file without a py namespace: its package is named after the file.
include "shared.thrift"

struct Plain {
  1: shared.Header header,
  2: optional i32 count = 1,
}

service Plainly extends shared.Base {
  Plain plain(1: Plain p),
}
