"""Who may see a post: the one rule every read path (API, pages, fetches) goes through."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.follows import ACCEPTED
from fediverse.store.tables import Follow, Mention, Post

PUBLIC_VISIBILITIES = ("public", "unlisted")


def visible_to(viewer_id: int | None) -> ColumnElement[bool]:
    """Return a condition on `Post` true when `viewer_id` (None: anonymous) may see the post."""
    if viewer_id is None:
        return Post.visibility.in_(PUBLIC_VISIBILITIES)
    follows_author = exists(
        select(Follow.id).where(
            and_(
                Follow.follower_id == viewer_id,
                Follow.followee_id == Post.author_id,
                Follow.state == ACCEPTED,
            )
        )
    )
    mentioned = exists(
        select(Mention.post_id).where(
            and_(Mention.post_id == Post.id, Mention.actor_id == viewer_id)
        )
    )
    return or_(
        Post.visibility.in_(PUBLIC_VISIBILITIES),
        Post.author_id == viewer_id,
        mentioned,
        and_(Post.visibility == "followers", follows_author),
    )


async def can_see(session: AsyncSession, post: Post, viewer_id: int | None) -> bool:
    """Tell whether one post is visible to a viewer."""
    if post.deleted_at is not None:
        return False
    if post.visibility in PUBLIC_VISIBILITIES or post.author_id == viewer_id:
        return True
    found = await session.scalar(
        select(true()).where(Post.id == post.id, visible_to(viewer_id)).limit(1)
    )
    return bool(found)
