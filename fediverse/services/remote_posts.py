"""Posts from other servers: store what concerns us, fetch on demand, apply edits and deletes.

A remote post is kept when someone here follows its author (or the group it was posted to), when
it mentions or addresses someone here, or when it replies to a post we have: that is what
timelines, notifications and threads need, and it keeps a busy relay from filling the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.client import FetchError
from fediverse.activitypub.origin import host_of
from fediverse.activitypub.parse import ObjectDoc, ParseError, parse_object
from fediverse.activitypub.vocab import PUBLIC_ALIASES
from fediverse.errors import FediverseError, NotFound, Unprocessable
from fediverse.ids import id_at
from fediverse.services import groups, notifications, remote_actors
from fediverse.services.context import Context
from fediverse.store import fetch_attempts
from fediverse.store import posts as post_queries
from fediverse.store.follows import ACCEPTED
from fediverse.store.tables import Actor, Follow, Mention, Post, PostEdit, PostTag
from fediverse.store.types import utcnow

log = logging.getLogger(__name__)

STORED_TYPES = frozenset(
    {"Note", "Article", "Page", "Question", "Video", "Image", "Audio", "Event", "ChatMessage"}
)


def visibility_of(doc: ObjectDoc, author: Actor) -> str:
    """Derive Mastodon's visibility from an object's addressing."""
    return visibility_of_addressing(doc.to, doc.cc, author)


def visibility_of_addressing(to_iris: Sequence[str], cc_iris: Sequence[str], author: Actor) -> str:
    """Derive Mastodon's visibility from `to` and `cc` (of an object or an Announce)."""
    to, cc = set(to_iris), set(cc_iris)
    if to & PUBLIC_ALIASES:
        return "public"
    if cc & PUBLIC_ALIASES:
        return "unlisted"
    if author.followers_url and author.followers_url in to | cc:
        return "followers"
    return "direct"


def _content(doc: ObjectDoc) -> str:
    # Lemmy pages and PeerTube videos carry a title; Mastodon renders name + link for them.
    if doc.type in ("Page", "Video", "Event") and doc.name and not doc.content_html:
        return f"<p>{doc.name}</p>"
    return doc.content_html


async def _local_actor_ids(session: AsyncSession, iris: Sequence[str]) -> list[Actor]:
    if not iris:
        return []
    rows = await session.scalars(
        select(Actor).where(Actor.uri.in_(list(iris)), Actor.local.is_(True))
    )
    return list(rows.all())


async def is_relevant(session: AsyncSession, doc: ObjectDoc, author: Actor) -> bool:
    """Tell whether anyone here needs this post (see module docstring)."""
    audience_iris = {author.id}
    followed = await session.scalar(
        select(Follow.id)
        .join(Actor, Actor.id == Follow.follower_id)
        .where(
            Follow.followee_id.in_(audience_iris), Follow.state == ACCEPTED, Actor.local.is_(True)
        )
        .limit(1)
    )
    if followed is not None:
        return True
    addressed = [*doc.to, *doc.cc, *doc.audience, *(m.href for m in doc.mentions)]
    if await _local_actor_ids(session, addressed):
        return True
    groups = await session.scalar(
        select(Follow.id)
        .join(Actor, Actor.id == Follow.followee_id)
        .where(Actor.uri.in_(list(doc.audience) or [""]), Follow.state == ACCEPTED)
        .limit(1)
    )
    if groups is not None:
        return True
    if doc.in_reply_to:
        return await session.scalar(select(Post.id).where(Post.uri == doc.in_reply_to)) is not None
    return False


async def store_post(
    ctx: Context, doc: ObjectDoc, author: Actor, *, force: bool = False
) -> Post | None:
    """Store a remote post (idempotent); None when nobody here needs it and not `force`d."""
    if doc.type not in STORED_TYPES:
        raise Unprocessable(f"{doc.type} objects are not stored as posts.")
    if host_of(doc.id) != host_of(author.uri):
        raise Unprocessable(f"{doc.id} is not on its author's server.")
    async with ctx.sessions() as session:
        existing = await session.scalar(select(Post).where(Post.uri == doc.id))
        if existing is not None:
            return existing
        if not force and not await is_relevant(session, doc, author):
            return None
        parent = (
            await session.scalar(select(Post).where(Post.uri == doc.in_reply_to))
            if doc.in_reply_to
            else None
        )
        post = Post(
            id=id_at(doc.published or utcnow()),
            uri=doc.id,
            url=doc.url or doc.id,
            author_id=author.id,
            local=False,
            type=doc.type,
            name=doc.name,
            summary=doc.summary,
            sensitive=doc.sensitive,
            content_html=_content(doc),
            language=doc.language,
            visibility=visibility_of(doc, author),
            in_reply_to_uri=doc.in_reply_to,
            in_reply_to_id=parent.id if parent else None,
            conversation=doc.conversation or (parent.conversation if parent else doc.id),
            to=list(doc.to),
            cc=list(doc.cc),
            raw=doc.raw,
            published_at=doc.published or utcnow(),
            edited_at=doc.updated,
        )
        session.add(post)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            return await session.scalar(select(Post).where(Post.uri == doc.id))
        mentioned = await _known_actors(session, [m.href for m in doc.mentions])
        for actor in mentioned:
            session.add(Mention(post_id=post.id, actor_id=actor.id))
        for tag in dict.fromkeys(t.lower().lstrip("#") for t in doc.hashtags if t):
            session.add(PostTag(post_id=post.id, tag=tag[:255]))
        if parent is not None:
            await post_queries.bump(session, parent.id, "replies_count", 1)
        await notifications.for_new_post(session, post, author, mentioned, parent)
        addressed = await groups.local_groups_addressed(
            session, [*doc.to, *doc.cc, *doc.audience, *(m.href for m in doc.mentions)]
        )
        await groups.announce_to_members(session, ctx, post, author, addressed)
        await session.commit()
        if addressed:
            ctx.notify()
        return post


