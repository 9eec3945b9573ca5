"""Reach receipts: how far one of our activities got, in numbers the author can trust.

Counts come straight from the delivery rows (one per inbox) and the follower count recorded at
fan-out, so they are true in every failure case: nothing is estimated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.errors import NotFound
from fediverse.services.context import Context
from fediverse.store.tables import Delivery, Host, OutboxActivity, Post
from fediverse.store.types import utcnow

PENDING_STATES = ("queued",)


@dataclass
class HostReach:
    host: str
    inboxes: int = 0
    followers: int = 0
    delivered: int = 0
    pending: int = 0
    failed: int = 0
    gone: int = 0
    dropped: int = 0
    health: str = "ok"
    last_status: int | None = None
    last_error: str | None = None


@dataclass
class Reach:
    activity: str
    followers_targeted: int
    followers_reached: int
    servers: int
    inboxes: int
    delivered: int
    pending: int
    failed: int
    gone: int
    dropped: int
    complete: bool
    hosts: list[HostReach] = field(default_factory=list)

    def summary(self) -> str:
        """Say it the way the author reads it: "reached 1,204 of 1,204 followers on 87 servers"."""
        servers = "server" if self.servers == 1 else "servers"
        text = (
            f"reached {self.followers_reached:,} of {self.followers_targeted:,} followers "
            f"on {self.servers:,} {servers}"
        )
        if self.pending:
            text += f"; {self.pending:,} {'inbox' if self.pending == 1 else 'inboxes'} pending"
        if self.failed or self.gone or self.dropped:
            text += f"; {self.failed + self.gone + self.dropped:,} could not be delivered"
        return text

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["summary"] = self.summary()
        return document


def _count(state: str) -> Any:
    return func.sum(case((Delivery.state == state, 1), else_=0))


async def reach_for_activity(session: AsyncSession, activity: OutboxActivity) -> Reach:
    """Build the receipt of one outbox activity, per host and in total."""
    rows = await session.execute(
        select(
            Delivery.host,
            func.count(),
            func.sum(Delivery.recipients),
            _count("sent"),
            _count("queued"),
            _count("failed"),
            _count("gone"),
            _count("dropped"),
            func.sum(case((Delivery.state == "sent", Delivery.recipients), else_=0)),
            func.max(Delivery.last_status),
            func.max(Delivery.last_error),
        )
        .where(Delivery.activity_id == activity.id)
        .group_by(Delivery.host)
        .order_by(Delivery.host)
    )
    hosts: list[HostReach] = []
    remote_recipients = reached_remote = 0
    for (
        host,
        inboxes,
        recipients,
        sent,
        queued,
        failed,
        gone,
        dropped,
        reached,
        status,
        error,
    ) in rows.all():
        remote_recipients += int(recipients or 0)
        reached_remote += int(reached or 0)
        hosts.append(
            HostReach(
                host=host,
                inboxes=inboxes,
                followers=int(recipients or 0),
                delivered=int(sent),
                pending=int(queued),
                failed=int(failed),
                gone=int(gone),
                dropped=int(dropped),
                last_status=status,
                last_error=error if queued or failed or dropped else None,
            )
        )
    await _attach_health(session, hosts)
    local_followers = max(0, activity.followers_targeted - remote_recipients)
    total = {
        name: sum(getattr(h, name) for h in hosts)
        for name in ("inboxes", "delivered", "pending", "failed", "gone", "dropped")
    }
    return Reach(
        activity=activity.uri,
        followers_targeted=activity.followers_targeted,
        followers_reached=local_followers + reached_remote,
        servers=len(hosts) + (1 if local_followers else 0),
        complete=total["pending"] == 0,
        hosts=hosts,
        **total,
    )


async def _attach_health(session: AsyncSession, hosts: list[HostReach]) -> None:
    if not hosts:
        return
    now = utcnow()
    rows = await session.scalars(select(Host).where(Host.host.in_([h.host for h in hosts])))
    health = {row.host: row for row in rows.all()}
    for entry in hosts:
        row = health.get(entry.host)
        if row is None:
            continue
        if row.unavailable_since is not None:
            entry.health = "unavailable"
        elif row.paused_until is not None and row.paused_until > now:
            entry.health = "paused"
        elif row.consecutive_failures:
            entry.health = "failing"


async def find_post_activity(session: AsyncSession, ctx: Context, reference: str) -> OutboxActivity:
    """Return the Create of a local post named by its id, its URL, or an activity URL."""
    reference = reference.strip()
    post: Post | None = None
    if reference.isdigit():
        post = await session.get(Post, int(reference))
    elif ctx.uris.is_local(reference):
        activity = await session.scalar(
            select(OutboxActivity).where(OutboxActivity.uri == reference)
        )
        if activity is not None:
            return activity
        post = await session.scalar(select(Post).where(Post.uri == reference))
    if post is None or not post.local:
        raise NotFound(f"No post of ours is {reference!r}; give its id or its URL.")
    create = await session.scalar(
        select(OutboxActivity)
        .where(OutboxActivity.object_uri == post.uri, OutboxActivity.type == "Create")
        .order_by(OutboxActivity.id)
        .limit(1)
    )
    if create is None:
        raise NotFound(f"Post {reference} was never published.")
    return create


async def reach_for_post(ctx: Context, reference: str) -> Reach:
    """Return the reach receipt of a local post (by id or URL)."""
    async with ctx.sessions() as session:
        activity = await find_post_activity(session, ctx, reference)
        return await reach_for_activity(session, activity)
