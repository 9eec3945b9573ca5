"""Groups share their members' posts with every member (FEP-1b12).

A public or unlisted post addressed to one of our groups (by mention, `to`/`cc` or `audience`)
by someone who follows the group is announced by the group to all its followers, on every
server. Mastodon users who follow the group see it as the group's boost; Lemmy and other
FEP-1b12 servers treat it as a post in the group.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.builders import build_announce
from fediverse.activitypub.vocab import PUBLIC
from fediverse.ids import new_id
from fediverse.outbox.audience import add_addressed_actors, followers_fan_out
from fediverse.outbox.publish import publish
from fediverse.services.context import Context
from fediverse.services.converters.posts import format_time
from fediverse.store import posts as post_queries
from fediverse.store.follows import ACCEPTED
from fediverse.store.tables import Actor, Follow, Post
from fediverse.store.types import utcnow

log = logging.getLogger(__name__)


async def local_groups_addressed(session: AsyncSession, iris: Iterable[str]) -> list[Actor]:
    """Return our live groups among the given IRIs."""
    wanted = list(dict.fromkeys(iris))
    if not wanted:
        return []
    rows = await session.scalars(
        select(Actor).where(
            Actor.uri.in_(wanted),
            Actor.local.is_(True),
            Actor.kind == "Group",
            Actor.deleted_at.is_(None),
        )
    )
    return list(rows.all())


async def announce_to_members(
    session: AsyncSession, ctx: Context, post: Post, author: Actor, groups: Iterable[Actor]
) -> int:
    """Have each addressed group announce the post, if the author is a member; return count.

    Runs in the caller's transaction, so the post and the group's deliveries commit together.
    """
    if post.visibility not in ("public", "unlisted") or post.boost_of_id is not None:
        return 0
    announced = 0
    for group in groups:
        member = await session.scalar(
            select(Follow.id).where(
                Follow.follower_id == author.id,
                Follow.followee_id == group.id,
                Follow.state == ACCEPTED,
            )
        )
        if member is None:
            log.info("post to a group by a non-member", extra={"group": group.uri})
            continue
        already = await session.scalar(
            select(Post.id).where(Post.author_id == group.id, Post.boost_of_id == post.id)
        )
        if already is not None:
            continue
        activity_id = new_id()
        uri = ctx.uris.activity(activity_id)
        followers = group.followers_url or ctx.uris.actor_collection(group.uri, "followers")
        now = utcnow()
        session.add(
            Post(
                id=activity_id,
                uri=uri,
                url=uri,
                author_id=group.id,
                local=True,
                type="Announce",
                boost_of_id=post.id,
                visibility="public",
                to=[PUBLIC],
                cc=[followers, author.uri],
                published_at=now,
            )
        )
        await post_queries.bump(session, post.id, "boosts_count", 1)
        activity = build_announce(
            uri,
            group.uri,
            post.uri,
            to=[PUBLIC],
            cc=[followers, author.uri],
            published=format_time(now),
        )
        fan_out = await followers_fan_out(session, group.id)
        add_addressed_actors(fan_out, [author])
        await publish(
            session,
            ctx.uris,
            activity_id=activity_id,
            sender_id=group.id,
            activity=activity,
            targets=fan_out.targets.values(),
            public=True,
            followers_targeted=fan_out.followers_targeted,
        )
        announced += 1
    return announced
