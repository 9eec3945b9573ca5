"""Writing and deleting our own posts, and publishing them to every follower.

A post is stored, its Create built, its audience computed and one delivery per inbox queued,
all in one transaction: a post never exists without its deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.builders import build_create, build_delete
from fediverse.activitypub.sanitize import text_to_html
from fediverse.activitypub.vocab import PUBLIC
from fediverse.errors import Forbidden, Gone, NotFound, Unprocessable
from fediverse.ids import new_id
from fediverse.outbox.audience import FanOut, followers_fan_out
from fediverse.outbox.publish import publish
from fediverse.services.context import Context
from fediverse.services.converters.posts import post_to_ap, tombstone_to_ap
from fediverse.store import actors as actor_queries
from fediverse.store.tables import Actor, Post
from fediverse.store.types import utcnow

VISIBILITIES = ("public", "unlisted", "followers", "direct")
MAX_POST_CHARS = 5000


@dataclass(frozen=True)
class NewPost:
    text: str
    visibility: str = "public"
    summary: str | None = None
    sensitive: bool = False
    language: str | None = None
    mentions: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Published:
    post: Post
    activity_id: int
    inboxes: int
    followers_targeted: int


def addressing(
    visibility: str, followers: str, mentioned: list[str]
) -> tuple[list[str], list[str]]:
    """Return (to, cc) exactly as Mastodon addresses each visibility."""
    if visibility == "public":
        return [PUBLIC], [followers, *mentioned]
    if visibility == "unlisted":
        return [followers], [PUBLIC, *mentioned]
    if visibility == "followers":
        return [followers], list(mentioned)
    return list(mentioned), []


async def _author(session: AsyncSession, name: str) -> Actor:
    author = await actor_queries.get_local_by_name(session, name)
    if author is None or author.deleted_at is not None or author.kind == "Application":
        raise NotFound(f"No local account called {name!r}.")
    return author


async def _fan_out(session: AsyncSession, author: Actor, visibility: str) -> FanOut:
    if visibility == "direct":
        return FanOut()
    return await followers_fan_out(session, author.id)


async def create_post(ctx: Context, author_name: str, new: NewPost) -> Published:
    """Store a post by a local actor and queue it for every follower's inbox."""
    text = new.text.strip()
    if not text:
        raise Unprocessable("A post needs some text.")
    if len(text) > MAX_POST_CHARS:
        raise Unprocessable(f"A post may have at most {MAX_POST_CHARS} characters.")
    if new.visibility not in VISIBILITIES:
        raise Unprocessable(f"Visibility must be one of {', '.join(VISIBILITIES)}.")
    async with ctx.sessions() as session:
        author = await _author(session, author_name)
        post_id, activity_id = new_id(), new_id()
        followers = author.followers_url or ctx.uris.actor_collection(author.uri, "followers")
        to, cc = addressing(new.visibility, followers, list(new.mentions))
        post = Post(
            id=post_id,
            uri=ctx.uris.object(post_id),
            author_id=author.id,
            local=True,
            type="Note",
            summary=new.summary or None,
            sensitive=new.sensitive or bool(new.summary),
            content_html=text_to_html(text),
            source=text,
            language=new.language,
            visibility=new.visibility,
            to=to,
            cc=cc,
            published_at=utcnow(),
        )
        post.url = post.uri
        session.add(post)
        fan_out = await _fan_out(session, author, new.visibility)
        activity = build_create(
            ctx.uris.activity(activity_id),
            author.uri,
            post_to_ap(post, author, with_context=False),
            to=to,
            cc=cc,
        )
        _, inboxes = await publish(
            session,
            ctx.uris,
            activity_id=activity_id,
            sender_id=author.id,
            activity=activity,
            targets=fan_out.targets.values(),
            public=new.visibility in ("public", "unlisted"),
            followers_targeted=fan_out.followers_targeted,
        )
        await session.commit()
    ctx.notify()
    return Published(post, activity_id, inboxes, fan_out.followers_targeted)


async def delete_post(ctx: Context, author_name: str, post_id: int) -> Published:
    """Delete one of a local actor's posts and tell everyone who received it."""
    async with ctx.sessions() as session:
        author = await _author(session, author_name)
        post = await session.get(Post, post_id)
        if post is None or post.deleted_at is not None:
            raise NotFound(f"No post {post_id} to delete.")
        if post.author_id != author.id:
            raise Forbidden("Only the author can delete a post.")
        post.deleted_at = utcnow()
        activity_id = new_id()
        tombstone = tombstone_to_ap(post)
        tombstone.pop("@context")
        fan_out = await _fan_out(session, author, post.visibility)
        activity = build_delete(
            ctx.uris.activity(activity_id),
            author.uri,
            tombstone,
            to=list(post.to),
            cc=list(post.cc),
        )
        _, inboxes = await publish(
            session,
            ctx.uris,
            activity_id=activity_id,
            sender_id=author.id,
            activity=activity,
            targets=fan_out.targets.values(),
            followers_targeted=fan_out.followers_targeted,
        )
        await session.commit()
    ctx.notify()
    return Published(post, activity_id, inboxes, fan_out.followers_targeted)


async def load_post_document(ctx: Context, post_id: int) -> tuple[dict[str, Any], int]:
    """Return (document, status) for GET /objects/<id>: the post, or a Tombstone with 410."""
    async with ctx.sessions() as session:
        post = await session.get(Post, post_id)
        if post is None or not post.local:
            raise NotFound(f"No post {post_id} here.")
        if post.deleted_at is not None:
            return tombstone_to_ap(post), Gone.status
        if post.visibility not in ("public", "unlisted"):
            # Followers-only and direct posts are delivered, never served to anonymous fetches.
            raise NotFound(f"No post {post_id} here.")
        author = await session.get(Actor, post.author_id)
        assert author is not None
        return post_to_ap(post, author), 200
