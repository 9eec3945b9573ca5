"""The inbox job: apply stored activities through the handler registry.

Items from one actor are applied in arrival order (a Follow before its Undo); different actors
run concurrently.

Each item's outcome is its own. A handler that raises something unexpected costs only its own
item, which is retried with backoff and ends `failed` after `MAX_ATTEMPTS_AFTER_ERROR`
attempts; transient trouble (a remote that cannot be reached) is retried up to `MAX_ATTEMPTS`
times within `RETRY_HORIZON`. An item may still be applied twice (a worker that dies between
an item's commit and its outcome write), so handlers are idempotent by activity id.
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
from fediverse.jobs.runner import JobKind, Outcome, ReportOutcome, describe_error
from fediverse.services import remote_actors
from fediverse.services.context import Context
from fediverse.store.tables import InboxItem
from fediverse.store.types import utcnow

log = logging.getLogger(__name__)

# No item is retried past a day after it arrived, whatever the reason.
RETRY_HORIZON = timedelta(days=1)
# Attempts before a transient failure is final: with backoff doubling from 30 s, about 4 h.
MAX_ATTEMPTS = 10
# Attempts before an unexpected error is final: enough to ride out a database hiccup; a bug or
# a poison payload fails the same way every time.
MAX_ATTEMPTS_AFTER_ERROR = 4
# Longest one item may take, fetches and database waits included; then it is retried.
ITEM_DEADLINE_SECONDS = 60.0


class InboxJob(JobKind[InboxItem]):
    name = "inbox"
    table = InboxItem
    graph = InboxStates

    def __init__(self, ctx: Context, registry: HandlerRegistry) -> None:
        self.ctx = ctx
        self.registry = registry

    async def handle_batch(self, rows: Sequence[InboxItem]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        await self.handle_each(rows, outcomes.__setitem__)
        return outcomes

    async def handle_each(self, rows: Sequence[InboxItem], report: ReportOutcome) -> None:
        """Apply each actor's items in order, actors concurrently, reporting every outcome as
        soon as it is known; never raises."""
        by_actor: dict[str, list[InboxItem]] = defaultdict(list)
        for row in rows:
            by_actor[row.actor_uri].append(row)

        async def run_actor(items: list[InboxItem]) -> None:
            for item in sorted(items, key=lambda row: row.id):
                report(item.id, await self.apply_item(item))

        await asyncio.gather(*(run_actor(items) for items in by_actor.values()))

    async def handle_received(self, item: InboxItem) -> Outcome:
        return await self.apply_item(item)

    async def handle_retrying(self, item: InboxItem) -> Outcome:
        return await self.apply_item(item)

    async def apply_item(self, item: InboxItem) -> Outcome:
        """Run one item's handler and decide its outcome, whatever the handler does."""
        deadline = asyncio.timeout(ITEM_DEADLINE_SECONDS)
        try:
            async with deadline:
                return await self._dispatch(item)
        except Exception as exc:
            log.exception(
                "inbox handler failed",
                extra={"item": item.id, "activity": item.activity_uri, "attempt": item.attempts},
            )
            if deadline.expired():
                return self.crashed(item, f"not applied within {ITEM_DEADLINE_SECONDS:g} s")
            return self.crashed(item, describe_error(exc))

    async def _dispatch(self, item: InboxItem) -> Outcome:
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
            return self._retry(item, str(exc), MAX_ATTEMPTS)
        except FediverseError as exc:
            # A clear refusal from a service (unknown target, not allowed): nothing to retry.
            return Outcome(state="ignored", error=exc.message)
        return Outcome(state="processed")

    def crashed(self, row: InboxItem, error: str) -> Outcome:
        return self._retry(row, error, MAX_ATTEMPTS_AFTER_ERROR)

    def _retry(self, item: InboxItem, reason: str, max_attempts: int) -> Outcome:
        attempts = item.attempts + 1
        when = utcnow() + backoff_delay(attempts)
        if attempts >= max_attempts or when - item.received_at > RETRY_HORIZON:
            return Outcome(state="failed", error=f"gave up after {attempts} attempts: {reason}")
        return Outcome(state="retrying", error=reason, retry_at=when)
