"""Bring a database to the newest schema with Alembic, on either engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the newest migration this code knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """Return the revision the database is at, or None for an empty database."""
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def upgrade(engine: AsyncEngine, *, schema: str = "") -> tuple[str | None, str]:
    """Migrate to the newest revision; return (revision before, revision after)."""
    before = await current_revision_or_none(engine, schema)
    async with engine.begin() as conn:
        if schema and conn.dialect.name == "postgresql":
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))
    return before, head_revision()


async def current_revision_or_none(engine: AsyncEngine, schema: str) -> str | None:
    """Return the current revision, treating a missing schema as an empty database."""
    if schema and engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"),
                {"s": schema},
            )
        if not found:
            return None
    return await current_revision(engine)
