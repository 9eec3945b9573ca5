"""Follows between people and groups, on this instance and across servers.

Outgoing: `follow` sends `Follow` and records it as pending until the followee's `Accept`
arrives; `unfollow` sends `Undo`. Incoming: a `Follow` of a local actor is accepted at once, or
held as a follow request when the actor approves followers by hand. Every state change and the
activity that announces it are written in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.builders import build_accept, build_follow, build_reject, build_undo
from fediverse.errors import Conflict, NotFound, Unprocessable
from fediverse.ids import new_id
from fediverse.outbox.audience import Target
from fediverse.outbox.publish import publish
from fediverse.services import notifications, remote_actors
from fediverse.services.context import Context
from fediverse.store import actors as actor_queries
from fediverse.store.follows import ACCEPTED, PENDING
from fediverse.store.tables import Actor, ActorBlock, Follow, OutboxActivity
from fediverse.store.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowResult:
    follow_id: int
    state: str
    followee_uri: str
    # False when the follow (or the request) existed before this call.
    created: bool = True


def _personal_inbox(actor: Actor) -> str:
    """Activities addressed to one actor go to its own inbox, so it sees them as addressed."""
    return actor.inbox_url


async def _send(
    session: AsyncSession,
    ctx: Context,
    sender: Actor,
    activity_id: int,
    activity: dict[str, Any],
    recipients: list[Actor],
) -> None:
    await publish(
        session,
        ctx.uris,
        activity_id=activity_id,
        sender_id=sender.id,
        activity=activity,
        targets=[Target(_personal_inbox(actor)) for actor in recipients if not actor.local],
    )


async def _local_actor(session: AsyncSession, name: str) -> Actor:
    actor = await actor_queries.get_local_by_name(session, name)
    if actor is None or actor.deleted_at is not None:
        raise NotFound(f"No local account called {name!r}.")
    return actor


async def _find_follow(session: AsyncSession, follower_id: int, followee_id: int) -> Follow | None:
    return await session.scalar(
        select(Follow).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    )


async def follow(ctx: Context, follower_name: str, target: str) -> FollowResult:
    """Make a local actor follow `target` (a handle or actor IRI, local or remote)."""
    followee = await remote_actors.resolve_or_fetch(ctx, target)
    async with ctx.sessions() as session:
        follower = await _local_actor(session, follower_name)
        if followee.id == follower.id:
            raise Unprocessable("An account cannot follow itself.")
        existing = await _find_follow(session, follower.id, followee.id)
        if existing is not None:
            return FollowResult(existing.id, existing.state, followee.uri, created=False)
        if await _blocked_between(session, follower.id, followee.id):
            raise Conflict(f"{followee.uri} and {follower_name} have blocked one another.")
        activity_id = new_id()
        activity_uri = ctx.uris.activity(activity_id)
        row = Follow(
            uri=activity_uri, follower_id=follower.id, followee_id=followee.id, state=PENDING
        )
        session.add(row)
        activity = build_follow(activity_uri, follower.uri, followee.uri)
        if followee.local:
            # Same instance: no HTTP; the followee's rules apply directly.
            await session.flush()
            await _decide_incoming(session, ctx, row, follower, followee, activity)
        await _send(session, ctx, follower, activity_id, activity, [followee])
        await session.commit()
    ctx.notify()
    return FollowResult(row.id, row.state, followee.uri)


async def unfollow(ctx: Context, follower_name: str, target: str) -> bool:
    """Stop following `target`; return False when there was nothing to undo."""
    followee = await remote_actors.resolve_or_fetch(ctx, target)
    async with ctx.sessions() as session:
        follower = await _local_actor(session, follower_name)
        row = await _find_follow(session, follower.id, followee.id)
        if row is None:
            return False
        original = build_follow(row.uri or ctx.uris.activity(row.id), follower.uri, followee.uri)
        await session.delete(row)
        activity_id = new_id()
        undo = build_undo(ctx.uris.activity(activity_id), follower.uri, original)
        await _send(session, ctx, follower, activity_id, undo, [followee])
        await session.commit()
    ctx.notify()
    return True


async def _decide_incoming(
    session: AsyncSession,
    ctx: Context,
    row: Follow,
    follower: Actor,
    followee: Actor,
    follow_activity: dict[str, Any],
) -> None:
    """Accept a new follow of a local actor now, or leave it as a request for approval."""
    if followee.manually_approves_followers:
        row.state = PENDING
        await notifications.notify(session, followee, "follow_request", follower)
        return
    await notifications.notify(session, followee, "follow", follower)
    row.state = ACCEPTED
    row.accepted_at = utcnow()
    if not follower.local:
        await _send_answer(session, ctx, followee, follower, follow_activity, accept=True)


async def _send_answer(
    session: AsyncSession,
    ctx: Context,
    followee: Actor,
    follower: Actor,
    follow_activity: dict[str, Any],
    *,
    accept: bool,
) -> None:
    activity_id = new_id()
    build = build_accept if accept else build_reject
    answer = build(ctx.uris.activity(activity_id), followee.uri, follow_activity)
    await _send(session, ctx, followee, activity_id, answer, [follower])


async def receive_follow(ctx: Context, follower: Actor, followee_uri: str, follow_id: str) -> str:
    """Handle a remote `Follow` (`follow_id` is its parsed IRI) of a local actor; return the
    resulting state.

    Idempotent by `follow_id`: applying the same Follow again (a worker that lost its outcome
    re-runs it) answers nothing twice. A new Follow of an existing follow is answered again.
    """
    if ctx.uris.is_local(follow_id):
        raise Unprocessable(
            f"The Follow's id {follow_id} is on this server; a remote Follow needs an id of its "
            "own server."
        )
    # Our answer embeds the Follow as we understood it (what Mastodon's own answers embed), not
    # whatever else the sender put in it.
    follow_activity = {
        "id": follow_id,
        "type": "Follow",
        "actor": follower.uri,
        "object": followee_uri,
    }
    async with ctx.sessions() as session:
        followee = await actor_queries.get_by_uri(session, followee_uri)
        if followee is None or not followee.local or followee.deleted_at is not None:
            raise NotFound(f"{followee_uri} is not an account here.")
        if followee.kind == "Application":
            raise Unprocessable("The instance actor cannot be followed.")
        if await _blocked_between(session, follower.id, followee.id):
            if not await _answered(session, followee, follow_id):
                await _send_answer(session, ctx, followee, follower, follow_activity, accept=False)
                await session.commit()
                ctx.notify()
            return "rejected"
        row = await _find_follow(session, follower.id, followee.id)
        if row is not None and row.uri == follow_id:
            return row.state  # this very Follow took effect already
        if row is not None:
            # A repeated Follow (the remote lost our Accept, or refollows): answer again.
            row.uri = follow_id
            if row.state == ACCEPTED:
                await _send_answer(session, ctx, followee, follower, follow_activity, accept=True)
        else:
            row = Follow(uri=follow_id, follower_id=follower.id, followee_id=followee.id)
            session.add(row)
            await session.flush()
            await _decide_incoming(session, ctx, row, follower, followee, follow_activity)
        await session.commit()
        state = row.state
    ctx.notify()
    return state


async def _answered(session: AsyncSession, followee: Actor, follow_id: str) -> bool:
    """Tell whether `followee` already sent an Accept or Reject of the Follow `follow_id`."""
    found = await session.scalar(
        select(OutboxActivity.id)
        .where(
            OutboxActivity.actor_id == followee.id,
            OutboxActivity.object_uri == follow_id,
            OutboxActivity.type.in_(("Accept", "Reject")),
        )
        .limit(1)
    )
    return found is not None


def _referenced_follow(obj: Any) -> tuple[str | None, str | None, str | None]:
    """Return (follow id, follower, followee) from an Accept/Reject/Undo object."""
    if isinstance(obj, str):
        return obj, None, None
    if isinstance(obj, dict):
        actor, target = obj.get("actor"), obj.get("object")
        return (
            obj.get("id") if isinstance(obj.get("id"), str) else None,
            actor if isinstance(actor, str) else None,
            target if isinstance(target, str) else None,
        )
    return None, None, None


async def _follow_by_reference(
    session: AsyncSession, obj: Any, *, follower: Actor | None, followee: Actor | None
) -> Follow | None:
    """Find the follow an Accept/Reject/Undo refers to, by its id or by its two actors."""
    follow_uri, follower_uri, followee_uri = _referenced_follow(obj)
    if follow_uri:
        row = await session.scalar(select(Follow).where(Follow.uri == follow_uri))
        if row is not None:
            return row
    follower_row = follower
    if follower_row is None and follower_uri:
        follower_row = await actor_queries.get_by_uri(session, follower_uri)
    followee_row = followee
    if followee_row is None and followee_uri:
        followee_row = await actor_queries.get_by_uri(session, followee_uri)
    if follower_row is None or followee_row is None:
        return None
    return await _find_follow(session, follower_row.id, followee_row.id)


async def receive_accept(ctx: Context, accepter: Actor, obj: Any) -> bool:
    """Mark our follow of `accepter` accepted; False when there is no such follow."""
    return await _settle_our_follow(ctx, accepter, obj, accepted=True)


async def receive_reject(ctx: Context, rejecter: Actor, obj: Any) -> bool:
    """Drop our follow (or request) of `rejecter`; False when there is no such follow."""
    return await _settle_our_follow(ctx, rejecter, obj, accepted=False)


async def _settle_our_follow(ctx: Context, followee: Actor, obj: Any, *, accepted: bool) -> bool:
    """Apply the followee's answer to our follow; only the followee itself may answer."""
    async with ctx.sessions() as session:
        row = await _follow_by_reference(session, obj, follower=None, followee=followee)
        if row is None or row.followee_id != followee.id:
            return False
        if not accepted:
            await session.delete(row)
        elif row.state != ACCEPTED:
            row.state = ACCEPTED
            row.accepted_at = utcnow()
        await session.commit()
    return True


