# Type stubs written by thrift-bridge from calculator.thrift: do not edit.
# `make idl`, `thrift-bridge compile` or `thrift-bridge stubs` writes them again.
