"""Queries on actors (people, groups, the instance actor), local and remote."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.tables import Actor, User


async def get_by_uri(session: AsyncSession, uri: str) -> Actor | None:
    return await session.scalar(select(Actor).where(Actor.uri == uri))


async def get_by_id(session: AsyncSession, actor_id: int) -> Actor | None:
    return await session.get(Actor, actor_id)


async def get_local_by_name(
    session: AsyncSession, name: str, *, kind: str | None = None
) -> Actor | None:
    """Return the local actor called `name` (case-insensitive), optionally of one kind."""
    query = select(Actor).where(Actor.local.is_(True), Actor.username_key == name.lower())
    if kind is not None:
        query = query.where(Actor.kind == kind)
    return await session.scalar(query)


async def get_by_handle(session: AsyncSession, username: str, domain: str) -> Actor | None:
    """Return a known actor by `username@domain` (newest if a remote handle was reused)."""
    query = (
        select(Actor)
        .where(Actor.username_key == username.lower(), Actor.domain == domain.lower())
        .order_by(Actor.local.desc(), Actor.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def get_by_key_id(session: AsyncSession, key_id: str) -> Actor | None:
    return await session.scalar(select(Actor).where(Actor.public_key_id == key_id).limit(1))


async def name_taken(session: AsyncSession, name: str) -> bool:
    """Tell whether a local user or group already uses this name."""
    return await get_local_by_name(session, name) is not None


async def list_local_users(session: AsyncSession) -> list[tuple[Actor, User]]:
    rows = await session.execute(
        select(Actor, User).join(User, User.actor_id == Actor.id).order_by(Actor.id)
    )
    return [(actor, user) for actor, user in rows.all()]


async def count_local_users(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).select_from(User).where(User.approved.is_(True))
    )
    return int(count or 0)


async def count_active_users_since(session: AsyncSession, since: datetime) -> int:
    """Count approved users created or signed in since `since`."""
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.approved.is_(True),
            (User.last_sign_in_at >= since) | (User.created_at >= since),
        )
    )
    return int(count or 0)
