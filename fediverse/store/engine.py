"""Engine and session factory for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from fediverse.config import DatabaseSettings

SQLITE_PREFIX = "sqlite+aiosqlite:///"
# SQLSTATEs PostgreSQL gives when a lock was not granted in time or a transaction lost a race:
# lock_not_available (lock_timeout), deadlock_detected, serialization_failure.
POSTGRES_CONTENTION = frozenset({"55P03", "40P01", "40001"})
SQLITE_CONTENTION = ("database is locked", "database table is locked", "database is busy")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _prepare_sqlite_file(url: str) -> None:
    """Create the folder of a SQLite file so the first run needs no manual step."""
    path = url[len(SQLITE_PREFIX) :]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_tuner(busy_timeout_ms: int) -> Callable[[DBAPIConnection, ConnectionPoolEntry], None]:
    def tune(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        """Turn on WAL, foreign keys and the busy timeout on every new SQLite connection."""
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the single writer; NORMAL sync is safe with WAL and avoids
        # an fsync per commit.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    return tune


def is_contention(error: BaseException) -> bool:
    """Tell whether a store error means another writer held a lock too long (or no connection
    was free in time): nothing is wrong with the request, and it may simply be tried again."""
    if isinstance(error, PoolTimeoutError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in POSTGRES_CONTENTION:
        return True
    message = str(original).lower()
    return any(text in message for text in SQLITE_CONTENTION)


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """Build the async engine the whole process shares."""
    url = settings.url
    busy_timeout_ms = max(1, round(settings.busy_timeout_seconds * 1000))
    kwargs: dict[str, Any] = {"pool_pre_ping": False}
    if is_sqlite(url):
        _prepare_sqlite_file(url)
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
    else:
        server_settings = {"application_name": "fediverse", "lock_timeout": f"{busy_timeout_ms}ms"}
        if settings.schema:
            server_settings["search_path"] = settings.schema
        kwargs["connect_args"] = {"server_settings": server_settings}
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 10
    engine = _create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_tuner(busy_timeout_ms))
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory; objects stay usable after commit (no lazy reloads)."""
    return async_sessionmaker(engine, expire_on_commit=False)
