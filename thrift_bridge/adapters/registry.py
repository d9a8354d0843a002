"""`ClientRegistry`: named Thrift clients from configuration, built lazily, one per alias.

Framework-neutral: the Flask and Django adapters (and any other host) sit on it and only
translate their own configuration conventions into its entries; `AsyncClientRegistry` reads the
same configuration into `AsyncClient`s (the Starlette, aiohttp and Django async adapters). An
entry names a service and either one URL (or list) or several versions, each with its own
URL(s)::

    {"customer": {"service": "pkg.CustomerService",
                  "versions": {"1.0": "tcp://a:9090", "2.0": ["tcp://b:9090", "tcp://c:9090"]},
                  "default": "2.0", "access_key": "s3cret",
                  "pool_size": 4, "options": {"transport": "header"}}}
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union

from .._base import ClientBase
from .._client import Client
from .._exceptions import ConfigError
from .._options import OPTION_NAMES
from .._service import client_class_of, service_methods
from .._settings import CLIENT_OPTIONS, ClientSettings, check_idempotent
from .._urls import DEFAULT_URL, parse_urls
from ._sources import from_flat, read_file

if TYPE_CHECKING:
    from .._async._client import AsyncClient

__all__ = [
    "CLIENT_OPTIONS",
    "DEFAULT_PREFIX",
    "AsyncClientRegistry",
    "ClientRegistry",
    "RegistryConfig",
    "resolve_service",
]

_ENTRY_KEYS = ("service", "url", "options", "versions", "default", "access_key", *CLIENT_OPTIONS)
#: The configuration key (or key prefix) `ClientRegistry.from_mapping` reads by default.
DEFAULT_PREFIX = "THRIFT_CLIENTS"


def resolve_service(spec: Any) -> Any:
    """A generated service module or Client class from itself or a dotted path.

    Accepts ``"pkg.Service"`` (the module), ``"pkg.Service.Client"`` or ``"pkg.Service:Client"``.
    """
    if not isinstance(spec, str):
        return spec
    module_name, _, attribute = spec.replace(":", ".").rpartition(".")
    for candidate, attr in ((spec.replace(":", "."), None), (module_name, attribute)):
        if not candidate or candidate.startswith("."):  # import_module takes "." as relative
            continue
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            continue
        if attr is None:
            return module
        if hasattr(module, attr):
            value = getattr(module, attr)
            if isinstance(value, (type, ModuleType)):
                return value
    raise ConfigError(
        f"cannot import service {spec!r} (expected the dotted path of a generated service "
        "module, like 'thrift_bridge.generated.demo.CustomerService', or of its Client class)"
    )


def _normalise(alias: str, entry: Any) -> dict[str, Any]:
    """An entry with lower-case keys, checked for unknown keys, a service, URL or versions."""
    if not isinstance(entry, Mapping):
        raise ConfigError(f"client {alias!r}: expected a mapping of settings, got {entry!r}")
    normal: dict[str, Any] = {}
    for key, value in entry.items():
        name = str(key).lower()
        if name not in _ENTRY_KEYS:
            raise ConfigError(
                f"client {alias!r}: unknown setting {key!r} "
                f"(expected one of: {', '.join(k.upper() for k in _ENTRY_KEYS)})"
            )
        normal[name] = value
    if "service" not in normal:
        raise ConfigError(f"client {alias!r}: SERVICE is missing (the generated service to call)")
    options = normal.get("options") or {}
    if not isinstance(options, Mapping):
        raise ConfigError(f"client {alias!r}: OPTIONS must be a mapping, got {options!r}")
    normal["options"] = {str(k).lower(): v for k, v in options.items()}
    unknown = set(normal["options"]) - set(OPTION_NAMES)
    if unknown:
        raise ConfigError(
            f"client {alias!r}: unknown option(s) {sorted(unknown)} "
            f"(expected: {', '.join(OPTION_NAMES)})"
        )
    versions = normal.get("versions")
    if versions is not None:
        if "url" in normal:
            raise ConfigError(f"client {alias!r}: give URL or VERSIONS, not both")
        if not isinstance(versions, Mapping) or not versions:
            raise ConfigError(
                f"client {alias!r}: VERSIONS must be a non-empty mapping of version to URL(s)"
            )
        normal["versions"] = {str(k): v for k, v in versions.items()}
        default = normal.get("default")
        if default is None and len(versions) == 1:
            normal["default"] = next(iter(normal["versions"]))
        elif str(default) not in normal["versions"]:
            raise ConfigError(
                f"client {alias!r}: DEFAULT {default!r} is not one of the versions "
                f"({', '.join(sorted(normal['versions']))})"
            )
        else:
            normal["default"] = str(default)
    elif "default" in normal:
        raise ConfigError(f"client {alias!r}: DEFAULT needs VERSIONS")
    return normal


def _version_key(alias: str, version: str | None) -> tuple[str, str | None]:
    """The cache key of one built client."""
    return (alias, version)


C = TypeVar("C", bound=ClientBase)
R = TypeVar("R", bound="_Registry[Any]")
#: What `from_config` takes: a mapping of aliases (or one holding `THRIFT_CLIENTS` keys, like
#: `os.environ`), the path of a TOML or JSON file, or a registry.
RegistryConfig = Union[Mapping[str, Any], str, "os.PathLike[str]", "_Registry[Any]"]


class _Registry(Generic[C]):
    """Clients of one kind (`C`) by alias and version; `ClientRegistry` documents it."""

    def __init__(self, config: Mapping[str, Any] | None = None):
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        self._clients: dict[tuple[str, str | None], C] = {}
        if config is not None:
            self.configure(config)

    @staticmethod
    def _new_client(service: Any, url: Any, **kwargs: Any) -> C:
        """A client of this registry's kind."""
        raise NotImplementedError

    @classmethod
    def from_config(cls: type[R], config: RegistryConfig, prefix: str = DEFAULT_PREFIX) -> R:
        """A registry from any configuration the adapters accept; an empty one is an error.

        A registry of this kind is used as it is; a `str` or path is a TOML or JSON file
        (`from_file`); a mapping holding `prefix` or flat `PREFIX_ALIAS_SETTING` keys (a
        settings object, `os.environ`) is read by `from_mapping`; any other mapping is the
        aliases themselves.
        """
        if isinstance(config, cls):
            return config
        if isinstance(config, (str, os.PathLike)):
            registry = cls.from_file(config, prefix)
            where = f"{os.fspath(config)!r}"
        elif isinstance(config, Mapping):
            start = prefix.upper() + "_"
            flat = any(str(key).upper().startswith(start) for key in config)
            if prefix in config or flat:
                registry = cls.from_mapping(config, prefix)
                where = f"{prefix} or {start}<ALIAS>_<SETTING> keys"
            elif all(isinstance(entry, Mapping) for entry in config.values()):
                registry = cls(config)
                where = "the mapping"
            else:
                raise ConfigError(
                    f"expected a mapping of alias to client settings, or one holding {prefix} "
                    f"or {start}<ALIAS>_<SETTING> keys (like os.environ); found neither"
                )
        else:
            raise ConfigError(
                f"unusable Thrift client configuration {config!r} (expected a mapping of alias "
                f"to client settings, a mapping with {prefix} keys, the path of a .toml or "
                f".json file, or a {cls.__name__})"
            )
        if not len(registry):
            raise ConfigError(f"no Thrift clients configured in {where}")
        return registry

    @classmethod
    def from_mapping(cls: type[R], mapping: Mapping[str, Any], prefix: str = DEFAULT_PREFIX) -> R:
        """A registry from `mapping[prefix]`, or from flat `PREFIX_ALIAS_SETTING` keys.

        Works with a Flask config, Django settings (`vars(settings)`) or `os.environ`; flat
        string values that look like JSON (numbers, lists, objects, true/false) are decoded.
        """
        nested = mapping.get(prefix)
        if nested is not None:
            return cls(nested)
        return cls(from_flat(mapping, prefix, _ENTRY_KEYS))

    @classmethod
    def from_file(cls: type[R], path: str | os.PathLike[str], prefix: str = DEFAULT_PREFIX) -> R:
        """A registry from a TOML or JSON file (its `prefix` table if present, else the file)."""
        data = read_file(path)
        for key in (prefix, prefix.lower()):
            if isinstance(data.get(key), Mapping):
                return cls(data[key])
        return cls(data)

    def configure(self, config: Mapping[str, Any]) -> None:
        """Validate and take a new configuration; clients built from the old one are closed."""
        if not isinstance(config, Mapping):
            raise ConfigError(f"expected a mapping of alias to client settings, got {config!r}")
        entries = {str(key): self.check_entry(str(key), entry) for key, entry in config.items()}
        with self._lock:
            old, self._clients = self._clients, {}
            self._entries = entries
        for client in old.values():
            client.close()

    @staticmethod
    def check_entry(alias: str, entry: Any) -> dict[str, Any]:
        """Validate one alias's settings without network I/O; returns them normalised.

        Every check `Client` makes (service, client settings, URLs and options of each
        version), with no client built.
        """
        normal = _normalise(alias, entry)
        try:
            normal["service"] = resolve_service(normal["service"])
            client_class = client_class_of(normal["service"])
            settings = ClientSettings.from_options(
                {key: normal[key] for key in CLIENT_OPTIONS if key in normal}
            )
            check_idempotent(settings.retry, service_methods(client_class), client_class.__module__)
        except ConfigError as exc:
            raise ConfigError(f"client {alias!r}: {exc.message}") from None
        for version in normal.get("versions") or [None]:
            url, options = _Registry._endpoints(alias, normal, version)
            try:
                parse_urls(url or DEFAULT_URL, **options)
            except ConfigError as exc:
                raise ConfigError(f"{_where(alias, version)}: {exc.message}") from None
        return normal

    def __getitem__(self, alias: str) -> C:
        return self.get(alias)

    def get(self, alias: str, version: str | None = None) -> C:
        """The client for `alias` (its default version, or `version`), built on first use."""
        key = _version_key(alias, version)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                entry = self._entries.get(alias)
                if entry is None:
                    configured = ", ".join(sorted(self._entries)) or "none"
                    raise ConfigError(
                        f"no Thrift client configured under {alias!r} (configured: {configured})"
                    )
                client = self._clients[key] = self._build(alias, entry, version)
        return client

    def build_defaults(self) -> None:
        """Build every alias's default client now (no I/O: each client's own checks made)."""
        for alias in self:
            self.get(alias)

    def versions(self, alias: str) -> list[str]:
        """The versions configured for `alias` (empty when it has a plain URL)."""
        entry = self._entries.get(alias)
        if entry is None:
            raise ConfigError(f"no Thrift client configured under {alias!r}")
        return sorted(entry.get("versions") or ())

    @staticmethod
    def _endpoints(
        alias: str, entry: dict[str, Any], version: str | None
    ) -> tuple[Any, dict[str, Any]]:
        """The URL(s) and endpoint options of a validated entry's version (or its only one)."""
        options = dict(entry["options"])
        url = entry.get("url")
        versions = entry.get("versions")
        if versions is not None:
            chosen = entry["default"] if version is None else version
            if chosen not in versions:
                raise ConfigError(
                    f"client {alias!r} has no version {version!r} "
                    f"(versions: {', '.join(sorted(versions))})"
                )
            url = versions[chosen]
        elif version is not None:
            raise ConfigError(f"client {alias!r} has no versions; ask for it without version=")
        else:
            chosen = None
        try:
            _add_identity_headers(url, options, chosen, entry.get("access_key"))
        except ConfigError as exc:
            raise ConfigError(f"{_where(alias, version)}: {exc.message}") from None
        return url, options

    def _build(self, alias: str, entry: dict[str, Any], version: str | None) -> C:
        """A client for a validated entry (and version)."""
        url, options = self._endpoints(alias, entry, version)
        kwargs = {key: entry[key] for key in CLIENT_OPTIONS if key in entry}
        try:
            client: C = self._new_client(entry["service"], url, **kwargs, **options)
        except ConfigError as exc:
            raise ConfigError(f"{_where(alias, version)}: {exc.message}") from None
        return client

    def __contains__(self, alias: object) -> bool:
        return alias in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def built(self) -> dict[str, C]:
        """The clients built so far, by alias (and ``alias@version`` for explicit versions)."""
        with self._lock:
            return {
                alias if version is None else f"{alias}@{version}": client
                for (alias, version), client in self._clients.items()
            }

    def close(self) -> None:
        """Close every client built so far; they are rebuilt on next use."""
        for client in self._take_all():
            client.close()

    def _take_all(self) -> list[C]:
        """The clients built so far, forgotten here (the next use builds new ones)."""
        with self._lock:
            clients, self._clients = self._clients, {}
        return list(clients.values())


