"""Engine and session factory for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from fediverse.config import DatabaseSettings

SQLITE_PREFIX = "sqlite+aiosqlite:///"
# Milliseconds SQLite waits for a competing writer before it reports "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _prepare_sqlite_file(url: str) -> None:
    """Create the folder of a SQLite file so the first run needs no manual step."""
    path = url[len(SQLITE_PREFIX) :]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """Turn on WAL, foreign keys and a busy timeout on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL sync is safe with WAL and avoids an
    # fsync per commit.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    """Build the async engine the whole process shares."""
    url = settings.url
    kwargs: dict[str, Any] = {"pool_pre_ping": False}
    if is_sqlite(url):
        _prepare_sqlite_file(url)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        server_settings = {"application_name": "fediverse"}
        if settings.schema:
            server_settings["search_path"] = settings.schema
        kwargs["connect_args"] = {"server_settings": server_settings}
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 10
    engine = _create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory; objects stay usable after commit (no lazy reloads)."""
    return async_sessionmaker(engine, expire_on_commit=False)
