"""Queries on fetch attempts: claim a remote post's fetch once per expiry, remember failures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.tables import FetchAttempt

MAX_ERROR_CHARS = 500


async def waiting(session: AsyncSession, uri: str, *, now: datetime) -> bool:
    """Tell (with a read only) whether a fetch of `uri` is claimed or failed until later."""
    until = await session.scalar(select(FetchAttempt.not_before).where(FetchAttempt.uri == uri))
    return until is not None and until > now


async def claim(session: AsyncSession, uri: str, *, now: datetime, until: datetime) -> bool:
    """Claim the fetch of `uri` until `until`; False while an earlier claim has not expired.

    One atomic upsert on both engines: of many readers (or processes) asking at once, exactly
    one gets True. Expired rows are pruned first, so the table holds only live claims.
    """
    await session.execute(delete(FetchAttempt).where(FetchAttempt.not_before <= now))
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(FetchAttempt)
        .values(uri=uri, attempted_at=now, not_before=until, last_error=None)
        .on_conflict_do_update(
            index_elements=["uri"],
            set_={"attempted_at": now, "not_before": until, "last_error": None},
            where=FetchAttempt.not_before <= now,
        )
        .returning(FetchAttempt.uri)
    )
    return await session.scalar(statement) is not None


async def record_failure(session: AsyncSession, uri: str, error: str) -> None:
    """Keep the claim as a negative cache entry, saying why the fetch failed."""
    await session.execute(
        update(FetchAttempt)
        .where(FetchAttempt.uri == uri)
        .values(last_error=error[:MAX_ERROR_CHARS])
    )


async def forget(session: AsyncSession, uri: str) -> None:
    """Drop the claim of a fetch that succeeded: the post is stored now."""
    await session.execute(delete(FetchAttempt).where(FetchAttempt.uri == uri))
