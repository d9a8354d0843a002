"""Flask adapter: a drop-in successor to flask-thriftclient, backed by the pooled `Client`.

::

    from flask import Flask
    from .flask import ThriftClient
    from myapp.gen import MyService

    app = Flask(__name__)
    app.config["THRIFTCLIENT_TRANSPORT"] = "tcp://127.0.0.1:9090"
    thriftclient = ThriftClient(MyService.Client, app)

    @app.route("/")
    def home():
        return thriftclient.client.mymethod()

Each call borrows a pooled connection, so nothing is opened per HTTP request and one client
serves every thread. The seed's three ways of pinning one connection for a block
(`connect()`, `autoconnect`, `transport.open()`/`close()`) still work, and a connection left
pinned goes back at app-context teardown, also when the view raised.

Per-app state lives in ``app.extensions["thriftclient"]``: one `ClientRegistry` per app whose
aliases are the extensions' config prefixes. Connections pinned in an app context live on
`flask.g`; outside any app context (scripts, threads) in a context variable.
"""

from __future__ import annotations

import contextvars
import difflib
import functools
import os
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, current_app, g, has_app_context, has_request_context

from .._exceptions import ConfigError
from .._options import PROTOCOLS
from .._urls import parse_urls
from .registry import ClientRegistry

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .._client import Client
    from .._pinned import PinnedClient

__all__ = ["DEFAULTS", "AppClients", "ThriftClient", "Thrift_Client"]

F = TypeVar("F", bound="Callable[..., Any]")

#: flask-thriftclient's keys and defaults, then ours (names after the prefix).
DEFAULTS: dict[str, Any] = {
    "TRANSPORT": "tcp://localhost:9090",
    "PROTOCOL": "BINARY",
    "SSL_VALIDATE": True,
    "SSL_CA_CERTS": None,
    "ALWAYS_CONNECT": True,
    "BUFFERED": False,
    "ZLIB": False,
    "FRAMED": False,
    "TIMEOUT": None,
    "CONNECT_TIMEOUT": None,
    "POOL_SIZE": 8,
    "POOL_TIMEOUT": 5.0,
    "SSL_CERTFILE": None,
    "SSL_KEYFILE": None,
    "RETRIES": 2,
    "TELEMETRY": True,
}
_FLAGS = ("SSL_VALIDATE", "ALWAYS_CONNECT", "BUFFERED", "ZLIB", "FRAMED", "TELEMETRY")
_TLS_FILES = {"SSL_CA_CERTS": "ca_certs", "SSL_CERTFILE": "certfile", "SSL_KEYFILE": "keyfile"}
_G_PINNED = "_thriftclient_pinned"
#: Connections pinned outside any app context: {(id(app), prefix): PinnedClient}, per context.
_OUTSIDE: contextvars.ContextVar[dict[tuple[int, str], PinnedClient]] = contextvars.ContextVar(
    "thriftclient_pinned_outside"
)


def _whole(key: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"invalid {key} {value!r} (expected a whole number >= {minimum})")
    return value


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e9:
        raise ConfigError(f"invalid {key} {value!r} (expected a number of seconds >= 0)")
    return float(value)


def _check_names(config: Mapping[str, Any], prefix: str) -> None:
    """A key that is a near-typo of one of ours (THRIFTCLIENT_TIMOUT) is an error."""
    start = prefix + "_"
    for key in config:
        if not isinstance(key, str) or not key.startswith(start):
            continue
        rest = key[len(start) :]
        if rest in DEFAULTS or any(rest.endswith("_" + name) for name in DEFAULTS):
            continue  # ours, or a key of a longer prefix (THRIFTCLIENT_X_FRAMED)
        close = difflib.get_close_matches(rest, DEFAULTS, n=1, cutoff=0.85)
        if close:
            raise ConfigError(f"unknown setting {key!r} (did you mean {start + close[0]!r}?)")


