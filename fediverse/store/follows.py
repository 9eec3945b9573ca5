"""Queries on follow relationships."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.tables import Actor, Follow

ACCEPTED = "accepted"
PENDING = "pending"


async def count_followers(session: AsyncSession, actor_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Follow)
        .where(Follow.followee_id == actor_id, Follow.state == ACCEPTED)
    )
    return int(count or 0)


async def count_following(session: AsyncSession, actor_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Follow)
        .where(Follow.follower_id == actor_id, Follow.state == ACCEPTED)
    )
    return int(count or 0)


async def page_follower_uris(
    session: AsyncSession, actor_id: int, *, max_id: int | None, limit: int
) -> list[tuple[int, str]]:
    """Return (follow id, follower IRI) pairs, newest follow first, older than `max_id`."""
    query = (
        select(Follow.id, Actor.uri)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == actor_id, Follow.state == ACCEPTED)
    )
    if max_id is not None:
        query = query.where(Follow.id < max_id)
    rows = await session.execute(query.order_by(Follow.id.desc()).limit(limit))
    return [(follow_id, uri) for follow_id, uri in rows.all()]


async def page_following_uris(
    session: AsyncSession, actor_id: int, *, max_id: int | None, limit: int
) -> list[tuple[int, str]]:
    """Return (follow id, followee IRI) pairs, newest follow first, older than `max_id`."""
    query = (
        select(Follow.id, Actor.uri)
        .join(Actor, Actor.id == Follow.followee_id)
        .where(Follow.follower_id == actor_id, Follow.state == ACCEPTED)
    )
    if max_id is not None:
        query = query.where(Follow.id < max_id)
    rows = await session.execute(query.order_by(Follow.id.desc()).limit(limit))
    return [(follow_id, uri) for follow_id, uri in rows.all()]