async def _known_actors(session: AsyncSession, iris: Sequence[str]) -> list[Actor]:
    if not iris:
        return []
    return list((await session.scalars(select(Actor).where(Actor.uri.in_(list(iris))))).all())


async def fetch_post(ctx: Context, iri: str) -> Post:
    """Return a post by IRI: ours, already stored, or fetched from its server now."""
    async with ctx.sessions() as session:
        known = await session.scalar(select(Post).where(Post.uri == iri))
    if known is not None:
        return known
    if ctx.uris.is_local(iri):
        raise NotFound(f"No post at {iri}.")
    try:
        raw = await ctx.http.fetch_json(iri)
        doc = parse_object(raw)
    except FetchError as exc:
        raise NotFound(f"Could not fetch {iri}: {exc.reason}") from exc
    except ParseError as exc:
        raise Unprocessable(f"{iri} is not a post: {exc}") from exc
    if not doc.attributed_to:
        raise Unprocessable(f"{iri} has no author.")
    author = await remote_actors.get_actor(ctx, doc.attributed_to)
    stored = await store_post(ctx, doc, author, force=True)
    assert stored is not None
    return stored


async def fetch_post_for_reader(ctx: Context, iri: str) -> Post | None:
    """Return a post by IRI for someone reading a thread: stored, or fetched now; None when it
    cannot be had. Its server is asked at most once per `failed_fetch_retry_minutes`, however
    many readers (anonymous ones included) ask: a failure is remembered until then."""
    now = utcnow()
    async with ctx.sessions() as session:
        known = await session.scalar(select(Post).where(Post.uri == iri))
        if known is not None or await fetch_attempts.waiting(session, iri, now=now):
            return known
        retry_at = now + timedelta(minutes=ctx.config.federation.failed_fetch_retry_minutes)
        claimed = await fetch_attempts.claim(session, iri, now=now, until=retry_at)
        await session.commit()
    if not claimed:
        return None  # another reader's fetch is in flight, or just failed
    try:
        post = await fetch_post(ctx, iri)
    except FediverseError as exc:
        log.info("fetch for a reader failed", extra={"uri": iri, "reason": exc.message})
        async with ctx.sessions() as session:
            await fetch_attempts.record_failure(session, iri, exc.message)
            await session.commit()
        return None
    async with ctx.sessions() as session:
        await fetch_attempts.forget(session, iri)
        await session.commit()
    return post


async def apply_update(ctx: Context, doc: ObjectDoc, actor: Actor) -> bool:
    """Apply a remote edit, keeping the previous version; False if we do not have the post.

    An edit we already have (the same document again, or one not newer than our copy) changes
    nothing: re-applying an Update must not record the same version twice.
    """
    async with ctx.sessions() as session:
        post = await session.scalar(select(Post).where(Post.uri == doc.id))
        if post is None or post.author_id != actor.id or post.deleted_at is not None:
            return False
        stale = (
            post.edited_at is not None and doc.updated is not None and doc.updated <= post.edited_at
        )
        if doc.raw == post.raw or stale:
            return True
        session.add(
            PostEdit(
                post_id=post.id,
                content_html=post.content_html,
                summary=post.summary,
                name=post.name,
                sensitive=post.sensitive,
                created_at=post.edited_at or post.published_at,
            )
        )
        post.content_html = _content(doc)
        post.summary, post.name, post.sensitive = doc.summary, doc.name, doc.sensitive
        post.edited_at = doc.updated or utcnow()
        post.raw = doc.raw
        await session.commit()
    return True


async def apply_delete(ctx: Context, actor: Actor, object_id: str) -> bool:
    """Delete a remote post (or boost) on its author's word; False if we do not have it."""
    async with ctx.sessions() as session:
        post = await session.scalar(
            select(Post).where(Post.uri == object_id, Post.author_id == actor.id)
        )
        if post is None or post.deleted_at is not None:
            return False
        post.deleted_at = utcnow()
        post.content_html = ""
        target_id = post.in_reply_to_id or post.boost_of_id
        if target_id is not None:
            target = await session.get(Post, target_id)
            if target is not None:
                if post.boost_of_id is not None:
                    await post_queries.bump(session, target.id, "boosts_count", -1)
                else:
                    await post_queries.bump(session, target.id, "replies_count", -1)
        await session.commit()
    return True


def parse_embedded(obj: object) -> ObjectDoc | None:
    """Parse an embedded object, or None when it is only an IRI or unusable."""
    if not isinstance(obj, dict):
        return None
    try:
        return parse_object(obj)
    except ParseError as exc:
        log.info("unusable embedded object", extra={"reason": str(exc)})
        return None
