"""The store on both engines: migrations match the tables, times stay UTC, names stay unique."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from fediverse.config import DatabaseSettings
from fediverse.store.engine import create_engine, create_sessionmaker
from fediverse.store.migrate import current_revision, head_revision, upgrade
from fediverse.store.tables import Actor, Base
from tests.conftest import Database


def _engine(database: Database):  # type: ignore[no-untyped-def]
    return create_engine(DatabaseSettings(url=database.url, schema=database.schema))


async def test_migrations_create_exactly_the_declared_tables(database: Database) -> None:
    engine = _engine(database)
    try:
        assert (await upgrade(engine, schema=database.schema))[1] == head_revision()
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == [], f"tables.py and the migrations disagree: {diff}"
        # Running it again changes nothing.
        before, after = await upgrade(engine, schema=database.schema)
        assert before == after == head_revision()
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = _engine(Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"))
    try:
        async with engine.connect() as conn:
            assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
            assert (await conn.scalar(text("PRAGMA foreign_keys"))) == 1
            assert (await conn.scalar(text("PRAGMA busy_timeout"))) >= 5000
    finally:
        await engine.dispose()


def _actor(name: str, *, local: bool, uri: str | None = None) -> Actor:
    return Actor(
        uri=uri or f"https://a.test/users/{name}",
        kind="Person",
        local=local,
        username=name,
        username_key=name.lower(),
        domain="a.test",
        inbox_url=f"https://a.test/users/{name}/inbox",
    )


async def test_times_come_back_aware_and_utc_and_local_names_are_unique(
    database: Database,
) -> None:
    engine = _engine(database)
    sessions = create_sessionmaker(engine)
    try:
        await upgrade(engine, schema=database.schema)
        moment = datetime(2026, 5, 17, 12, 30, 15, 123456, tzinfo=UTC)
        async with sessions() as session:
            actor = _actor("alice", local=True)
            actor.published_at = moment
            session.add(actor)
            await session.commit()
        async with sessions() as session:
            loaded = await session.get(Actor, actor.id)
            assert loaded is not None
            assert loaded.published_at == moment
            assert loaded.published_at.tzinfo is not None
        async with sessions() as session:
            session.add(_actor("Alice", local=True, uri="https://a.test/users/Alice"))
            with pytest.raises(IntegrityError):
                await session.commit()
        # Remote actors may share a name: the IRI is their identity.
        async with sessions() as session:
            session.add(_actor("alice", local=False, uri="https://b.test/users/alice"))
            session.add(_actor("alice", local=False, uri="https://c.test/users/alice"))
            await session.commit()
    finally:
        await engine.dispose()
