"""Read-side views of accounts for the client API: counts, relationships, follow lists, and
finding accounts and hashtags by name.

Everything here reads; changes go through `follows`, `posts` and `interactions`. Lists are paged
by the id of the row that orders them (a follow's id for follow lists), as Mastodon does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Result, Select, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.parse import ParseError, parse_actor
from fediverse.errors import NotFound
from fediverse.services.context import Context
from fediverse.services.profiles import profile_fields
from fediverse.services.timelines import MAX_LIMIT, Page
from fediverse.store import actors as actor_queries
from fediverse.store.follows import ACCEPTED, PENDING
from fediverse.store.tables import Actor, ActorBlock, Follow, Post, PostTag, Profile, User

MAX_FOLLOW_PAGE = 80


@dataclass(frozen=True)
class AccountStats:
    followers: int = 0
    following: int = 0
    statuses: int = 0
    last_status_at: datetime | None = None
    # Profile fields as (name, value HTML): our professional profile, or a remote actor's
    # PropertyValue attachments.
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Relationship:
    """How the viewer and one other account stand to each other."""

    following: bool = False
    requested: bool = False
    followed_by: bool = False
    requested_by: bool = False
    blocking: bool = False
    blocked_by: bool = False


def _pairs(result: Result[Any, Any]) -> dict[Any, Any]:
    """Return a two-column result as a dict (first column → second)."""
    return {key: value for key, value in result.all()}


async def get_account(ctx: Context, actor_id: int) -> Actor:
    """Return a live account (local or remote) by id, or raise NotFound."""
    async with ctx.sessions() as session:
        actor = await session.get(Actor, actor_id)
    if actor is None or actor.deleted_at is not None:
        raise NotFound(f"No account {actor_id}.")
    return actor


async def get_accounts(ctx: Context, actor_ids: Sequence[int]) -> dict[int, Actor]:
    """Return live accounts by id; unknown ids are left out."""
    if not actor_ids:
        return {}
    async with ctx.sessions() as session:
        rows = await session.scalars(
            select(Actor).where(Actor.id.in_(list(actor_ids)), Actor.deleted_at.is_(None))
        )
        return {actor.id: actor for actor in rows.all()}


async def account_stats(ctx: Context, actor_ids: Sequence[int]) -> dict[int, AccountStats]:
    """Count followers, follows and posts of many accounts in three queries."""
    ids = list(dict.fromkeys(actor_ids))
    if not ids:
        return {}
    async with ctx.sessions() as session:
        followers = _pairs(
            await session.execute(
                select(Follow.followee_id, func.count())
                .where(Follow.followee_id.in_(ids), Follow.state == ACCEPTED)
                .group_by(Follow.followee_id)
            )
        )
        following = _pairs(
            await session.execute(
                select(Follow.follower_id, func.count())
                .where(Follow.follower_id.in_(ids), Follow.state == ACCEPTED)
                .group_by(Follow.follower_id)
            )
        )
        posts = {
            author: (count, last)
            for author, count, last in (
                await session.execute(
                    select(Post.author_id, func.count(), func.max(Post.published_at))
                    .where(Post.author_id.in_(ids), Post.deleted_at.is_(None))
                    .group_by(Post.author_id)
                )
            ).all()
        }
        fields = await _profile_fields(session, ids)
    return {
        actor_id: AccountStats(
            followers=int(followers.get(actor_id, 0)),
            following=int(following.get(actor_id, 0)),
            statuses=int(posts.get(actor_id, (0, None))[0]),
            last_status_at=posts.get(actor_id, (0, None))[1],
            fields=fields.get(actor_id, ()),
        )
        for actor_id in ids
    }


async def _profile_fields(
    session: AsyncSession, ids: list[int]
) -> dict[int, tuple[tuple[str, str], ...]]:
    """Return profile fields of many accounts: local from profiles, remote from documents."""
    result: dict[int, tuple[tuple[str, str], ...]] = {}
    for profile in await session.scalars(select(Profile).where(Profile.actor_id.in_(ids))):
        attachment, _ = profile_fields(profile)
        result[profile.actor_id] = tuple((a["name"], a["value"]) for a in attachment)
    remote = await session.execute(
        select(Actor.id, Actor.raw).where(
            Actor.id.in_(ids), Actor.local.is_(False), Actor.raw.is_not(None)
        )
    )
    for actor_id, raw in remote.all():
        try:
            parsed = parse_actor(raw)
        except ParseError:
            continue
        result[actor_id] = tuple((a.name, a.value_html) for a in parsed.attachments)
    return result


async def relationships(
    ctx: Context, viewer_id: int, target_ids: Sequence[int]
) -> dict[int, Relationship]:
    """Return the viewer's relationship with each target (follows both ways, blocks)."""
    ids = list(dict.fromkeys(target_ids))
    if not ids:
        return {}
    async with ctx.sessions() as session:
        outgoing = _pairs(
            await session.execute(
                select(Follow.followee_id, Follow.state).where(
                    Follow.follower_id == viewer_id, Follow.followee_id.in_(ids)
                )
            )
        )
        incoming = _pairs(
            await session.execute(
                select(Follow.follower_id, Follow.state).where(
                    Follow.followee_id == viewer_id, Follow.follower_id.in_(ids)
                )
            )
        )
        blocks = (
            await session.execute(
                select(ActorBlock.blocker_id, ActorBlock.blocked_id).where(
                    or_(
                        (ActorBlock.blocker_id == viewer_id) & ActorBlock.blocked_id.in_(ids),
                        (ActorBlock.blocked_id == viewer_id) & ActorBlock.blocker_id.in_(ids),
                    )
                )
            )
        ).all()
    blocking = {blocked for blocker, blocked in blocks if blocker == viewer_id}
    blocked_by = {blocker for blocker, blocked in blocks if blocked == viewer_id}
    return {
        target: Relationship(
            following=outgoing.get(target) == ACCEPTED,
            requested=outgoing.get(target) == PENDING,
            followed_by=incoming.get(target) == ACCEPTED,
            requested_by=incoming.get(target) == PENDING,
            blocking=target in blocking,
            blocked_by=target in blocked_by,
        )
        for target in ids
    }