async def receive_undo_follow(ctx: Context, follower: Actor, obj: Any) -> bool:
    """Remove `follower`'s follow of one of ours."""
    async with ctx.sessions() as session:
        row = await _follow_by_reference(session, obj, follower=follower, followee=None)
        if row is None or row.follower_id != follower.id:
            return False
        await session.delete(row)
        await session.commit()
    return True


@dataclass(frozen=True)
class FollowRequest:
    follow_id: int
    follower_uri: str
    follower_handle: str
    requested_at: str


async def list_requests(ctx: Context, name: str) -> list[FollowRequest]:
    """Return pending follow requests waiting for a local actor's approval."""
    async with ctx.sessions() as session:
        followee = await _local_actor(session, name)
        rows = await session.execute(
            select(Follow, Actor)
            .join(Actor, Actor.id == Follow.follower_id)
            .where(Follow.followee_id == followee.id, Follow.state == PENDING)
            .order_by(Follow.id)
        )
        return [
            FollowRequest(
                row.id,
                actor.uri,
                f"{actor.username}@{actor.domain}",
                f"{row.created_at:%Y-%m-%d %H:%M}",
            )
            for row, actor in rows.all()
        ]


async def answer_request(ctx: Context, name: str, follower: str, *, approve: bool) -> None:
    """Approve or reject a pending follow request of a local actor."""
    follower_actor = await remote_actors.resolve_or_fetch(ctx, follower)
    async with ctx.sessions() as session:
        followee = await _local_actor(session, name)
        row = await _find_follow(session, follower_actor.id, followee.id)
        if row is None or row.state != PENDING:
            raise NotFound(f"{follower} has no pending follow request for {name}.")
        follow_activity = build_follow(
            row.uri or ctx.uris.activity(row.id), follower_actor.uri, followee.uri
        )
        if approve:
            row.state = ACCEPTED
            row.accepted_at = utcnow()
        else:
            await session.delete(row)
        if not follower_actor.local:
            await _send_answer(
                session, ctx, followee, follower_actor, follow_activity, accept=approve
            )
        await session.commit()
    ctx.notify()


