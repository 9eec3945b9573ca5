"""Queries on received activities."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.tables import InboxItem


async def insert_once(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert an inbox item unless one with the same activity id exists; return its id or None.

    ON CONFLICT DO NOTHING makes a redelivery race-free on both engines.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(InboxItem)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["activity_uri"])
        .returning(InboxItem.id)
    )
    return await session.scalar(statement)
