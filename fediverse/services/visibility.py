"""Who may see a post: the one rule every read path (API, pages, fetches) goes through.

A boost is a post of its own that points at the boosted one, so the rule judges it twice: the
boost by its own addressing, and the boosted post as if it were read directly. Nobody reaches a
post through a boost who could not read the post itself.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.util import AliasedClass

from fediverse.store.follows import ACCEPTED
from fediverse.store.tables import Follow, Mention, OutboxActivity, Post

PUBLIC_VISIBILITIES = ("public", "unlisted")


def _addressed_to(
    post: type[Post] | AliasedClass[Post], viewer_id: int | None
) -> ColumnElement[bool]:
    """Return a condition true when the post's own addressing lets the viewer read it."""
    if viewer_id is None:
        return post.visibility.in_(PUBLIC_VISIBILITIES)
    follows_author = exists(
        select(Follow.id).where(
            and_(
                Follow.follower_id == viewer_id,
                Follow.followee_id == post.author_id,
                Follow.state == ACCEPTED,
            )
        )
    )
    mentioned = exists(
        select(Mention.post_id).where(
            and_(Mention.post_id == post.id, Mention.actor_id == viewer_id)
        )
    )
    return or_(
        post.visibility.in_(PUBLIC_VISIBILITIES),
        post.author_id == viewer_id,
        mentioned,
        and_(post.visibility == "followers", follows_author),
    )


def visible_to(viewer_id: int | None) -> ColumnElement[bool]:
    """Return a condition on `Post` true when `viewer_id` (None: anonymous) may see the post:
    it is live and addressed to them, and, for a boost, so is the boosted post."""
    boosted = aliased(Post)
    boosted_readable = exists(
        select(boosted.id).where(
            boosted.id == Post.boost_of_id,
            boosted.deleted_at.is_(None),
            _addressed_to(boosted, viewer_id),
        )
    )
    return and_(
        Post.deleted_at.is_(None),
        _addressed_to(Post, viewer_id),
        or_(Post.boost_of_id.is_(None), boosted_readable),
    )


def activity_visible_to_anyone() -> ColumnElement[bool]:
    """Return a condition on `OutboxActivity` true unless a post it carries is hidden from an
    anonymous reader: its object (the post a Create made, the post an Announce boosts) or the
    boost it made. A public activity about a post deleted or never public is not served."""
    carried = select(Post.id).where(
        or_(Post.uri == OutboxActivity.object_uri, Post.uri == OutboxActivity.uri),
        ~visible_to(None),
    )
    return ~exists(carried)


async def can_see(session: AsyncSession, post: Post, viewer_id: int | None) -> bool:
    """Tell whether one post is visible to a viewer."""
    if post.deleted_at is not None:
        return False
    if post.boost_of_id is None and (
        post.visibility in PUBLIC_VISIBILITIES or post.author_id == viewer_id
    ):
        return True
    found = await session.scalar(
        select(true()).where(Post.id == post.id, visible_to(viewer_id)).limit(1)
    )
    return bool(found)
