"""Answers for discovery: which local actor a WebFinger resource names, and NodeInfo usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.errors import NotFound
from fediverse.services.context import Context
from fediverse.services.registration import get_mode
from fediverse.services.visibility import visible_to
from fediverse.store import actors as actor_queries
from fediverse.store.tables import Actor, Post
from fediverse.store.types import utcnow


async def find_local_actor_by_handle(ctx: Context, username: str, host: str) -> Actor:
    """Return the local actor for `username@host`, or raise NotFound naming what was asked."""
    accepted_hosts = {ctx.domain.lower(), ctx.uris.host.lower()}
    if host.lower() not in accepted_hosts:
        raise NotFound(f"{username}@{host} is not on this instance ({ctx.domain}).")
    async with ctx.sessions() as session:
        actor = await actor_queries.get_local_by_name(session, username)
    if actor is None or actor.deleted_at is not None:
        raise NotFound(f"No account called {username!r} on {ctx.domain}.")
    return actor


async def find_local_actor_by_iri(ctx: Context, iri: str) -> Actor:
    """Return the local actor whose id (or profile URL) is `iri`, or raise NotFound."""
    parsed = ctx.uris.parse_local_actor(iri)
    if parsed is None:
        raise NotFound(f"{iri} is not an actor on this instance.")
    kind, name = parsed
    async with ctx.sessions() as session:
        actor = await actor_queries.get_local_by_name(session, name, kind=kind)
    if actor is None or actor.deleted_at is not None:
        raise NotFound(f"No account at {iri}.")
    return actor


@dataclass(frozen=True)
class Usage:
    users_total: int
    users_active_month: int
    users_active_halfyear: int
    local_posts: int


async def instance_usage(ctx: Context) -> Usage:
    """Count users and posts for NodeInfo."""
    now = utcnow()
    async with ctx.sessions() as session:
        return Usage(
            users_total=await actor_queries.count_local_users(session),
            users_active_month=await actor_queries.count_active_users_since(
                session, now - timedelta(days=30)
            ),
            users_active_halfyear=await actor_queries.count_active_users_since(
                session, now - timedelta(days=180)
            ),
            local_posts=await _count_local_posts(session),
        )


async def _count_local_posts(session: AsyncSession) -> int:
    """Count this instance's live posts that anyone may read (the one visibility rule): what
    NodeInfo's localPosts and the instance's status_count may tell a stranger."""
    count = await session.scalar(
        select(func.count())
        .select_from(Post)
        .where(Post.local.is_(True), Post.boost_of_id.is_(None), visible_to(None))
    )
    return int(count or 0)


async def registrations_open(ctx: Context) -> bool:
    """Tell whether anyone may sign up without an invite or approval (NodeInfo)."""
    return await get_mode(ctx) == "open"
