"""The delivery job: sign and POST each queued delivery, classify the answer, record it.

A batch is sent concurrently, at most `per_host_limit` at once to one host. Rows for one
(sender, inbox) pair are claimed oldest first, one at a time, so activities arrive in the order
they were published (a Delete never overtakes its Create). Because the claim alone keeps that
order, the job is `pipelined`: a worker reports each answer as it comes and claims more rows
while slow hosts are still being waited for.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from fediverse.activitypub.client import FederationClient, PostResult
from fediverse.activitypub.keys import load_private_key_cached
from fediverse.activitypub.signatures import SigningKey
from fediverse.jobs.backoff import backoff_delay
from fediverse.jobs.runner import JobKind, Outcome, ReportOutcome
from fediverse.outbox import health
from fediverse.outbox.health import deliverable_host_filter
from fediverse.outbox.rules import Verdict, classify, retry_after
from fediverse.outbox.states import DeliveryStates
from fediverse.store.tables import Actor, Delivery, OutboxActivity
from fediverse.store.types import utcnow

log = logging.getLogger(__name__)

GoneCallback = Callable[[str], Awaitable[object]]
MAX_RESPONSE_CHARS = 1000


def _first_in_its_pair() -> ColumnElement[bool]:
    older = aliased(Delivery)
    return ~exists(
        select(older.id).where(
            and_(
                older.inbox_url == Delivery.inbox_url,
                older.sender_id == Delivery.sender_id,
                older.state == DeliveryStates.queued.name,
                older.id < Delivery.id,
            )
        )
    )


# Built once: it holds no time, and building the aliased subquery on every claim costs more
# than running it.
_FIRST_IN_ITS_PAIR = _first_in_its_pair()


class DeliveryJob(JobKind[Delivery]):
    name = "deliveries"
    table = Delivery
    graph = DeliveryStates
    pipelined = True

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: FederationClient,
        *,
        retry_horizon: timedelta,
        per_host_limit: int,
        on_gone: GoneCallback | None = None,
        host_policy: health.HostPolicy | None = None,
    ) -> None:
        self.host_policy = host_policy or health.HostPolicy()
        self.sessions = sessions
        self.http = http
        self.retry_horizon = retry_horizon
        self.per_host_limit = per_host_limit
        self.on_gone = on_gone
        self._host_slots: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.per_host_limit)
        )

    def claim_filter(self) -> ColumnElement[bool]:
        """Claim a row only when its host is healthy and no older unfinished row goes to the
        same inbox from the same sender: per-pair FIFO keeps Create before Update before Delete.
        """
        return deliverable_host_filter(Delivery.host) & _FIRST_IN_ITS_PAIR

    async def _load(
        self, rows: Sequence[Delivery]
    ) -> tuple[dict[int, bytes], dict[int, SigningKey]]:
        """Fetch each activity's JSON once and each sender's key once for the whole batch."""
        activity_ids = {row.activity_id for row in rows}
        sender_ids = {row.sender_id for row in rows}
        async with self.sessions() as session:
            activities = await session.execute(
                select(OutboxActivity.id, OutboxActivity.payload).where(
                    OutboxActivity.id.in_(activity_ids)
                )
            )
            senders = await session.execute(
                select(Actor.id, Actor.public_key_id, Actor.private_key_pem).where(
                    Actor.id.in_(sender_ids)
                )
            )
        bodies = {
            activity_id: json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            for activity_id, payload in activities.all()
        }
        keys = {
            actor_id: SigningKey(key_id=key_id, private_key=load_private_key_cached(pem))
            for actor_id, key_id, pem in senders.all()
            if key_id and pem
        }
        return bodies, keys

    async def handle_batch(self, rows: Sequence[Delivery]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        await self.handle_each(rows, outcomes.__setitem__)
        return outcomes

    async def handle_each(self, rows: Sequence[Delivery], report: ReportOutcome) -> None:
        """Send every row concurrently and report each answer as soon as it arrives."""
        bodies, keys = await self._load(rows)

        async def one(row: Delivery) -> None:
            body, key = bodies.get(row.activity_id), keys.get(row.sender_id)
            if body is None or key is None:
                report(row.id, Outcome(state="dropped", error="activity or sender key is gone"))
                return
            async with self._host_slots[row.host]:
                result = await self.http.post_activity(row.inbox_url, body, key)
            report(row.id, await self._outcome(row, result))

        await asyncio.gather(*(one(row) for row in rows))

    async def after_batch(
        self, session: AsyncSession, rows: Sequence[Delivery], outcomes: dict[int, Outcome]
    ) -> None:
        """Feed the batch's answers to the per-host circuit breaker."""
        results = []
        for row in rows:
            outcome = outcomes.get(row.id)
            if (
                outcome is None
                or not outcome.changes  # our own handler failed (`crashed`): nothing was sent
                or (outcome.state == "dropped" and outcome.changes.get("last_status") is None)
            ):
                continue  # refused before sending says nothing about the host
            failed = outcome.state in ("queued", "failed")
            results.append((row.host, not failed, outcome.error))
        await health.record(session, health.tally(results), self.host_policy)

    async def _outcome(self, row: Delivery, result: PostResult) -> Outcome:
        verdict, rule = classify(result)
        changes: dict[str, Any] = {
            "last_status": result.status,
            "last_response": (result.error or result.body_excerpt or "")[:MAX_RESPONSE_CHARS]
            or None,
            "signature_scheme": result.scheme_used,
        }
        log.debug(
            "delivery answered",
            extra={"inbox": row.inbox_url, "status": result.status, "verdict": verdict.value},
        )
        if verdict is Verdict.SENT:
            return Outcome(state="sent", changes={**changes, "delivered_at": utcnow()})
        if verdict is Verdict.GONE:
            if self.on_gone is not None:
                await self.on_gone(row.inbox_url)
            return Outcome(state="gone", error=rule, changes=changes)
        if verdict is Verdict.DROP:
            return Outcome(state="dropped", error=rule, changes=changes)
        when = retry_after(result) if verdict is Verdict.WAIT else None
        when = when or utcnow() + backoff_delay(row.attempts + 1)
        if self._past_horizon(row, when):
            return Outcome(
                state="failed",
                error=f"gave up after {row.attempts + 1} attempts: {rule}",
                changes=changes,
            )
        return Outcome(state="queued", error=rule, retry_at=when, changes=changes)

    def _past_horizon(self, row: Delivery, next_attempt: datetime) -> bool:
        return next_attempt - row.created_at > self.retry_horizon
