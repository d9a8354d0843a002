"""The loaded module's stubs catch a wrong argument type too."""

import thrift_bridge

thrift_bridge.load("idl/demo.thrift", module_name="demo")

from demo import CustomerService  # noqa: E402

thrift_bridge.Client(CustomerService, "tcp://127.0.0.1:9").visit_count("1")  # error