def _paged_follows(query: Select[int, Actor], page: Page) -> Select[int, Actor]:
    if page.max_id is not None:
        query = query.where(Follow.id < page.max_id)
    if page.since_id is not None:
        query = query.where(Follow.id > page.since_id)
    limit = max(1, min(page.limit, MAX_FOLLOW_PAGE))
    if page.min_id is not None:
        return query.where(Follow.id > page.min_id).order_by(Follow.id.asc()).limit(limit)
    return query.order_by(Follow.id.desc()).limit(limit)


async def _follow_page(
    ctx: Context, query: Select[int, Actor], page: Page
) -> list[tuple[int, Actor]]:
    async with ctx.sessions() as session:
        rows = [
            (follow_id, actor)
            for follow_id, actor in (await session.execute(_paged_follows(query, page))).all()
        ]
    if page.min_id is not None:
        rows.reverse()
    return rows


async def followers_page(ctx: Context, actor_id: int, page: Page) -> list[tuple[int, Actor]]:
    """Return (follow id, follower) pairs of accepted follows, newest first."""
    query = (
        select(Follow.id, Actor)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == actor_id, Follow.state == ACCEPTED, Actor.deleted_at.is_(None))
    )
    return await _follow_page(ctx, query, page)


async def following_page(ctx: Context, actor_id: int, page: Page) -> list[tuple[int, Actor]]:
    """Return (follow id, followee) pairs of accepted follows, newest first."""
    query = (
        select(Follow.id, Actor)
        .join(Actor, Actor.id == Follow.followee_id)
        .where(Follow.follower_id == actor_id, Follow.state == ACCEPTED, Actor.deleted_at.is_(None))
    )
    return await _follow_page(ctx, query, page)


async def requests_page(ctx: Context, actor_id: int, page: Page) -> list[tuple[int, Actor]]:
    """Return (follow id, requester) pairs of follow requests waiting for approval."""
    query = (
        select(Follow.id, Actor)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == actor_id, Follow.state == PENDING, Actor.deleted_at.is_(None))
    )
    return await _follow_page(ctx, query, page)


def _split_acct(ctx: Context, acct: str) -> tuple[str, str | None]:
    """Split `user`, `@user`, `user@host` or `@user@host`; our own host counts as local."""
    username, _, host = acct.strip().lstrip("@").partition("@")
    if not host or host.lower() in (ctx.domain.lower(), ctx.uris.host.lower()):
        return username, None
    return username, host.lower()


