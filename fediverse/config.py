"""Boot settings, declared once as data and loaded from `instance.toml`.

Every setting lives in `SETTINGS` with its type, default and help text; the loader refuses unknown
keys and bad values with one message naming the file, the key and the problem, and a test proves
that each setting is documented in the shipped `instance.toml`. Nothing here runs at import time.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import limits

CONFIG_ENV = "FEDIVERSE_CONFIG"
DEFAULT_CONFIG_NAME = "instance.toml"


class ConfigError(Exception):
    """Raise when the configuration cannot be used; the message is one line for the operator."""

    def __init__(self, path: Path | str, key: str | None, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + problem)


Validator = Callable[[Any], str | None]


@dataclass(frozen=True)
class Setting:
    """One documented boot setting: `section.key`, its type, default and help text."""

    section: str
    key: str
    kind: type
    default: Any
    help: str
    check: Validator | None = None

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


def _port(value: Any) -> str | None:
    return None if 1 <= value <= 65535 else "must be a port number from 1 to 65535"


def _positive(value: Any) -> str | None:
    return None if value > 0 else "must be greater than zero"


def _non_negative(value: Any) -> str | None:
    return None if value >= 0 else "must be zero or greater"


def _http_url(value: Any) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http:// or https:// URL such as https://social.example"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "must not have a path, query or fragment (the instance lives at the root)"
    return None


def _domain(value: Any) -> str | None:
    if not value or "/" in value or "@" in value or " " in value:
        return "must be a bare host name such as social.example (a port is allowed)"
    return None


def _database_url(value: Any) -> str | None:
    if value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return None
    return "must start with sqlite+aiosqlite:// or postgresql+asyncpg://"


def _networks(value: Any) -> str | None:
    for entry in value:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return f"{entry!r} is not an IP address or network such as 10.0.0.0/8 or ::1"
    return None


def _rate(value: Any) -> str | None:
    try:
        item = limits.parse(value)
    except ValueError:
        item = None
    if item is None or item.amount < 1:
        return "must be a rate such as '300 per 5 minutes' (a count per second/minute/hour/day)"
    return None


# Storage schemes of the `limits` library that work in an async server, without the "async+"
# prefix the library wants (config.rate_limit_storage_url adds it).
RATE_LIMIT_STORAGES = ("memory", "redis", "rediss", "redis+unix", "valkey", "valkeys")


def _rate_storage(value: Any) -> str | None:
    scheme = value.split("://", 1)[0].removeprefix("async+") if "://" in value else ""
    if scheme in RATE_LIMIT_STORAGES:
        return None
    return "must be memory:// or a Redis URL such as redis://localhost:6379/0"


def rate_limit_storage_url(value: str) -> str:
    """Return a `[rate_limits] storage_url` as the `limits` library names its async storages."""
    return value if value.startswith("async+") else "async+" + value


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "instance",
        "domain",
        str,
        "localhost:8000",
        "Host name used in handles (alice@DOMAIN) and WebFinger.",
        _domain,
    ),
    Setting(
        "instance",
        "base_url",
        str,
        "http://localhost:8000",
        "Public URL every ActivityPub id starts with.",
        _http_url,
    ),
    Setting(
        "instance",
        "name",
        str,
        "A Fediverse community",
        "Instance name shown before an admin changes it in the console.",
    ),
    Setting("server", "host", str, "127.0.0.1", "Address `fediverse serve` listens on."),
    Setting("server", "port", int, 8000, "Port `fediverse serve` listens on.", _port),
    Setting(
        "server",
        "max_request_bytes",
        int,
        1_048_576,
        "Largest request body accepted, in bytes.",
        _positive,
    ),
    Setting(
        "server",
        "trusted_proxies",
        list,
        [],
        "Reverse proxies (addresses or networks) whose X-Forwarded-For names the client.",
        _networks,
    ),
    Setting(
        "database",
        "url",
        str,
        "sqlite+aiosqlite:///data/fediverse.sqlite3",
        "SQLAlchemy URL; relative SQLite paths are relative to this file.",
        _database_url,
    ),
    Setting(
        "database",
        "schema",
        str,
        "",
        "PostgreSQL schema to use (empty: the server's default search_path).",
    ),
    Setting(
        "database",
        "busy_timeout_seconds",
        float,
        10.0,
        "How long a write waits for another writer's lock before the request answers 503.",
        _positive,
    ),
    Setting(
        "federation",
        "allow_private_addresses",
        bool,
        False,
        "Allow requests to private, loopback and link-local addresses (local development).",
    ),
    Setting(
        "federation",
        "authorized_fetch",
        bool,
        False,
        "Require a valid HTTP signature on GETs of actors, objects and collections.",
    ),
    Setting(
        "federation",
        "signature_max_age_minutes",
        int,
        65,
        "How old a signed request's Date may be.",
        _positive,
    ),
    Setting(
        "federation",
        "signature_max_future_minutes",
        int,
        60,
        "How far in the future a signed request's Date may be.",
        _non_negative,
    ),
    Setting(
        "federation",
        "fetch_timeout_seconds",
        float,
        10.0,
        "Deadline for one outgoing fetch or delivery.",
        _positive,
    ),
    Setting(
        "federation",
        "inbox_fetch_timeout_seconds",
        float,
        5.0,
        "Deadline for one fetch made while applying a received activity (a post named only by "
        "its IRI, a boosted post); an item whose fetch fails is retried later.",
        _positive,
    ),
    Setting(
        "federation",
        "max_fetches_per_host",
        int,
        4,
        "Fetches in flight at once to one remote host; received activities that need more are "
        "deferred instead of waiting.",
        _positive,
    ),
    Setting(
        "federation",
        "max_fetch_bytes",
        int,
        1_048_576,
        "Largest remote document fetched, in bytes.",
        _positive,
    ),
    Setting(
        "federation",
        "failed_fetch_retry_minutes",
        int,
        60,
        "After a fetch of a missing post for a reader fails, wait this long before trying again.",
        _positive,
    ),
    Setting(
        "federation",
        "remote_actor_cache_hours",
        int,
        24,
        "How long a fetched remote actor is trusted before it is refetched.",
        _positive,
    ),
    Setting("workers", "embedded", bool, True, "Run background workers inside `fediverse serve`."),
    Setting(
        "workers",
        "poll_interval_seconds",
        float,
        1.0,
        "How often an idle worker looks for due jobs.",
        _positive,
    ),
    Setting("workers", "batch_size", int, 50, "Jobs a worker claims at once.", _positive),
    Setting(
        "workers",
        "lease_seconds",
        int,
        120,
        "How long a claimed job stays with a worker before another may take it.",
        _positive,
    ),
    Setting(
        "media",
        "directory",
        str,
        "data/media",
        "Folder for uploaded images; a relative path is relative to this file.",
    ),
    Setting(
        "media",
        "max_upload_bytes",
        int,
        8_388_608,
        "Largest image upload accepted, in bytes.",
        _positive,
    ),
    Setting(
        "delivery",
        "retry_horizon_hours",
        int,
        72,
        "How long a failing delivery is retried before it is marked failed.",
        _positive,
    ),
    Setting(
        "delivery",
        "max_in_flight",
        int,
        64,
        "Deliveries sent at once by one worker process.",
        _positive,
    ),
    Setting(
        "delivery",
        "per_host_limit",
        int,
        4,
        "Deliveries sent at once to one host by one worker process.",
        _positive,
    ),
    Setting(
        "rate_limits",
        "storage_url",
        str,
        "memory://",
        "Where rate-limit counters live: memory:// (per process) or a Redis URL (shared).",
        _rate_storage,
    ),
    Setting(
        "rate_limits",
        "sign_in_per_address",
        str,
        "30 per 15 minutes",
        "Sign-in attempts (right or wrong) from one client address.",
        _rate,
    ),
    Setting(
        "rate_limits",
        "sign_in_failures_per_account",
        str,
        "5 per 15 minutes",
        "Failed sign-ins of one account before addresses that failed on it must wait.",
        _rate,
    ),
    Setting(
        "rate_limits",
        "password_change_per_account",
        str,
        "5 per 15 minutes",
        "Attempts to change the password of one account (each checks the current password).",
        _rate,
    ),
    Setting(
        "rate_limits",
        "join_per_address",
        str,
        "10 per hour",
        "Sign-up and waitlist forms submitted from one client address.",
        _rate,
    ),
    Setting(
        "rate_limits",
        "oauth_per_address",
        str,
        "30 per 5 minutes",
        "Calls to /oauth/token, /oauth/revoke and app registration from one client address.",
        _rate,
    ),
    Setting(
        "rate_limits",
        "api_per_token",
        str,
        "1500 per 5 minutes",
        "Client API requests made with one access token.",
        _rate,
    ),
    Setting(
        "rate_limits",
        "api_per_address",
        str,
        "300 per 5 minutes",
        "Client API requests without a valid access token from one client address.",
        _rate,
    ),
    Setting(
        "rate_limits",
        "inbox_per_address",
        str,
        "6000 per 5 minutes",
        "Inbox POSTs from one client address, counted before any signature is checked.",
        _rate,
    ),
    Setting(
        "rate_limits",
        "inbox_per_host",
        str,
        "3000 per 5 minutes",
        "Inbox POSTs signed by actors of one remote server, counted once verified.",
        _rate,
    ),
    Setting(
        "rate_limits",
        "requests_per_address",
        str,
        "3000 per 5 minutes",
        "Every other request (pages, ActivityPub fetches, WebFinger, media) from one address.",
        _rate,
    ),
)


@dataclass(frozen=True)
class InstanceSettings:
    domain: str
    base_url: str
    name: str


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    max_request_bytes: int
    trusted_proxies: tuple[str, ...]


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    schema: str
    busy_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class FederationSettings:
    allow_private_addresses: bool
    authorized_fetch: bool
    signature_max_age_minutes: int
    signature_max_future_minutes: int
    fetch_timeout_seconds: float
    inbox_fetch_timeout_seconds: float
    max_fetches_per_host: int
    max_fetch_bytes: int
    remote_actor_cache_hours: int
    failed_fetch_retry_minutes: int = 60


@dataclass(frozen=True)
class WorkerSettings:
    embedded: bool
    poll_interval_seconds: float
    batch_size: int
    lease_seconds: int


@dataclass(frozen=True)
class MediaSettings:
    directory: str
    max_upload_bytes: int


@dataclass(frozen=True)
class DeliverySettings:
    retry_horizon_hours: int
    max_in_flight: int
    per_host_limit: int


@dataclass(frozen=True)
class RateLimitSettings:
    """Limits in the `limits` library's notation ("300 per 5 minutes"); see services/limits.py."""

    storage_url: str
    sign_in_per_address: str
    sign_in_failures_per_account: str
    password_change_per_account: str
    join_per_address: str
    oauth_per_address: str
    api_per_token: str
    api_per_address: str
    inbox_per_address: str
    inbox_per_host: str
    requests_per_address: str