def _config_entry(config: Mapping[str, Any], prefix: str, service: Any) -> dict[str, Any]:
    """The `ClientRegistry` entry for one prefix of a Flask config; errors name the key."""
    _check_names(config, prefix)
    value = {name: config.get(f"{prefix}_{name}", default) for name, default in DEFAULTS.items()}
    for name in _FLAGS:
        if not isinstance(value[name], bool):
            raise ConfigError(f"invalid {prefix}_{name} {value[name]!r} (expected True or False)")
    url = value["TRANSPORT"]
    if not isinstance(url, (str, list, tuple)):
        raise ConfigError(
            f"invalid {prefix}_TRANSPORT {url!r} (expected an endpoint URL such as "
            f"{DEFAULTS['TRANSPORT']!r})"
        )
    try:
        tls = all(endpoint.tls for endpoint in parse_urls(url))
    except ConfigError as exc:
        raise ConfigError(f"invalid {prefix}_TRANSPORT: {exc.message}") from None

    # Only values that differ from the defaults become options, so a URL's own query
    # (``?protocol=compact&timeout=2``) works with the keys left alone.
    chosen: dict[str, tuple[str, Any]] = {}  # key name -> (option, value)
    protocol = value["PROTOCOL"]
    if not isinstance(protocol, str) or protocol.lower() not in PROTOCOLS:
        raise ConfigError(
            f"invalid {prefix}_PROTOCOL {protocol!r} (expected ThriftClient.BINARY, .COMPACT or "
            ".JSON, any case, or 'header')"
        )
    if protocol.lower() != "binary":
        chosen["PROTOCOL"] = ("protocol", protocol)
    if value["FRAMED"]:
        chosen["FRAMED"] = ("transport", "framed")
    if value["ZLIB"]:
        chosen["ZLIB"] = ("zlib", True)
    for name, option in (("TIMEOUT", "timeout"), ("CONNECT_TIMEOUT", "connect_timeout")):
        if value[name] is not None:
            chosen[name] = (option, value[name])
    if tls and not value["SSL_VALIDATE"]:
        chosen["SSL_VALIDATE"] = ("validate", False)
    if value["SSL_KEYFILE"] is not None and value["SSL_CERTFILE"] is None:
        raise ConfigError(
            f"{prefix}_SSL_KEYFILE needs {prefix}_SSL_CERTFILE (the client certificate)"
        )
    for name, option in _TLS_FILES.items():
        path = value[name]
        if path is None:
            continue
        if not tls:
            raise ConfigError(
                f"{prefix}_{name} applies to tcps, unixs and https URLs only, not to "
                f"{prefix}_TRANSPORT={url!r} (use a TLS URL or remove the setting)"
            )
        if isinstance(path, str) and path != "system" and not os.path.isfile(path):
            accepted = "the path of a PEM file"
            if name == "SSL_CA_CERTS":
                accepted += ", 'system' for the OS store, or None for certifi's bundle"
            raise ConfigError(
                f"invalid {prefix}_{name} {path!r}: no such file (expected {accepted})"
            )
        chosen[name] = (option, path)
    for name, (option, option_value) in chosen.items():
        alone = {option: option_value}
        if name == "SSL_KEYFILE":  # a key file only goes with its certificate
            alone["certfile"] = value["SSL_CERTFILE"]
        try:
            parse_urls(url, **alone)
        except ConfigError as exc:
            raise ConfigError(f"invalid {prefix}_{name}: {exc.message}") from None
    entry = {
        "service": service,
        "url": url,
        "pool_size": _whole(f"{prefix}_POOL_SIZE", value["POOL_SIZE"], 1),
        "pool_timeout": _seconds(f"{prefix}_POOL_TIMEOUT", value["POOL_TIMEOUT"]),
        "retries": _whole(f"{prefix}_RETRIES", value["RETRIES"], 0),
        "telemetry": value["TELEMETRY"],
        "options": {option: option_value for option, option_value in chosen.values()},
    }
    try:
        return ClientRegistry.check_entry(prefix, entry)
    except ConfigError as exc:
        settings = ", ".join(f"{prefix}_{name}={value[name]!r}" for name in ("TRANSPORT", *chosen))
        raise ConfigError(f"{exc.message} (from {settings})") from None


class AppClients(ClientRegistry):
    """The Thrift clients of one Flask app: a `ClientRegistry` whose aliases are prefixes."""

    def __init__(self) -> None:
        super().__init__()
        self.settings: dict[str, dict[str, Any]] = {}

    def add(self, alias: str, entry: dict[str, Any]) -> None:
        """Add (or replace) one alias; clients built so far are closed and rebuilt lazily."""
        settings = {**self.settings, alias: entry}
        self.configure(settings)
        self.settings = settings


def _release_pinned(exc: BaseException | None) -> None:
    """App-context teardown: give back every connection still pinned (also after errors)."""
    pinned = g.pop(_G_PINNED, None) or {}
    for connection in pinned.values():
        connection.release()


class _Transport:
    """flask-thriftclient's manual mode: ``transport.open()`` ... ``transport.close()``."""

    def __init__(self, extension: ThriftClient):
        self._extension = extension

    def open(self) -> None:
        """Pin one pooled connection until `close()` or the end of the app context."""
        self._extension._pin()

    def close(self) -> None:
        """Give the pinned connection back to the pool."""
        self._extension._unpin()

    def isOpen(self) -> bool:  # noqa: N802 - flask-thriftclient's (and Apache's) name
        """Whether a connection is pinned here, or (ALWAYS_CONNECT) a request is running.

        The second is when flask-thriftclient's transport was open; calls work either way.
        """
        if self._extension._pinned() is not None:
            return True
        return has_request_context() and bool(
            current_app.config.get(f"{self._extension.config_prefix}_ALWAYS_CONNECT", True)
        )


class _Connected:
    """``with thriftclient.connect():`` (a class, not a generator: see `__exit__`)."""

    def __init__(self, extension: ThriftClient):
        self._extension = extension
        self._opened = False

    def __enter__(self) -> PinnedClient:
        self._opened = self._extension._pinned() is None
        return self._extension._pin()

    def __exit__(self, *exc_info: object) -> None:
        # Released whatever the block raised; the exception itself propagates untouched.
        if self._opened:
            self._extension._unpin()