async def lookup(ctx: Context, acct: str) -> Actor:
    """Find a known account by handle without asking any other server (raise NotFound)."""
    username, host = _split_acct(ctx, acct)
    async with ctx.sessions() as session:
        if host is None:
            actor = await actor_queries.get_local_by_name(session, username)
        else:
            actor = await actor_queries.get_by_handle(session, username, host)
    if actor is None or actor.deleted_at is not None or actor.kind == "Application":
        raise NotFound(f"No account {acct!r} is known here.")
    return actor


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


async def find_accounts(ctx: Context, text: str, *, limit: int, offset: int = 0) -> list[Actor]:
    """Return known accounts whose handle or display name starts with `text`, local first."""
    username, host = _split_acct(ctx, text)
    if not username:
        return []
    pattern = _like_prefix(username.lower())
    query = select(Actor).where(
        Actor.deleted_at.is_(None),
        Actor.kind != "Application",
        or_(
            Actor.username_key.like(pattern, escape="\\"),
            func.lower(Actor.display_name).like(pattern, escape="\\"),
        ),
    )
    if host is not None:
        query = query.where(Actor.domain.like(_like_prefix(host), escape="\\"))
    query = query.order_by(Actor.local.desc(), Actor.username_key, Actor.id)
    async with ctx.sessions() as session:
        rows = await session.scalars(query.offset(max(0, offset)).limit(min(limit, MAX_LIMIT)))
        return list(rows.all())


async def find_tags(ctx: Context, text: str, *, limit: int, offset: int = 0) -> list[str]:
    """Return hashtags in use that start with `text` (without '#')."""
    name = text.strip().lstrip("#").lower()
    if not name:
        return []
    async with ctx.sessions() as session:
        rows = await session.scalars(
            select(PostTag.tag)
            .distinct()
            .where(PostTag.tag.like(_like_prefix(name), escape="\\"))
            .order_by(PostTag.tag)
            .offset(max(0, offset))
            .limit(min(limit, MAX_LIMIT))
        )
        return list(rows.all())


async def reply_authors(ctx: Context, post_ids: Sequence[int]) -> dict[int, int]:
    """Return the author id of each of these (replied-to) posts."""
    ids = list(dict.fromkeys(post_ids))
    if not ids:
        return {}
    async with ctx.sessions() as session:
        return _pairs(
            await session.execute(select(Post.id, Post.author_id).where(Post.id.in_(ids)))
        )


async def count_known_domains(ctx: Context) -> int:
    """Count the other servers we know accounts on."""
    async with ctx.sessions() as session:
        count = await session.scalar(
            select(func.count(distinct(Actor.domain))).where(Actor.local.is_(False))
        )
    return int(count or 0)


async def contact_account(ctx: Context) -> Actor | None:
    """Return the first admin's account, shown as the instance's contact."""
    async with ctx.sessions() as session:
        return await session.scalar(
            select(Actor)
            .join(User, User.actor_id == Actor.id)
            .where(User.is_admin.is_(True), Actor.deleted_at.is_(None))
            .order_by(User.id)
            .limit(1)
        )


async def follow_request_count(ctx: Context, actor_id: int) -> int:
    """Count follow requests waiting for an account's approval."""
    async with ctx.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Follow)
            .where(Follow.followee_id == actor_id, Follow.state == PENDING)
        )
    return int(count or 0)


async def known_account_by_uri(ctx: Context, uri: str) -> Actor | None:
    """Return a live account we already know by its IRI or profile URL (no fetching)."""
    async with ctx.sessions() as session:
        return await session.scalar(
            select(Actor)
            .where(or_(Actor.uri == uri, Actor.url == uri), Actor.deleted_at.is_(None))
            .order_by(Actor.local.desc())
            .limit(1)
        )


async def known_post_id(ctx: Context, uri: str) -> int | None:
    """Return the id of a post we already have by its IRI or URL (no fetching)."""
    async with ctx.sessions() as session:
        post_id = await session.scalar(
            select(Post.id)
            .where(or_(Post.uri == uri, Post.url == uri), Post.boost_of_id.is_(None))
            .limit(1)
        )
    return int(post_id) if post_id is not None else None