@dataclass(frozen=True)
class Config:
    """The whole boot configuration; build it with `load_config` or `config_from_dict`."""

    instance: InstanceSettings
    server: ServerSettings
    database: DatabaseSettings
    federation: FederationSettings
    workers: WorkerSettings
    delivery: DeliverySettings
    media: MediaSettings
    rate_limits: RateLimitSettings
    source: str = field(default="<defaults>", compare=False)


_SECTIONS: dict[str, type] = {
    "instance": InstanceSettings,
    "server": ServerSettings,
    "database": DatabaseSettings,
    "federation": FederationSettings,
    "workers": WorkerSettings,
    "delivery": DeliverySettings,
    "media": MediaSettings,
    "rate_limits": RateLimitSettings,
}


def _coerce(setting: Setting, value: Any) -> Any:
    """Return `value` as the setting's type, or raise ValueError naming what was expected."""
    if setting.kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected true or false, got {value!r}")
    if setting.kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(f"expected a whole number, got {value!r}")
    if setting.kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"expected a number, got {value!r}")
    if setting.kind is list:
        if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise ValueError(f"expected a list of strings, got {value!r}")
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {value!r}")


def config_from_dict(
    data: dict[str, Any], *, source: str = "<dict>", base_dir: Path | None = None
) -> Config:
    """Validate a parsed TOML document and return the Config it describes."""
    known = {s.name: s for s in SETTINGS}
    for section, values in data.items():
        if section not in _SECTIONS:
            raise ConfigError(
                source,
                f"[{section}]",
                "unknown section; known sections are "
                + ", ".join(f"[{name}]" for name in _SECTIONS),
            )
        if not isinstance(values, dict):
            raise ConfigError(source, f"[{section}]", "must be a table of settings")
        for key in values:
            if f"{section}.{key}" not in known:
                raise ConfigError(source, f"{section}.{key}", "unknown setting")
    sections: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    for setting in SETTINGS:
        raw = data.get(setting.section, {}).get(setting.key, setting.default)
        try:
            value = _coerce(setting, raw)
        except ValueError as exc:
            raise ConfigError(source, setting.name, str(exc)) from None
        if setting.check is not None and (problem := setting.check(value)):
            raise ConfigError(source, setting.name, f"{problem} (got {value!r})")
        sections[setting.section][setting.key] = value
    sections["instance"]["base_url"] = sections["instance"]["base_url"].rstrip("/")
    sections["database"]["url"] = _resolve_sqlite_path(sections["database"]["url"], base_dir)
    media_dir = Path(sections["media"]["directory"])
    if not media_dir.is_absolute():
        media_dir = (base_dir or Path.cwd()) / media_dir
    sections["media"]["directory"] = str(media_dir.resolve())
    built = {name: cls(**sections[name]) for name, cls in _SECTIONS.items()}
    return Config(**built, source=source)


def _resolve_sqlite_path(url: str, base_dir: Path | None) -> str:
    """Make a relative SQLite path absolute against the config file's folder."""
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix) or base_dir is None:
        return url
    path = url[len(prefix) :]
    if not path or path == ":memory:" or path.startswith("/"):
        return url
    return prefix + str((base_dir / path).resolve())


def find_config_path(explicit: str | None = None) -> Path:
    """Return the config file to load: `--config`, then $FEDIVERSE_CONFIG, then ./instance.toml."""
    chosen = explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME
    return Path(chosen)


def load_config(path: Path) -> Config:
    """Read and validate a TOML config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path, None, f"file not found; pass --config PATH or set {CONFIG_ENV}"
        ) from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"is not valid TOML ({exc})") from None
    return config_from_dict(data, source=str(path), base_dir=path.resolve().parent)
