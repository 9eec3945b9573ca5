"""Queries on activities our actors published."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.tables import OutboxActivity


async def count_public(
    session: AsyncSession, actor_id: int, *, readable: ColumnElement[bool] | None = None
) -> int:
    """Count an actor's public activities; `readable` narrows them (the visibility rule)."""
    query = (
        select(func.count())
        .select_from(OutboxActivity)
        .where(OutboxActivity.actor_id == actor_id, OutboxActivity.public.is_(True))
    )
    if readable is not None:
        query = query.where(readable)
    return int(await session.scalar(query) or 0)


async def page_public(
    session: AsyncSession,
    actor_id: int,
    *,
    max_id: int | None,
    limit: int,
    readable: ColumnElement[bool] | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """Return (id, activity JSON) of public activities, newest first, older than `max_id`."""
    query = select(OutboxActivity.id, OutboxActivity.payload).where(
        OutboxActivity.actor_id == actor_id, OutboxActivity.public.is_(True)
    )
    if readable is not None:
        query = query.where(readable)
    if max_id is not None:
        query = query.where(OutboxActivity.id < max_id)
    rows = await session.execute(query.order_by(OutboxActivity.id.desc()).limit(limit))
    return [(activity_id, payload) for activity_id, payload in rows.all()]


async def matches(session: AsyncSession, activity_id: int, condition: ColumnElement[bool]) -> bool:
    """Tell whether one activity meets a condition (say, the visibility rule)."""
    found = await session.scalar(
        select(OutboxActivity.id).where(OutboxActivity.id == activity_id, condition)
    )
    return found is not None


async def get_by_id(session: AsyncSession, activity_id: int) -> OutboxActivity | None:
    return await session.get(OutboxActivity, activity_id)