class ThriftClient:
    """A Thrift client for Flask apps, configured by ``<config_prefix>_*`` keys (see README).

    ::

        customers = ThriftClient(CustomerService.Client, config_prefix="CUSTOMERS")

        def create_app():
            app = Flask(__name__)
            app.config["CUSTOMERS_TRANSPORT"] = "tcps://customers:9090"
            customers.init_app(app)
            return app
    """

    BINARY = "BINARY"
    COMPACT = "COMPACT"
    JSON = "JSON"

    def __init__(
        self, interface: Any, app: Flask | None = None, config_prefix: str = "THRIFTCLIENT"
    ):
        if not isinstance(config_prefix, str) or not config_prefix:
            raise ConfigError(f"invalid config_prefix {config_prefix!r} (expected a non-empty str)")
        self.interface = interface
        self.config_prefix = config_prefix
        #: The app given here, used outside app contexts (like Flask-SQLAlchemy 2's `app`).
        self._app = app
        self.transport = _Transport(self)
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return f"<ThriftClient {self.config_prefix}_* {getattr(self.interface, '__module__', '')}>"

    def init_app(self, app: Flask) -> None:
        """Validate this extension's config keys and register it on `app` (no network I/O)."""
        prefix = self.config_prefix
        for name, default in DEFAULTS.items():
            app.config.setdefault(f"{prefix}_{name}", default)
        entry = _config_entry(app.config, prefix, self.interface)
        clients = app.extensions.get("thriftclient")
        if clients is None:
            clients = app.extensions["thriftclient"] = AppClients()
            app.teardown_appcontext(_release_pinned)
        clients.add(prefix, entry)

    def _app_or_none(self) -> Flask | None:
        """The app of the current app context, else the app given to the constructor."""
        if has_app_context():
            return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]
        return self._app

    def _current_app(self) -> Flask:
        """`_app_or_none`, or a RuntimeError saying what to do."""
        app = self._app_or_none()
        if app is None:
            raise RuntimeError(
                f"no Flask app for ThriftClient({self.config_prefix!r}): call it inside an app "
                "context (with app.app_context():) or pass the app to ThriftClient(...)"
            )
        return app

    def _clients(self, app: Flask) -> AppClients:
        clients = app.extensions.get("thriftclient")
        if not isinstance(clients, AppClients) or self.config_prefix not in clients:
            raise RuntimeError(
                f"ThriftClient({self.config_prefix!r}) is not registered on app {app.name!r}: "
                "did you forget to call init_app(app)?"
            )
        return clients

    @property
    def pool(self) -> Client:
        """The current app's pooled client: each call borrows a connection and gives it back."""
        return self._clients(self._current_app())[self.config_prefix]

    @property
    def client(self) -> Client | PinnedClient:
        """The connection pinned here (connect, autoconnect, transport.open), else `pool`."""
        pinned = self._pinned()
        return pinned if pinned is not None else self.pool

    def _pinned(self) -> PinnedClient | None:
        """The connection pinned in this app context, or in this context outside one."""
        if has_app_context():
            pinned = g.get(_G_PINNED, {}).get(self.config_prefix)
            if pinned is not None:
                return pinned  # type: ignore[no-any-return]
        app = self._app_or_none()
        return None if app is None else _OUTSIDE.get({}).get((id(app), self.config_prefix))

    def _pin(self) -> PinnedClient:
        """Pin one pooled connection here (idempotent)."""
        pinned = self._pinned()
        if pinned is not None:
            return pinned
        app = self._current_app()
        pinned = self._clients(app)[self.config_prefix].connection()
        if has_app_context():
            g.setdefault(_G_PINNED, {})[self.config_prefix] = pinned
        else:
            _OUTSIDE.set({**_OUTSIDE.get({}), (id(app), self.config_prefix): pinned})
        return pinned

    def _unpin(self) -> None:
        """Give back the connection pinned here, if any."""
        pinned = g.get(_G_PINNED, {}).pop(self.config_prefix, None) if has_app_context() else None
        app = self._app_or_none()
        if pinned is None and app is not None:
            outside = dict(_OUTSIDE.get({}))
            pinned = outside.pop((id(app), self.config_prefix), None)
            if pinned is not None:
                _OUTSIDE.set(outside)
        if pinned is not None:
            pinned.release()

    def connect(self) -> _Connected:
        """Pin one connection for a ``with`` block; released when the block ends or raises."""
        return _Connected(self)

    def autoconnect(self, func: F) -> F:
        """Decorate a view so it runs with one pinned connection."""

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.connect():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def close(self, app: Flask | None = None) -> None:
        """Close the pooled connections of `app` (default: the current one); they reopen lazily.

        The app's registry is shared by its extensions, so this closes all its Thrift clients.
        """
        self._clients(app if app is not None else self._current_app()).close()


#: The spelling of the flask-thrift-client fork.
Thrift_Client = ThriftClient
