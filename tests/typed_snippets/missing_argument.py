"""A call without its argument."""

from thrift_bridge import Client
from thrift_bridge.generated.demo import CustomerService

customers = Client(CustomerService, "tcp://127.0.0.1:9090")
customers.search("A")  # error
