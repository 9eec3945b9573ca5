"""Likes and boosts, given and received, with their counts kept right.

A boost is stored as a post of the booster that points at the boosted post (`boost_of_id`),
whose uri is the Announce's id; a like is a row in `likes`. Outgoing ones are delivered to the
post's author (and, for boosts, to the booster's followers); `Undo` takes them back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.builders import build_announce, build_like, build_undo
from fediverse.activitypub.vocab import PUBLIC
from fediverse.errors import NotFound, Unprocessable
from fediverse.ids import new_id
from fediverse.outbox.audience import FanOut, add_addressed_actors, followers_fan_out
from fediverse.outbox.publish import publish_fan_out
from fediverse.services import notifications
from fediverse.services.context import Context
from fediverse.services.converters.posts import format_time
from fediverse.services.visibility import can_see
from fediverse.store import actors as actor_queries
from fediverse.store import posts as post_queries
from fediverse.store.tables import Actor, Like, Post
from fediverse.store.types import utcnow


async def _actor_and_post(
    session: AsyncSession, actor_name: str, post_id: int
) -> tuple[Actor, Post, Actor]:
    actor = await actor_queries.get_local_by_name(session, actor_name)
    if actor is None or actor.deleted_at is not None:
        raise NotFound(f"No local account called {actor_name!r}.")
    post = await session.get(Post, post_id)
    if post is not None and post.boost_of_id is not None:
        post = await session.get(Post, post.boost_of_id)
    if post is None or not await can_see(session, post, actor.id):
        raise NotFound(f"No post {post_id}.")
    author = await session.get(Actor, post.author_id)
    assert author is not None
    return actor, post, author


async def _send_to(
    session: AsyncSession,
    ctx: Context,
    sender: Actor,
    activity_id: int,
    activity: dict[str, object],
    fan_out: FanOut,
    *,
    public: bool = False,
) -> None:
    await publish_fan_out(
        session,
        ctx.uris,
        activity_id=activity_id,
        sender_id=sender.id,
        activity=activity,
        fan_out=fan_out,
        public=public,
    )


def _followers(ctx: Context, actor: Actor) -> str:
    return actor.followers_url or ctx.uris.actor_collection(actor.uri, "followers")


async def _like_audience(session: AsyncSession, actor: Actor, author: Actor) -> FanOut:
    """Send a like to the post's author and, as Pleroma does, to the liker's followers: servers
    that follow the liker then count it too, so counts agree across the conversation."""
    fan_out = await followers_fan_out(session, actor.id)
    add_addressed_actors(fan_out, [author])
    return fan_out


async def like(ctx: Context, actor_name: str, post_id: int) -> Post:
    """Favourite a post (idempotent) and tell its author."""
    async with ctx.sessions() as session:
        actor, post, author = await _actor_and_post(session, actor_name, post_id)
        existing = await session.scalar(
            select(Like).where(Like.actor_id == actor.id, Like.post_id == post.id)
        )
        if existing is None:
            activity_id = new_id()
            uri = ctx.uris.activity(activity_id)
            session.add(Like(uri=uri, actor_id=actor.id, post_id=post.id))
            await post_queries.bump(session, post.id, "likes_count", 1)
            await notifications.notify(session, author, "favourite", actor, post)
            activity = build_like(
                uri, actor.uri, post.uri, to=[author.uri], cc=[_followers(ctx, actor)]
            )
            fan_out = await _like_audience(session, actor, author)
            await _send_to(session, ctx, actor, activity_id, activity, fan_out)
            await session.commit()
            ctx.notify()
        return post


async def unlike(ctx: Context, actor_name: str, post_id: int) -> Post:
    """Take a favourite back (idempotent) and send `Undo` of the `Like`."""
    async with ctx.sessions() as session:
        actor, post, author = await _actor_and_post(session, actor_name, post_id)
        existing = await session.scalar(
            select(Like).where(Like.actor_id == actor.id, Like.post_id == post.id)
        )
        if existing is not None:
            original = build_like(
                existing.uri or ctx.uris.activity(existing.id),
                actor.uri,
                post.uri,
                to=[author.uri],
                cc=[_followers(ctx, actor)],
            )
            await session.delete(existing)
            await post_queries.bump(session, post.id, "likes_count", -1)
            activity_id = new_id()
            fan_out = await _like_audience(session, actor, author)
            await _send_to(
                session,
                ctx,
                actor,
                activity_id,
                build_undo(ctx.uris.activity(activity_id), actor.uri, original),
                fan_out,
            )
            await session.commit()
            ctx.notify()
        return post


async def boost(ctx: Context, actor_name: str, post_id: int) -> Post:
    """Boost a public post (idempotent); return the boost, a post of the booster's own."""
    async with ctx.sessions() as session:
        actor, post, author = await _actor_and_post(session, actor_name, post_id)
        if post.visibility not in ("public", "unlisted"):
            raise Unprocessable("Only public and unlisted posts can be boosted.")
        existing = await session.scalar(
            select(Post).where(
                Post.author_id == actor.id, Post.boost_of_id == post.id, Post.deleted_at.is_(None)
            )
        )
        if existing is not None:
            return existing
        boost_post = await record_boost(session, ctx, actor, post, author)
        await session.commit()
    ctx.notify()
    return boost_post


