"""Queries on posts."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.tables import Post

Counter = Literal["replies_count", "likes_count", "boosts_count"]


async def bump(session: AsyncSession, post_id: int, counter: Counter, delta: int) -> None:
    """Change a post's counter in SQL, never below zero.

    An increment computed in Python would lose updates when two activities about the same post
    are applied at once (several inbox tasks run concurrently); the database does it atomically.
    """
    column = getattr(Post, counter)
    await session.execute(
        update(Post)
        .where(Post.id == post_id)
        .values({counter: case((column + delta < 0, 0), else_=column + delta)})
        .execution_options(synchronize_session=False)
    )
