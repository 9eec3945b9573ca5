"""The inbox job: apply stored activities through the handler registry.

Items from one actor are applied in arrival order (a Follow before its Undo): a claim takes a
run of an actor's due items, applied one after another, and no other claim takes an item of that
actor while they are in hand (`claim_filter`). An item that waits for a retry gives up its place;
the ones behind it go on. Different actors run concurrently, and the job is `pipelined`: each
outcome is written as it comes and new items are claimed while others still wait on a remote
server, so an item that must fetch something never holds up one that does not.

Fetches made here go through a background view of the HTTP client: a deadline of
`inbox_fetch_timeout_seconds` and, for a host that already has `max_fetches_per_host` fetches in
flight, no queueing: the item is deferred (not counted as an attempt) and tried again once the
fetches ahead of it have had their deadline.

Each item's outcome is its own. A handler that raises something unexpected costs only its own
item, which is retried with backoff and ends `failed` after `MAX_ATTEMPTS_AFTER_ERROR`
attempts; transient trouble (a remote that cannot be reached) is retried up to `MAX_ATTEMPTS`
times within `RETRY_HORIZON`. An item may still be applied twice (a worker that dies between
an item's commit and its outcome write), so handlers are idempotent by activity id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, select
from sqlalchemy.orm import aliased

from fediverse.activitypub.client import FetchError, HostBusyError, is_transient
from fediverse.activitypub.parse import ParseError, parse_activity
from fediverse.errors import FediverseError
from fediverse.inbox.registry import Delivered, HandlerRegistry, Ignored, RetryLater
from fediverse.inbox.states import InboxStates
from fediverse.jobs.backoff import backoff_delay
from fediverse.jobs.runner import JobKind, Outcome, ReportOutcome, describe_error
from fediverse.services import remote_actors
from fediverse.services.context import Context
from fediverse.store.tables import InboxItem
from fediverse.store.types import UTCDateTime, utcnow

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
# Most items of one actor a claim takes (in order): a busy relay or group goes at this many
# per round trip instead of one.
ITEMS_PER_ACTOR = 10


def _next_of_its_actor() -> ColumnElement[bool]:
    """Claim an item only while no earlier item of its actor is in hand, and only among the
    first `ITEMS_PER_ACTOR` of its actor that are due: a claim takes a run of one actor's
    items (applied one after another, oldest first), and no other claim takes the items behind
    it until they are done.
    """
    earlier = aliased(InboxItem)
    now = bindparam("inbox_now", type_=UTCDateTime(), callable_=utcnow)
    due_before = and_(
        earlier.actor_uri == InboxItem.actor_uri,
        earlier.state.in_(InboxStates.active()),
        earlier.next_attempt_at <= now,
        earlier.id < InboxItem.id,
    )
    in_hand = exists(select(earlier.id).where(due_before, earlier.lease_expires_at > now))
    too_far_back = (
        select(earlier.id).where(due_before).limit(1).offset(ITEMS_PER_ACTOR - 1)
    ).scalar_subquery()
    return ~in_hand & too_far_back.is_(None)


# Built once: the time is bound when each claim runs.
_NEXT_OF_ITS_ACTOR = _next_of_its_actor()
# PostgreSQL runs claims side by side, and one claim cannot see the leases another is writing:
# a claim also takes a transaction-scoped lock on each actor it considers, and skips an actor
# another claim holds (two claims that both saw an actor's earlier item free would otherwise
# take its items apart). SQLite runs one writer at a time and needs none.
_INBOX_LOCK_SPACE = 0x1B0C
_ACTOR_FREE_ON_POSTGRESQL = func.pg_try_advisory_xact_lock(
    _INBOX_LOCK_SPACE, func.hashtext(InboxItem.actor_uri)
)


def _fetch_failure(exc: BaseException) -> FetchError | None:
    """Return the failed fetch behind a service's refusal, if one is behind it."""
    cause = exc.__cause__
    for _ in range(4):  # chains are short; never follow a cycle
        if cause is None or isinstance(cause, FetchError):
            return cause
        cause = cause.__cause__
    return None


