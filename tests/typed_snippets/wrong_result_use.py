"""A misspelt field of the returned struct."""

from thrift_bridge import Client
from thrift_bridge.generated.demo import CustomerService

customers = Client(CustomerService, "tcp://127.0.0.1:9090")
print(customers.get_customer(1).nme)  # error
