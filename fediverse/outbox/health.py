"""Host health: a circuit breaker per host, and the `unavailable` mark for hosts that keep
failing on several distinct days.

After `pause_after` consecutive failed deliveries a host is paused (no deliveries are claimed for
it) for a pause that doubles each time it trips again, up to `max_pause`; when the pause ends the
next deliveries are the probe. A host that failed on `unavailable_after_days` distinct days
without one success is skipped until it sends us anything or an admin clears it
(`fediverse hosts clear`). Its deliveries stay queued, so nothing is lost if it returns in time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from fediverse.store.tables import Host
from fediverse.store.types import utcnow


@dataclass(frozen=True)
class HostPolicy:
    pause_after: int = 5
    base_pause: timedelta = timedelta(minutes=1)
    max_pause: timedelta = timedelta(hours=1)
    unavailable_after_days: int = 3
    max_error_chars: int = 500

    def pause_for(self, consecutive_failures: int) -> timedelta:
        trips = max(0, consecutive_failures - self.pause_after)
        seconds = self.base_pause.total_seconds() * (2 ** min(trips, 20))
        return timedelta(seconds=min(seconds, self.max_pause.total_seconds()))


@dataclass
class HostTally:
    successes: int = 0
    failures: int = 0
    last_error: str | None = None


def tally(results: Iterable[tuple[str, bool, str | None]]) -> dict[str, HostTally]:
    """Count (host, succeeded, error) results per host."""
    by_host: dict[str, HostTally] = defaultdict(HostTally)
    for host, succeeded, error in results:
        entry = by_host[host]
        if succeeded:
            entry.successes += 1
        else:
            entry.failures += 1
            entry.last_error = error or entry.last_error
    return by_host


def apply_tally(host: Host, entry: HostTally, policy: HostPolicy, now: datetime) -> None:
    """Update one host's health from a batch's results (any success closes the breaker)."""
    if entry.successes:
        host.consecutive_failures = 0
        host.paused_until = None
        host.failure_days = []
        host.unavailable_since = None
        host.last_success_at = now
        return
    if not entry.failures:
        return
    host.consecutive_failures = (host.consecutive_failures or 0) + entry.failures
    host.last_failure_at = now
    if entry.last_error:
        host.last_error = entry.last_error[: policy.max_error_chars]
    day = now.date().isoformat()
    days = list(host.failure_days or [])
    if day not in days:
        days.append(day)
    host.failure_days = days[-31:]
    if host.consecutive_failures >= policy.pause_after:
        host.paused_until = now + policy.pause_for(host.consecutive_failures)
    if len(days) >= policy.unavailable_after_days and host.unavailable_since is None:
        host.unavailable_since = now


async def record(session: AsyncSession, tallies: dict[str, HostTally], policy: HostPolicy) -> None:
    """Write a batch's per-host results (inside the caller's transaction)."""
    if not tallies:
        return
    now = utcnow()
    known = {
        row.host: row
        for row in (await session.scalars(select(Host).where(Host.host.in_(tallies)))).all()
    }
    for name, entry in tallies.items():
        host = known.get(name)
        if host is None:
            if not entry.failures:
                continue  # healthy hosts need no row until they first fail
            host = Host(host=name, consecutive_failures=0, failure_days=[])
            session.add(host)
        apply_tally(host, entry, policy, now)


def deliverable_host_filter(
    host_column: ColumnElement[str] | InstrumentedAttribute[str],
) -> ColumnElement[bool]:
    """Return a condition true for hosts that are neither paused nor unavailable now."""
    now = utcnow()
    blocked = select(Host.host).where(
        or_(
            Host.unavailable_since.is_not(None),
            and_(Host.paused_until.is_not(None), Host.paused_until > now),
        )
    )
    return host_column.not_in(blocked)


async def mark_alive(session: AsyncSession, host: str) -> bool:
    """Clear a host's pause and unavailable mark (it just talked to us); True if it had any."""
    result = await session.execute(
        update(Host)
        .where(
            Host.host == host.lower(),
            or_(Host.unavailable_since.is_not(None), Host.consecutive_failures > 0),
        )
        .values(consecutive_failures=0, paused_until=None, failure_days=[], unavailable_since=None)
    )
    return bool(getattr(result, "rowcount", 0))
