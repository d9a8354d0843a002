"""A pinned connection's methods are typed too."""

from thrift_bridge import Client
from thrift_bridge.generated.demo import CustomerService

with Client(CustomerService, "tcp://127.0.0.1:9090").connection() as pinned:
    pinned.visit_count("1")  # error
