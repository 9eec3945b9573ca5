"""The sending instance of the fan-out benchmark: its store, its author and N remote followers.

Followers are inserted with SQLAlchemy core statements in large transactions (the ORM would
spend longer building 20,000 objects than the benchmark spends delivering). Everything else goes
through the same code `fediverse serve` runs: migrations, the instance actor, `create_user`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, insert, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from fediverse.config import Config, config_from_dict
from fediverse.ids import new_id
from fediverse.outbox.states import DeliveryStates
from fediverse.services.context import Context
from fediverse.store.follows import ACCEPTED
from fediverse.store.tables import Actor, Delivery, Follow
from fediverse.store.types import utcnow

AUTHOR = "author"
SENDER_BASE_URL = "https://sender.bench.test"
INSERT_CHUNK = 2_000

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Database:
    """Where one run's store lives; PostgreSQL runs get a private schema, dropped afterwards."""

    url: str
    schema: str = ""

    @classmethod
    def choose(cls, url: str | None, folder: Path) -> Database:
        if url is None:
            return cls(f"sqlite+aiosqlite:///{folder / 'fanout.sqlite3'}")
        if url.startswith("postgresql+asyncpg://"):
            return cls(url, f"bench_{uuid.uuid4().hex[:10]}")
        if url.startswith("sqlite+aiosqlite:///"):
            return cls(url)
        raise SystemExit("--database must be a postgresql+asyncpg:// or sqlite+aiosqlite:/// URL")

    @property
    def engine_name(self) -> str:
        return "postgresql" if self.schema else "sqlite"

    async def drop(self) -> None:
        """Remove what the run created (the PostgreSQL schema; the SQLite file goes with its
        temporary folder)."""
        if not self.schema:
            return
        engine = create_async_engine(self.url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        finally:
            await engine.dispose()


def bench_config(
    database: Database,
    *,
    timeout_seconds: float,
    workers: dict[str, Any],
    delivery: dict[str, Any],
) -> Config:
    """Return the sender's config: shipped defaults, loopback allowed, a short timeout."""
    data: dict[str, Any] = {
        "instance": {
            "domain": "sender.bench.test",
            "base_url": SENDER_BASE_URL,
            "name": "Fan-out benchmark",
        },
        "database": {"url": database.url, "schema": database.schema},
        "federation": {
            "allow_private_addresses": True,
            "fetch_timeout_seconds": timeout_seconds,
        },
        "workers": {"embedded": True, **workers},
        "delivery": delivery,
    }
    return config_from_dict(data, source="<benchmark>")


async def insert_followers(
    ctx: Context, author_id: int, ports: list[int], followers: int, progress: Progress
) -> None:
    """Insert `followers` remote actors, spread round-robin over `ports`, all following the
    author (accepted), in transactions of `INSERT_CHUNK` followers."""
    started = time.perf_counter()
    now = utcnow()
    for first in range(0, followers, INSERT_CHUNK):
        actors: list[dict[str, Any]] = []
        follows: list[dict[str, Any]] = []
        for number in range(first, min(first + INSERT_CHUNK, followers)):
            port = ports[number % len(ports)]
            origin = f"http://127.0.0.1:{port}"
            uri = f"{origin}/users/f{number}"
            actor_id = new_id()
            actors.append(
                {
                    "id": actor_id,
                    "uri": uri,
                    "kind": "Person",
                    "local": False,
                    "username": f"f{number}",
                    "username_key": f"f{number}",
                    "domain": f"127.0.0.1:{port}",
                    "display_name": "",
                    "summary_html": "",
                    "inbox_url": f"{uri}/inbox",
                    "shared_inbox_url": f"{origin}/inbox",
                    "followers_url": f"{uri}/followers",
                    "public_key_id": f"{uri}#main-key",
                    "manually_approves_followers": False,
                    "discoverable": True,
                    "published_at": now,
                    "fetched_at": now,
                    "updated_at": now,
                }
            )
            follows.append(
                {
                    "id": new_id(),
                    "uri": f"{uri}/follows/1",
                    "follower_id": actor_id,
                    "followee_id": author_id,
                    "state": ACCEPTED,
                    "created_at": now,
                    "accepted_at": now,
                }
            )
        async with ctx.sessions() as session:
            await session.execute(insert(Actor), actors)
            await session.execute(insert(Follow), follows)
            await session.commit()
        done = first + len(actors)
        progress(
            f"  followers inserted: {done:,}/{followers:,} ({time.perf_counter() - started:.1f} s)"
        )


@dataclass(frozen=True)
class Counts:
    """Where one activity's deliveries stand."""

    total: int
    by_state: dict[str, int]
    attempts: int  # POSTs whose outcome has been written (retries included)
    attempted_rows: int  # rows tried at least once, or finished
    sent_first_try: int
    leased: int

    @property
    def pending(self) -> int:
        return self.by_state.get(DeliveryStates.queued.name, 0)

    @property
    def sent(self) -> int:
        return self.by_state.get(DeliveryStates.sent.name, 0)


async def delivery_counts(ctx: Context, activity_id: int) -> Counts:
    """Count one activity's deliveries by state in one grouped query (cheap enough to poll)."""
    statement = (
        select(
            Delivery.state,
            func.count(),
            func.coalesce(func.sum(Delivery.attempts), 0),
            func.sum(case((Delivery.attempts > 0, 1), else_=0)),
            func.sum(case((Delivery.attempts == 1, 1), else_=0)),
            func.sum(case((Delivery.lease_owner.is_not(None), 1), else_=0)),
        )
        .where(Delivery.activity_id == activity_id)
        .group_by(Delivery.state)
    )
    by_state: dict[str, int] = {}
    attempts = attempted = first_try = leased = 0
    async with ctx.sessions() as session:
        for state, count, tries, tried, once, held in (await session.execute(statement)).all():
            by_state[state] = int(count)
            attempts += int(tries)
            leased += int(held or 0)
            terminal = state != DeliveryStates.queued.name
            attempted += int(count) if terminal else int(tried or 0)
            if state == DeliveryStates.sent.name:
                first_try = int(once or 0)
    return Counts(sum(by_state.values()), by_state, attempts, attempted, first_try, leased)


async def fast_forward(ctx: Context, activity_id: int) -> tuple[int, float, dict[str, int]]:
    """Make every queued, unleased delivery of the activity that waits for its retry due now.

    Return how many rows moved, the longest wait skipped (seconds), and why they were waiting.
    """
    now = utcnow()
    due_later = (
        Delivery.activity_id == activity_id,
        Delivery.state == DeliveryStates.queued.name,
        Delivery.lease_owner.is_(None),
        Delivery.next_attempt_at > now,
    )
    async with ctx.sessions() as session:
        latest: datetime | None = await session.scalar(
            select(func.max(Delivery.next_attempt_at)).where(*due_later)
        )
        if latest is None:
            return 0, 0.0, {}
        causes = await session.execute(
            select(Delivery.attempts, Delivery.last_status, Delivery.last_error, func.count())
            .where(*due_later)
            .group_by(Delivery.attempts, Delivery.last_status, Delivery.last_error)
        )
        why = {
            f"attempt {attempts}: {status or 'no answer'} ({error})": int(count)
            for attempts, status, error, count in causes.all()
        }
        result = await session.execute(
            update(Delivery).where(*due_later).values(next_attempt_at=now)
        )
        await session.commit()
    moved = int(getattr(result, "rowcount", 0) or 0)
    return moved, max(0.0, (latest - now).total_seconds()), why


async def delivery_latencies(ctx: Context, activity_id: int, since: datetime) -> list[float]:
    """Return seconds from `since` to each sent delivery's `delivered_at`, sorted."""
    async with ctx.sessions() as session:
        rows = await session.scalars(
            select(Delivery.delivered_at).where(
                Delivery.activity_id == activity_id, Delivery.delivered_at.is_not(None)
            )
        )
        moments = [moment for moment in rows.all() if moment is not None]
    return sorted((moment - since).total_seconds() for moment in moments)
