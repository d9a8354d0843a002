"""An IDL loaded at run time, typed by `thrift-bridge stubs idl/demo.thrift -o <stub dir>`.

Type-checked by tests/test_typed_clients.py, and run there too (from the repository root).
"""

import thrift_bridge

thrift_bridge.load("idl/demo.thrift", module_name="demo")  # registers demo, demo.ttypes, ...

from demo import CustomerService  # noqa: E402  (importable once loaded)
from demo.ttypes import Customer  # noqa: E402

customers = thrift_bridge.Client(CustomerService, "tcp://127.0.0.1:9")
customer: Customer = Customer(id=1, name="Ada")
print(type(customers).__name__, customer.name, CustomerService.Client.__module__)
customers.close()
