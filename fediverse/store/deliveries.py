"""Queries on outgoing deliveries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.tables import Delivery


async def recent_failures(
    session: AsyncSession, *, limit: int = 10
) -> list[tuple[str, int | None, str | None]]:
    """Return (inbox, last status, last error) of queued deliveries that failed at least once."""
    rows = await session.execute(
        select(Delivery.inbox_url, Delivery.last_status, Delivery.last_error)
        .where(Delivery.state == "queued", Delivery.attempts > 0)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [(inbox, status, error) for inbox, status, error in rows.all()]
