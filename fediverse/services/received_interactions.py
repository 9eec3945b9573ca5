"""Likes and boosts that other servers send us, with counts and notifications kept right."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fediverse.activitypub.parse import ActivityDoc
from fediverse.errors import Forbidden
from fediverse.ids import id_at
from fediverse.services import notifications, remote_posts
from fediverse.services.context import Context
from fediverse.services.visibility import PUBLIC_VISIBILITIES
from fediverse.store import posts as post_queries
from fediverse.store.follows import ACCEPTED
from fediverse.store.tables import Actor, Follow, Like, Post
from fediverse.store.types import utcnow


async def receive_like(ctx: Context, actor: Actor, target_iri: str, like_uri: str) -> bool:
    """Count a remote like of a post we have (idempotent); False when we do not have it."""
    async with ctx.sessions() as session:
        post = await session.scalar(
            select(Post).where(Post.uri == target_iri, Post.deleted_at.is_(None))
        )
        if post is None:
            return False
        exists = await session.scalar(
            select(Like.id).where(Like.actor_id == actor.id, Like.post_id == post.id)
        )
        if exists is not None:
            return True
        session.add(Like(uri=like_uri, actor_id=actor.id, post_id=post.id))
        await post_queries.bump(session, post.id, "likes_count", 1)
        await notifications.notify(
            session, await session.get(Actor, post.author_id), "favourite", actor, post
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()  # the same like arrived twice at once
    return True


async def undo_like(
    ctx: Context, actor: Actor, like_uri: str | None, target_iri: str | None
) -> bool:
    async with ctx.sessions() as session:
        like = None
        if like_uri:
            like = await session.scalar(
                select(Like).where(Like.uri == like_uri, Like.actor_id == actor.id)
            )
        if like is None and target_iri:
            like = await session.scalar(
                select(Like)
                .join(Post, Post.id == Like.post_id)
                .where(Post.uri == target_iri, Like.actor_id == actor.id)
            )
        if like is None:
            return False
        post = await session.get(Post, like.post_id)
        if post is not None:
            await post_queries.bump(session, post.id, "likes_count", -1)
        await session.delete(like)
        await session.commit()
    return True


async def _booster_is_followed(ctx: Context, actor: Actor) -> bool:
    async with ctx.sessions() as session:
        found = await session.scalar(
            select(Follow.id)
            .join(Actor, Actor.id == Follow.follower_id)
            .where(Follow.followee_id == actor.id, Follow.state == ACCEPTED, Actor.local.is_(True))
            .limit(1)
        )
    return found is not None


async def receive_announce(
    ctx: Context, actor: Actor, target_iri: str, activity: ActivityDoc
) -> bool:
    """Store a remote boost of a post: ours, or (when someone here follows the booster) any
    post, fetched from its own server so an embedded copy is never trusted."""
    async with ctx.sessions() as session:
        known = await session.scalar(select(Post).where(Post.uri == activity.id))
    if known is not None:
        return True
    target_is_ours = ctx.uris.is_local(target_iri)
    if not target_is_ours and not await _booster_is_followed(ctx, actor):
        return False
    fetched = await remote_posts.fetch_post(ctx, target_iri)
    async with ctx.sessions() as session:
        target = await session.get(Post, fetched.id)
        if target is None or target.deleted_at is not None:
            return False
        if target.visibility not in PUBLIC_VISIBILITIES:
            # Only its author's addressees may read it; a boost must not widen that audience.
            raise Forbidden(f"{target_iri} is not public, so it cannot be boosted.")
        session.add(
            Post(
                id=id_at(activity.published or utcnow()),
                uri=activity.id,
                url=activity.id,
                author_id=actor.id,
                local=False,
                type="Announce",
                boost_of_id=target.id,
                visibility=remote_posts.visibility_of_addressing(activity.to, activity.cc, actor),
                to=list(activity.to),
                cc=list(activity.cc),
                published_at=activity.published or utcnow(),
            )
        )
        await post_queries.bump(session, target.id, "boosts_count", 1)
        await notifications.notify(
            session, await session.get(Actor, target.author_id), "reblog", actor, target
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
    return True


async def undo_announce(ctx: Context, actor: Actor, announce_uri: str) -> bool:
    return await remote_posts.apply_delete(ctx, actor, announce_uri)
