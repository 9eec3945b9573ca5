"""Timelines: chronological, complete, unranked.

Home is every post and boost by the people and groups someone follows (and their own), newest
first. Nothing is scored, hidden or dropped: that is the product's promise, and a test holds it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.services.context import Context
from fediverse.services.visibility import visible_to
from fediverse.store.follows import ACCEPTED
from fediverse.store.tables import Actor, Follow, Like, Mention, Post, PostTag

MAX_LIMIT = 40


@dataclass(frozen=True)
class Page:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20


@dataclass
class TimelineEntry:
    post: Post
    author: Actor
    boost_of: Post | None = None
    boost_of_author: Actor | None = None
    favourited: bool = False
    reblogged: bool = False
    mentions: list[Actor] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @property
    def shown(self) -> Post:
        """Return the post whose content is displayed (the boosted one for a boost)."""
        return self.boost_of or self.post


def _paged(query: Select[Any], page: Page) -> Select[Any]:
    if page.max_id is not None:
        query = query.where(Post.id < page.max_id)
    if page.since_id is not None:
        query = query.where(Post.id > page.since_id)
    limit = max(1, min(page.limit, MAX_LIMIT))
    if page.min_id is not None:
        return query.where(Post.id > page.min_id).order_by(Post.id.asc()).limit(limit)
    return query.order_by(Post.id.desc()).limit(limit)


async def _entries(
    session: AsyncSession, posts: Sequence[Post], viewer_id: int | None, page: Page
) -> list[TimelineEntry]:
    """Load authors, boosted posts, viewer flags, mentions and tags for a page in a few queries."""
    ordered = list(posts)
    if page.min_id is not None:
        ordered.reverse()  # fetched oldest-first to page forward; shown newest-first
    boosted_ids = {p.boost_of_id for p in ordered if p.boost_of_id is not None}
    boosted = (
        {
            p.id: p
            for p in (await session.scalars(select(Post).where(Post.id.in_(boosted_ids)))).all()
        }
        if boosted_ids
        else {}
    )
    shown_ids = [p.boost_of_id or p.id for p in ordered]
    author_ids = {p.author_id for p in ordered} | {p.author_id for p in boosted.values()}
    authors = (
        {
            a.id: a
            for a in (await session.scalars(select(Actor).where(Actor.id.in_(author_ids)))).all()
        }
        if author_ids
        else {}
    )
    liked: set[int] = set()
    reblogged: set[int] = set()
    if viewer_id is not None and shown_ids:
        liked = set(
            (
                await session.scalars(
                    select(Like.post_id).where(
                        Like.actor_id == viewer_id, Like.post_id.in_(shown_ids)
                    )
                )
            ).all()
        )
        boosted_by_viewer = await session.scalars(
            select(Post.boost_of_id).where(
                Post.author_id == viewer_id,
                Post.boost_of_id.in_(shown_ids),
                Post.deleted_at.is_(None),
            )
        )
        reblogged = {post_id for post_id in boosted_by_viewer.all() if post_id is not None}
    mentions: dict[int, list[Actor]] = defaultdict(list)
    tags: dict[int, list[str]] = defaultdict(list)
    if shown_ids:
        for post_id, actor in (
            await session.execute(
                select(Mention.post_id, Actor)
                .join(Actor, Actor.id == Mention.actor_id)
                .where(Mention.post_id.in_(shown_ids))
            )
        ).all():
            mentions[post_id].append(actor)
        for post_id, tag in (
            await session.execute(
                select(PostTag.post_id, PostTag.tag).where(PostTag.post_id.in_(shown_ids))
            )
        ).all():
            tags[post_id].append(tag)
    entries = []
    for post in ordered:
        original = boosted.get(post.boost_of_id) if post.boost_of_id else None
        shown = original or post
        entries.append(
            TimelineEntry(
                post=post,
                author=authors[post.author_id],
                boost_of=original,
                boost_of_author=authors.get(original.author_id) if original else None,
                favourited=shown.id in liked,
                reblogged=shown.id in reblogged,
                mentions=mentions[shown.id],
                tags=tags[shown.id],
            )
        )
    return entries


async def entries_for(
    ctx: Context, posts: Sequence[Post], viewer_id: int | None
) -> list[TimelineEntry]:
    """Return timeline entries for given posts (single statuses, threads), in the given order."""
    async with ctx.sessions() as session:
        return await _entries(session, posts, viewer_id, Page())


async def home(ctx: Context, viewer_actor_id: int, page: Page) -> list[TimelineEntry]:
    """Return the viewer's home timeline: everyone they follow, and themselves, newest first."""
    followed = select(Follow.followee_id).where(
        Follow.follower_id == viewer_actor_id, Follow.state == ACCEPTED
    )
    query = select(Post).where(
        or_(Post.author_id == viewer_actor_id, Post.author_id.in_(followed)),
        visible_to(viewer_actor_id),
    )
    async with ctx.sessions() as session:
        posts = (await session.scalars(_paged(query, page))).all()
        return await _entries(session, posts, viewer_actor_id, page)


async def public(
    ctx: Context, page: Page, *, local_only: bool = False, viewer_actor_id: int | None = None
) -> list[TimelineEntry]:
    """Return public posts (not boosts), all known or only this instance's."""
    query = select(Post).where(
        Post.visibility == "public", Post.boost_of_id.is_(None), visible_to(None)
    )
    if local_only:
        query = query.where(Post.local.is_(True))
    async with ctx.sessions() as session:
        posts = (await session.scalars(_paged(query, page))).all()
        return await _entries(session, posts, viewer_actor_id, page)


async def tag(
    ctx: Context, name: str, page: Page, *, viewer_actor_id: int | None = None
) -> list[TimelineEntry]:
    """Return public posts carrying a hashtag."""
    query = (
        select(Post)
        .join(PostTag, PostTag.post_id == Post.id)
        .where(
            PostTag.tag == name.lower().lstrip("#"),
            Post.visibility == "public",
            visible_to(None),
        )
    )
    async with ctx.sessions() as session:
        posts = (await session.scalars(_paged(query, page))).all()
        return await _entries(session, posts, viewer_actor_id, page)


async def profile(
    ctx: Context,
    actor_id: int,
    viewer_actor_id: int | None,
    page: Page,
    exclude_replies: bool = False,
) -> list[TimelineEntry]:
    """Return one actor's posts and boosts that the viewer may see."""
    query = select(Post).where(Post.author_id == actor_id, visible_to(viewer_actor_id))
    if exclude_replies:
        query = query.where(Post.in_reply_to_uri.is_(None))
    async with ctx.sessions() as session:
        posts = (await session.scalars(_paged(query, page))).all()
        return await _entries(session, posts, viewer_actor_id, page)