async def record_boost(
    session: AsyncSession, ctx: Context, booster: Actor, post: Post, author: Actor
) -> Post:
    """Store a local actor's boost of a post and queue its Announce to the booster's followers
    and the post's author, in the caller's transaction (people's boosts, groups' announces)."""
    activity_id = new_id()
    uri = ctx.uris.activity(activity_id)
    to, cc = [PUBLIC], [_followers(ctx, booster), author.uri]
    now = utcnow()
    boost_post = Post(
        id=activity_id,
        uri=uri,
        url=uri,
        author_id=booster.id,
        local=True,
        type="Announce",
        boost_of_id=post.id,
        visibility="public",
        to=to,
        cc=cc,
        published_at=now,
    )
    session.add(boost_post)
    await post_queries.bump(session, post.id, "boosts_count", 1)
    await notifications.notify(session, author, "reblog", booster, post)
    activity = build_announce(uri, booster.uri, post.uri, to=to, cc=cc, published=format_time(now))
    fan_out = await followers_fan_out(session, booster.id)
    add_addressed_actors(fan_out, [author])
    await _send_to(session, ctx, booster, activity_id, activity, fan_out, public=True)
    return boost_post


async def unboost(ctx: Context, actor_name: str, post_id: int) -> Post:
    """Take a boost back (idempotent) and send `Undo` of the `Announce`; return the post."""
    async with ctx.sessions() as session:
        actor, post, author = await _actor_and_post(session, actor_name, post_id)
        existing = await session.scalar(
            select(Post).where(
                Post.author_id == actor.id, Post.boost_of_id == post.id, Post.deleted_at.is_(None)
            )
        )
        if existing is not None:
            original = build_announce(
                existing.uri,
                actor.uri,
                post.uri,
                to=list(existing.to),
                cc=list(existing.cc),
                published=format_time(existing.published_at),
            )
            existing.deleted_at = utcnow()
            await post_queries.bump(session, post.id, "boosts_count", -1)
            activity_id = new_id()
            fan_out = await followers_fan_out(session, actor.id)
            add_addressed_actors(fan_out, [author])
            await _send_to(
                session,
                ctx,
                actor,
                activity_id,
                build_undo(ctx.uris.activity(activity_id), actor.uri, original),
                fan_out,
            )
            await session.commit()
            ctx.notify()
        return post


async def liked_by(ctx: Context, post_id: int) -> list[Actor]:
    async with ctx.sessions() as session:
        rows = await session.scalars(
            select(Actor)
            .join(Like, Like.actor_id == Actor.id)
            .where(Like.post_id == post_id)
            .order_by(Like.id)
        )
        return list(rows.all())


async def boosted_by(ctx: Context, post_id: int) -> list[Actor]:
    async with ctx.sessions() as session:
        rows = await session.scalars(
            select(Actor)
            .join(Post, Post.author_id == Actor.id)
            .where(Post.boost_of_id == post_id, Post.deleted_at.is_(None))
            .order_by(Post.id)
        )
        return list(rows.all())