class ClientRegistry(_Registry[Client]):
    """Clients by alias (and version), configured from a mapping and built on first use.

    ::

        clients = ClientRegistry({
            "billing": {"service": "myapp.gen.Billing", "url": "tcps://billing:9090",
                        "pool_size": 4, "options": {"timeout": 2}},
        })
        clients["billing"].charge(42)
        clients.get("customer", version="1.0").get_customer(7)
        clients.close()
    """

    @staticmethod
    def _new_client(service: Any, url: Any, **kwargs: Any) -> Client:
        client: Client = Client(service, url, **kwargs)  # Any: __new__'s typed overloads
        return client


class AsyncClientRegistry(_Registry["AsyncClient"]):
    """`ClientRegistry`'s configuration, building `AsyncClient`s; closed with `aclose()`.

    ::

        clients = AsyncClientRegistry.from_config("clients.toml")
        customer = await clients["customers"].get_customer(1)
        await clients.aclose()
    """

    @staticmethod
    def _new_client(service: Any, url: Any, **kwargs: Any) -> AsyncClient:
        # Imported here: sync users of the registry (Flask, Django) never load asyncio.
        from .._async._client import AsyncClient

        client: AsyncClient = AsyncClient(service, url, **kwargs)
        return client

    async def aclose(self) -> None:
        """Close every client built so far, waiting for this loop's sockets to close."""
        for client in self._take_all():
            await client.aclose()


def _where(alias: str, version: str | None) -> str:
    """How messages name a client (and version) of the registry."""
    return f"client {alias!r}" + (f" version {version!r}" if version else "")


def _add_identity_headers(
    url: Any, options: dict[str, Any], version: str | None, access_key: Any
) -> None:
    """Send `service_version` and `access_key` headers where the endpoints carry headers."""
    plain = {k: v for k, v in options.items() if k != "headers"}
    endpoints = parse_urls(url or DEFAULT_URL, **plain)
    carries = all(ep.is_http or "header" in (ep.transport, ep.protocol) for ep in endpoints)
    if not carries:
        if access_key is not None:
            raise ConfigError(
                "ACCESS_KEY travels in a header: use an http(s) URL or a THeader endpoint "
                "(transport=header or protocol=header)"
            )
        return
    headers = dict(options.get("headers") or {})
    if version is not None:
        headers.setdefault("service_version", version)
    if access_key is not None:
        headers.setdefault("access_key", str(access_key))
    if headers:
        options["headers"] = headers
