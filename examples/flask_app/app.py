"""Customer lookup: a page with a form and a JSON endpoint, calling the demo Thrift service.

Run it with ``make flask-example`` (which also starts the demo Thrift server), or point
``THRIFTCLIENT_TRANSPORT`` at any server of ``idl/demo.thrift`` and run
``flask --app examples.flask_app.app:create_app run``.

Bad input answers 400 (not a number), 404 (no such customer) or 422 (a number the service
cannot take); a failing service answers 502, 503 or 504 (`status_for`); never 500.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, render_template, request

from thrift_bridge import ThriftBridgeError, to_dict
from thrift_bridge.adapters.flask import ThriftClient
from thrift_bridge.generated.demo import CustomerService
from thrift_bridge.generated.demo.ttypes import CustomerNotFound

from ..http_status import failure_of

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
    def lookup():  # type: ignore[no-untyped-def]
        if request.method == "GET":
            return render_template("lookup.html")
        try:
            customer_id = int(request.form["customer_id"])
        except (KeyError, ValueError):
            return render_template("lookup.html", error="Please enter a customer number."), 400
        try:
            customer = customers.client.get_customer(customer_id)
        except CustomerNotFound as exc:
            return render_template("lookup.html", error=exc.message), 404
        return render_template("lookup.html", customer=customer)

    @app.route("/api/customers/<int:customer_id>")
    def customer_json(customer_id: int):  # type: ignore[no-untyped-def]
        try:
            customer = customers.client.get_customer(customer_id)
        except CustomerNotFound as exc:
            return jsonify(error=exc.message, pid=os.getpid()), 404
        accounts = customers.client.accounts(customer_id)
        return jsonify(
            customer=to_dict(customer), accounts=[to_dict(a) for a in accounts], pid=os.getpid()
        )

    @app.errorhandler(ThriftBridgeError)
    def thrift_failed(error: ThriftBridgeError):  # type: ignore[no-untyped-def]
        failure = failure_of(error)
        if failure is None:
            raise error  # a configuration bug: a 500, with its traceback in the log
        if request.path.startswith("/api/"):
            return jsonify(error=failure.detail), failure.status
        return render_template("lookup.html", error=failure.text), failure.status

    return app
