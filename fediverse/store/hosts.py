"""Queries on remote hosts' delivery health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.tables import Delivery, Host


@dataclass(frozen=True)
class HostHealth:
    host: str
    state: str
    consecutive_failures: int
    failure_days: int
    paused_until: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    pending: int


async def list_health(
    session: AsyncSession, *, now: datetime, unhealthy_only: bool = False
) -> list[HostHealth]:
    """Return every host we know delivery health of, worst first, with pending deliveries."""
    pending = (
        select(Delivery.host, func.count().label("pending"))
        .where(Delivery.state == "queued")
        .group_by(Delivery.host)
        .subquery()
    )
    query = select(Host, func.coalesce(pending.c.pending, 0)).outerjoin(
        pending, pending.c.host == Host.host
    )
    if unhealthy_only:
        query = query.where(or_(Host.consecutive_failures > 0, Host.unavailable_since.is_not(None)))
    rows = await session.execute(query.order_by(Host.consecutive_failures.desc(), Host.host))
    result = []
    for host, count in rows.all():
        if host.unavailable_since is not None:
            state = "unavailable"
        elif host.paused_until is not None and host.paused_until > now:
            state = "paused"
        elif host.consecutive_failures:
            state = "failing"
        else:
            state = "ok"
        result.append(
            HostHealth(
                host.host,
                state,
                host.consecutive_failures,
                len(host.failure_days or []),
                host.paused_until,
                host.last_success_at,
                host.last_error,
                int(count),
            )
        )
    return result


async def clear(session: AsyncSession, host: str) -> bool:
    """Forget a host's failures (an admin says it is fine); True if it had a record."""
    result = await session.execute(
        update(Host)
        .where(Host.host == host.lower())
        .values(consecutive_failures=0, paused_until=None, failure_days=[], unavailable_since=None)
    )
    return bool(getattr(result, "rowcount", 0))
