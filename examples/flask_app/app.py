"""Customer lookup: a page with a form and a JSON endpoint, calling the demo Thrift service.

Run it with ``make flask-example`` (which also starts the demo Thrift server), or point
``THRIFTCLIENT_TRANSPORT`` at any server of ``idl/demo.thrift`` and run
``flask --app examples.flask_app.app:create_app run``.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, render_template, request

from thrift_bridge import to_dict
from thrift_bridge.adapters.flask import ThriftClient
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.generated.demo.ttypes import CustomerNotFound

from ..ids import MAX_ID, parse_customer_id

customers = ThriftClient(CustomerService.Client)


def create_app() -> Flask:
    """The app factory: config from the environment, extension registered with init_app."""
    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = os.environ.get(
        "THRIFTCLIENT_TRANSPORT", "tcp://127.0.0.1:9090"
    )
    app.config["THRIFTCLIENT_TIMEOUT"] = 2
    customers.init_app(app)

    @app.route("/", methods=["GET", "POST"])
    def lookup() -> str:
        customer = error = None
        if request.method == "POST":
            number = parse_customer_id(request.form.get("customer_id", ""))
            if number is None:
                error = "Please enter a customer number."
            else:
                try:
                    customer = customers.client.get_customer(number)
                except CustomerNotFound as exc:
                    error = exc.message
        return render_template("lookup.html", customer=customer, error=error)

    @app.route("/api/customers/<int:customer_id>")
    def customer_json(customer_id: int):  # type: ignore[no-untyped-def]
        if customer_id > MAX_ID:  # the converter takes any size; the IDL's i64 does not
            return jsonify(error=f"customer ids are 1 to {MAX_ID}"), 400
        try:
            customer = customers.client.get_customer(customer_id)
        except CustomerNotFound as exc:
            return jsonify(error=exc.message, pid=os.getpid()), 404
        accounts = customers.client.accounts(customer_id)
        return jsonify(
            customer=to_dict(customer), accounts=[to_dict(a) for a in accounts], pid=os.getpid()
        )

    return app