async def _blocked_between(session: AsyncSession, first: int, second: int) -> bool:
    found = await session.scalar(
        select(ActorBlock.id)
        .where(
            or_(
                (ActorBlock.blocker_id == first) & (ActorBlock.blocked_id == second),
                (ActorBlock.blocker_id == second) & (ActorBlock.blocked_id == first),
            )
        )
        .limit(1)
    )
    return found is not None


async def receive_block(
    ctx: Context, blocker: Actor, blocked_uri: str, block_uri: str | None
) -> bool:
    """Record a remote block of a local actor and drop follows both ways."""
    async with ctx.sessions() as session:
        blocked = await actor_queries.get_by_uri(session, blocked_uri)
        if blocked is None or not blocked.local:
            return False
        await _drop_follows_between(session, blocker.id, blocked.id)
        if not await session.scalar(
            select(ActorBlock.id).where(
                ActorBlock.blocker_id == blocker.id, ActorBlock.blocked_id == blocked.id
            )
        ):
            session.add(ActorBlock(uri=block_uri, blocker_id=blocker.id, blocked_id=blocked.id))
        await session.commit()
    return True


async def receive_undo_block(ctx: Context, blocker: Actor, obj: Any) -> bool:
    """Lift a remote actor's block (by the Block's id or by the blocked actor)."""
    block_uri, _, blocked_uri = _referenced_follow(obj)
    async with ctx.sessions() as session:
        query = delete(ActorBlock).where(ActorBlock.blocker_id == blocker.id)
        blocked = await actor_queries.get_by_uri(session, blocked_uri) if blocked_uri else None
        if blocked is not None:
            query = query.where(ActorBlock.blocked_id == blocked.id)
        elif block_uri:
            query = query.where(ActorBlock.uri == block_uri)
        else:
            return False
        result = await session.execute(query)
        await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def _drop_follows_between(session: AsyncSession, first: int, second: int) -> None:
    await session.execute(
        delete(Follow).where(
            or_(
                (Follow.follower_id == first) & (Follow.followee_id == second),
                (Follow.follower_id == second) & (Follow.followee_id == first),
            )
        )
    )


async def remove_actor(ctx: Context, actor_uri: str) -> bool:
    """Forget a deleted remote actor's follows and mark it deleted (its content goes too)."""
    async with ctx.sessions() as session:
        actor = await actor_queries.get_by_uri(session, actor_uri)
        if actor is None or actor.local:
            return False
        await session.execute(
            delete(Follow).where(
                or_(Follow.follower_id == actor.id, Follow.followee_id == actor.id)
            )
        )
        actor.deleted_at = utcnow()
        await session.commit()
    return True


async def prune_inbox(ctx: Context, inbox_url: str) -> int:
    """Remove follows of remote actors whose personal inbox answered 404/410 (gone)."""
    async with ctx.sessions() as session:
        gone = select(Actor.id).where(Actor.inbox_url == inbox_url, Actor.local.is_(False))
        result = await session.execute(
            delete(Follow).where(or_(Follow.follower_id.in_(gone), Follow.followee_id.in_(gone)))
        )
        await session.commit()
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.info("pruned follows of a gone inbox", extra={"inbox": inbox_url, "follows": count})
    return count