class InboxJob(JobKind[InboxItem]):
    name = "inbox"
    table = InboxItem
    graph = InboxStates
    pipelined = True

    def __init__(self, ctx: Context, registry: HandlerRegistry) -> None:
        self.ctx = ctx
        self.registry = registry
        self.fetch_timeout = ctx.config.federation.inbox_fetch_timeout_seconds
        self.http = ctx.http.for_background(timeout_seconds=self.fetch_timeout)

    def claim_filter(self) -> ColumnElement[bool]:
        if self.ctx.engine.dialect.name == "postgresql":
            return _NEXT_OF_ITS_ACTOR & _ACTOR_FREE_ON_POSTGRESQL
        return _NEXT_OF_ITS_ACTOR

    def claim_order(self) -> Sequence[Any]:
        """Claim in arrival order, so a claim never takes an actor's later item without the
        earlier due ones (a retry that came due goes before what arrived after it)."""
        return (InboxItem.id,)

    async def handle_batch(self, rows: Sequence[InboxItem]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        await self.handle_each(rows, outcomes.__setitem__)
        return outcomes

    async def handle_each(self, rows: Sequence[InboxItem], report: ReportOutcome) -> None:
        """Apply each actor's claimed items in order, actors concurrently, reporting every
        outcome as soon as it is known; never raises."""
        # Built per claim, not once: `ctx.wake_workers` is only set after the job is made.
        ctx = dataclasses.replace(self.ctx, http=self.http)
        by_actor: dict[str, list[InboxItem]] = defaultdict(list)
        for row in sorted(rows, key=lambda row: row.id):
            by_actor[row.actor_uri].append(row)

        async def run_actor(items: list[InboxItem]) -> None:
            for item in items:
                report(item.id, await self.apply_item(ctx, item))

        await asyncio.gather(*(run_actor(items) for items in by_actor.values()))

    async def apply_item(self, ctx: Context, item: InboxItem) -> Outcome:
        """Run one item's handler and decide its outcome, whatever the handler does."""
        deadline = asyncio.timeout(ITEM_DEADLINE_SECONDS)
        try:
            async with deadline:
                return await self._dispatch(ctx, item)
        except Exception as exc:
            log.exception(
                "inbox handler failed",
                extra={"item": item.id, "activity": item.activity_uri, "attempt": item.attempts},
            )
            if deadline.expired():
                return self.crashed(item, f"not applied within {ITEM_DEADLINE_SECONDS:g} s")
            return self.crashed(item, describe_error(exc))

    async def _dispatch(self, ctx: Context, item: InboxItem) -> Outcome:
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
            actor = await remote_actors.get_actor(ctx, activity.actor)
            await handler(Delivered(ctx, activity, actor, item.recipient_id))
        except Ignored as exc:
            failure = _fetch_failure(exc)  # "ignored" only because a fetch failed?
            if failure is not None:
                return self._after_fetch(item, failure, exc.reason)
            return Outcome(state="ignored", error=exc.reason)
        except RetryLater as exc:
            return self._retry(item, exc.reason, MAX_ATTEMPTS)
        except FetchError as exc:
            return self._after_fetch(item, exc, exc.reason)
        except FediverseError as exc:
            failure = _fetch_failure(exc)
            if failure is not None:
                return self._after_fetch(item, failure, exc.message)
            if isinstance(exc, remote_actors.RemoteActorError):
                return self._retry(item, exc.message, MAX_ATTEMPTS)
            # A clear refusal from a service (unknown target, not allowed): nothing to retry.
            return Outcome(state="ignored", error=exc.message)
        return Outcome(state="processed")

    def _after_fetch(self, item: InboxItem, failure: FetchError, reason: str) -> Outcome:
        """Decide an item whose handler could not fetch what it needed."""
        if isinstance(failure, HostBusyError):
            return self._defer(item, reason)
        if is_transient(failure):
            return self._retry(item, reason, MAX_ATTEMPTS)
        return Outcome(state="ignored", error=reason)  # the remote's final word (404, ...)

    def crashed(self, row: InboxItem, error: str) -> Outcome:
        return self._retry(row, error, MAX_ATTEMPTS_AFTER_ERROR)

    def _retry(self, item: InboxItem, reason: str, max_attempts: int) -> Outcome:
        attempts = item.attempts + 1
        when = utcnow() + backoff_delay(attempts)
        if attempts >= max_attempts or when - item.received_at > RETRY_HORIZON:
            return Outcome(state="failed", error=f"gave up after {attempts} attempts: {reason}")
        return Outcome(state="retrying", error=reason, retry_at=when)

    def _defer(self, item: InboxItem, reason: str) -> Outcome:
        """Try again once the fetches ahead of this one have had their deadline; the host
        being busy is not the item's failure, so it costs no attempt."""
        when = utcnow() + timedelta(seconds=self.fetch_timeout * (1 + random.random()))
        if when - item.received_at > RETRY_HORIZON:
            return Outcome(state="failed", error=f"gave up waiting for a busy host: {reason}")
        return Outcome(state="retrying", error=reason, retry_at=when, count_attempt=False)
