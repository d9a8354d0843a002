"""An argument of the wrong type."""

from thrift_bridge import Client
from thrift_bridge.generated.demo import CustomerService

customers = Client(CustomerService, "tcp://127.0.0.1:9090")
customers.get_customer("1")  # error
