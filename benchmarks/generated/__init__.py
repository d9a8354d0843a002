"""Benchmark data: `make idl` compiles idl/bench.thrift here (not shipped)."""
