"""The inbox job: apply stored activities through the handler registry.

Items from one actor are applied in arrival order (a Follow before its Undo); different actors
run concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from fediverse.activitypub.parse import ParseError, parse_activity
from fediverse.errors import FediverseError
from fediverse.inbox.registry import Delivered, HandlerRegistry, Ignored, RetryLater
from fediverse.inbox.states import InboxStates
from fediverse.jobs.backoff import backoff_delay
from fediverse.jobs.runner import JobKind, Outcome
from fediverse.services import remote_actors
from fediverse.services.context import Context
from fediverse.store.tables import InboxItem
from fediverse.store.types import utcnow

log = logging.getLogger(__name__)

RETRY_HORIZON = timedelta(days=1)


class InboxJob(JobKind[InboxItem]):
    name = "inbox"
    table = InboxItem
    graph = InboxStates

    def __init__(self, ctx: Context, registry: HandlerRegistry) -> None:
        self.ctx = ctx
        self.registry = registry

    async def handle_batch(self, rows: Sequence[InboxItem]) -> dict[int, Outcome]:
        by_actor: dict[str, list[InboxItem]] = defaultdict(list)
        for row in rows:
            by_actor[row.actor_uri].append(row)
        outcomes: dict[int, Outcome] = {}

        async def run_actor(items: list[InboxItem]) -> None:
            for item in sorted(items, key=lambda row: row.id):
                outcomes[item.id] = await self.handle_received(item)

        await asyncio.gather(*(run_actor(items) for items in by_actor.values()))
        return outcomes

    async def handle_received(self, item: InboxItem) -> Outcome:
        try:
            activity = parse_activity(item.payload)
        except ParseError as exc:
            return Outcome(state="ignored", error=f"unparseable: {exc}")
        handler = self.registry.find(activity.type, activity.object_type)
        if handler is None:
            return Outcome(
                state="unsupported", error=f"no handler for {activity.type}/{activity.object_type}"
            )
        try:
            actor = await remote_actors.get_actor(self.ctx, activity.actor)
            await handler(Delivered(self.ctx, activity, actor, item.recipient_id))
        except Ignored as exc:
            return Outcome(state="ignored", error=exc.reason)
        except (RetryLater, remote_actors.RemoteActorError) as exc:
            return self._retry(item, str(exc))
        except FediverseError as exc:
            # A clear refusal from a service (unknown target, not allowed): nothing to retry.
            return Outcome(state="ignored", error=exc.message)
        return Outcome(state="processed")

    def _retry(self, item: InboxItem, reason: str) -> Outcome:
        when = utcnow() + backoff_delay(item.attempts + 1)
        if when - item.received_at > RETRY_HORIZON:
            return Outcome(state="failed", error=reason)
        return Outcome(state="received", error=reason, retry_at=when)
