"""Notifications for local actors: follow, follow_request, mention, reply, reblog, favourite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.errors import NotFound
from fediverse.ids import new_id
from fediverse.services.context import Context
from fediverse.store.tables import Actor, Notification, Post
from fediverse.store.types import utcnow

KINDS = ("follow", "follow_request", "mention", "reply", "reblog", "favourite")


async def notify(
    session: AsyncSession,
    recipient: Actor | None,
    kind: str,
    actor: Actor,
    post: Post | None = None,
) -> None:
    """Record a notification for a local recipient (once per kind, actor and post)."""
    if recipient is None or not recipient.local or recipient.id == actor.id:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(Notification)
        .values(
            id=new_id(),
            recipient_id=recipient.id,
            kind=kind,
            actor_id=actor.id,
            post_id=post.id if post else None,
            read=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )


async def for_new_post(
    session: AsyncSession, post: Post, author: Actor, mentions: Sequence[Actor], parent: Post | None
) -> None:
    """Notify the replied-to author (reply) and everyone mentioned (mention)."""
    replied_to = await session.get(Actor, parent.author_id) if parent is not None else None
    if replied_to is not None:
        await notify(session, replied_to, "reply", author, post)
    for actor in mentions:
        if replied_to is None or actor.id != replied_to.id:
            await notify(session, actor, "mention", author, post)


@dataclass(frozen=True)
class Page:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20


async def list_notifications(
    ctx: Context, recipient_id: int, page: Page, types: Sequence[str] | None = None
) -> list[Notification]:
    """Return a page of a local actor's notifications, newest first (min_id: oldest first)."""
    query = select(Notification).where(Notification.recipient_id == recipient_id)
    if types:
        query = query.where(Notification.kind.in_(list(types)))
    if page.max_id is not None:
        query = query.where(Notification.id < page.max_id)
    if page.since_id is not None:
        query = query.where(Notification.id > page.since_id)
    if page.min_id is not None:
        query = query.where(Notification.id > page.min_id).order_by(Notification.id.asc())
    else:
        query = query.order_by(Notification.id.desc())
    async with ctx.sessions() as session:
        rows = list((await session.scalars(query.limit(max(1, min(page.limit, 80))))).all())
    if page.min_id is not None:
        rows.reverse()
    return rows


async def get(ctx: Context, recipient_id: int, notification_id: int) -> Notification:
    async with ctx.sessions() as session:
        row = await session.get(Notification, notification_id)
    if row is None or row.recipient_id != recipient_id:
        raise NotFound(f"No notification {notification_id}.")
    return row


async def dismiss(ctx: Context, recipient_id: int, notification_id: int) -> None:
    async with ctx.sessions() as session:
        await session.execute(
            delete(Notification).where(
                Notification.id == notification_id, Notification.recipient_id == recipient_id
            )
        )
        await session.commit()


async def clear(ctx: Context, recipient_id: int) -> None:
    async with ctx.sessions() as session:
        await session.execute(delete(Notification).where(Notification.recipient_id == recipient_id))
        await session.commit()
