"""A method the service does not have."""

from thrift_bridge import Client
from thrift_bridge.generated.demo import CustomerService

customers = Client(CustomerService, "tcp://127.0.0.1:9090")
customers.get_custmer(1)  # error
