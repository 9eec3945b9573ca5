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

from fediverse.services import interactions
from fediverse.services.context import Context
from fediverse.store.follows import ACCEPTED
from fediverse.store.tables import Actor, Follow, Post

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
        await interactions.record_boost(session, ctx, group, post, author)
        announced += 1
    return announced
