"""The job runner: claim due rows with a lease, run their handlers, apply the transitions.

Claiming is one statement: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)` on
PostgreSQL (many workers never take the same row), the same without the lock clause on SQLite
(one writer at a time makes it atomic). A lease that expires (a killed worker) returns the row to
the pool. Outcomes of a whole batch are written in one transaction: group commits are what make
SQLite keep up (PERFORMANCE.md: ~1 ms per commit, ~100k rows/s in batches).

`run_once` works batch by batch (tests step it). `run_forever` does the same for most kinds, but
a kind marked `pipelined` runs as a stream: the worker keeps up to `batch_size` of its rows in
hand, writes outcomes as they arrive (still grouped, a few ms apart) and claims more as soon as
a quarter of its slots are free, so one slow row (a delivery waiting out its timeout) no longer
holds up the rows claimed with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fediverse.jobs.graph import StateGraph
from fediverse.store.tables import JobColumns
from fediverse.store.types import utcnow

log = logging.getLogger(__name__)

Row = TypeVar("Row", bound=JobColumns)
MAX_ERROR_CHARS = 2000
# A pipelined kind writes outcomes in group commits, not one per row: when a quarter of its
# rows have an outcome, when none is still running, or this long after the first outcome.
FLUSH_SECONDS = 0.05


@dataclass(frozen=True)
class Outcome:
    """What a handler decided for one row.

    `state` is the next state. Staying in the same active state is a retry: give `retry_at`
    (or the runner backs off). Moving to another active state starts it now, or at `retry_at`
    when given (a retry state of its own). `changes` are extra columns to write.
    """

    state: str
    error: str | None = None
    retry_at: datetime | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    count_attempt: bool = True


# How a handler hands back one row's outcome as soon as it is known (pipelined kinds).
ReportOutcome = Callable[[int, Outcome], None]


class JobKind(Generic[Row]):
    """One kind of background work: a table of rows moving through a state graph.

    Subclasses set `name`, `table` and `graph` and define `handle_<state>(row) -> Outcome` for
    every active state, or override `handle_batch` to work on a claimed batch as a whole.
    """

    name: ClassVar[str]
    table: ClassVar[type[Any]]
    graph: ClassVar[type[StateGraph]]
    concurrency: ClassVar[int] = 8
    # May `run_forever` claim more rows while earlier ones are still being handled? Only when
    # `claim_filter` alone keeps the kind's ordering rule (deliveries: one unfinished row per
    # (inbox, sender)); a kind that orders work inside a batch (the inbox) must stay batched.
    pipelined: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        graph = cls.__dict__.get("graph")
        if graph is None:
            return
        missing = [s for s in graph.active() if not hasattr(cls, f"handle_{s}")]
        if missing and "handle_batch" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} has no handler for states {missing}")

    def claim_filter(self) -> ColumnElement[bool] | None:
        """Return an extra condition rows must meet to be claimed (e.g. ordering rules)."""
        return None

    def claim_order(self) -> Sequence[Any]:
        return (self.table.next_attempt_at, self.table.id)

    async def handle_batch(self, rows: Sequence[Row]) -> dict[int, Outcome]:
        """Run `handle_<state>` for each row, a few at a time."""
        limit = asyncio.Semaphore(self.concurrency)

        async def one(row: Row) -> tuple[int, Outcome]:
            async with limit:
                handler = getattr(self, f"handle_{row.state}")
                try:
                    outcome: Outcome = await handler(row)
                except Exception as exc:  # a bug must not take the worker down
                    log.exception("job handler failed", extra={"job": self.name, "id": row.id})
                    outcome = self.crashed(row, describe_error(exc))
                return row.id, outcome

        return dict(await asyncio.gather(*(one(row) for row in rows)))

    def crashed(self, row: Row, error: str) -> Outcome:
        """Decide a row whose handling raised or gave no outcome: by default, retry it later
        (backoff); kinds that can bound their retries override this."""
        return Outcome(state=row.state, error=error)

    async def handle_each(self, rows: Sequence[Row], report: ReportOutcome) -> None:
        """Handle claimed rows, calling `report(row_id, outcome)` as each one is decided.

        Pipelined kinds override this to report rows one by one; the default reports the
        whole batch when `handle_batch` returns.
        """
        for row_id, outcome in (await self.handle_batch(rows)).items():
            report(row_id, outcome)

    async def after_batch(
        self, session: AsyncSession, rows: Sequence[Row], outcomes: dict[int, Outcome]
    ) -> None:
        """Record anything derived from a batch's outcomes, in the same transaction."""
        del session, rows, outcomes

    def default_retry(self, row: Row) -> datetime:
        from fediverse.jobs.backoff import backoff_delay

        return utcnow() + backoff_delay(row.attempts + 1)


def describe_error(exc: BaseException) -> str:
    """Return the one-line description of an unexpected error that a row records."""
    return f"{type(exc).__name__}: {exc}"


def storable_text(text: str) -> str:
    """Return `text` as both engines can store it: a lone surrogate (remote input quoted in an
    error) is escaped, and U+0000, which PostgreSQL refuses in text, is spelt out."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


class JobRunner:
    """Work through every registered job kind; `run_once` for tests, `run_forever` to serve."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        dialect: str,
        batch_size: int = 50,
        lease: timedelta = timedelta(minutes=2),
        poll_interval: float = 1.0,
        worker_id: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.dialect = dialect
        self.batch_size = batch_size
        self.lease = lease
        self.poll_interval = poll_interval
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.kinds: dict[str, JobKind[Any]] = {}
        self._wakers: list[_Waker] = []

    def register(self, kind: JobKind[Any]) -> None:
        if kind.name in self.kinds:
            raise ValueError(f"job kind {kind.name!r} is registered twice")
        self.kinds[kind.name] = kind

    def wake(self) -> None:
        """Ask an idle `run_forever` loop to look for work now (new rows were just written)."""
        for waker in self._wakers:
            waker.poke()

    async def claim(self, kind: JobKind[Row], limit: int | None = None) -> list[Row]:
        """Lease up to `limit` due rows of `kind` to this worker and return them."""
        table = kind.table
        now = utcnow()
        due = (
            select(table.id)
            .where(
                table.state.in_(kind.graph.active()),
                table.next_attempt_at <= now,
                or_(table.lease_expires_at.is_(None), table.lease_expires_at < now),
            )
            .order_by(*kind.claim_order())
            .limit(limit or self.batch_size)
        )
        extra = kind.claim_filter()
        if extra is not None:
            due = due.where(extra)
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(table)
            .where(table.id.in_(due.scalar_subquery()))
            .values(lease_owner=self.worker_id, lease_expires_at=now + self.lease)
            .returning(table)
            .execution_options(synchronize_session=False)
        )
        async with self.sessions() as session:
            rows = list((await session.scalars(statement)).all())
            await session.commit()
        rows.sort(key=lambda row: row.id)
        return rows

    async def apply(
        self, kind: JobKind[Row], rows: Sequence[Row], outcomes: dict[int, Outcome]
    ) -> None:
        """Write a batch's outcomes in one transaction and release the leases."""
        table = kind.table
        now = utcnow()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            outcome = outcomes.get(row.id) or kind.crashed(row, "the handler gave no outcome")
            kind.graph.check_transition(row.state, outcome.state)
            attempts = row.attempts + (1 if outcome.count_attempt else 0)
            staying = outcome.state == row.state and outcome.state in kind.graph.active()
            if outcome.retry_at is not None and outcome.state in kind.graph.active():
                next_at = outcome.retry_at  # a retry, in this state or another active one
            else:
                next_at = kind.default_retry(row) if staying else now
            values = {
                "state": outcome.state,
                "attempts": attempts,
                "next_attempt_at": next_at,
                "last_error": storable_text(outcome.error[:MAX_ERROR_CHARS])
                if outcome.error
                else None,
                "state_changed_at": row.state_changed_at if staying else now,
                **outcome.changes,
            }
            params = {f"v_{key}": value for key, value in values.items()}
            params["b_id"] = row.id
            groups[tuple(sorted(values))].append(params)
        async with self.sessions() as session:
            for keys, params_list in groups.items():
                statement = (
                    update(table)
                    .where(table.id == bindparam("b_id"), table.lease_owner == self.worker_id)
                    .values(
                        lease_owner=None,
                        lease_expires_at=None,
                        **{key: bindparam(f"v_{key}") for key in keys},
                    )
                    .execution_options(synchronize_session=False)
                )
                await (await session.connection()).execute(statement, params_list)
            await kind.after_batch(session, rows, outcomes)
            await session.commit()

    async def renew_leases(self, kind: JobKind[Any], row_ids: Sequence[int]) -> None:
        """Extend this worker's leases on rows it is still working on."""
        table = kind.table
        async with self.sessions() as session:
            await session.execute(
                update(table)
                .where(table.id.in_(list(row_ids)), table.lease_owner == self.worker_id)
                .values(lease_expires_at=utcnow() + self.lease)
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def run_kind_once(self, kind: JobKind[Any]) -> int:
        rows = await self.claim(kind)
        if not rows:
            return 0
        try:
            outcomes = await kind.handle_batch(rows)
        except Exception as exc:
            # Which rows took effect is unknown: each is retried (kinds are idempotent), with
            # backoff and the error recorded, rather than left leased to be re-run blindly.
            log.exception("job batch failed", extra={"job": kind.name, "rows": len(rows)})
            error = describe_error(exc)
            outcomes = {row.id: kind.crashed(row, error) for row in rows}
        await self.apply(kind, rows, outcomes)
        return len(rows)

    async def run_once(self, *names: str) -> int:
        """Process one batch of every (or the named) job kind; return how many rows ran."""
        total = 0
        for name, kind in self.kinds.items():
            if not names or name in names:
                total += await self.run_kind_once(kind)
        return total

    async def run_until_idle(self, *names: str, max_rounds: int = 1000) -> int:
        """Keep running batches until nothing is due (tests; never sleeps)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once(*names)
            total += done
            if done == 0:
                return total
        raise RuntimeError(f"jobs still due after {max_rounds} rounds")

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, sleeping `poll_interval` (or until woken) when idle.

        Pipelined kinds each run in a lane of their own; the others share one batch loop.
        """
        log.info("worker started", extra={"worker": self.worker_id, "kinds": list(self.kinds)})
        batched = [name for name, kind in self.kinds.items() if not kind.pipelined]
        lanes = [self._run_pipelined(kind, stop) for kind in self.kinds.values() if kind.pipelined]
        if batched:
            lanes.append(self._run_batched(batched, stop))

        async def wake_on_stop() -> None:
            await stop.wait()
            self.wake()

        relay = asyncio.ensure_future(wake_on_stop())
        try:
            await asyncio.gather(*lanes)
        finally:
            relay.cancel()
        log.info("worker stopped", extra={"worker": self.worker_id})

    async def _run_batched(self, names: list[str], stop: asyncio.Event) -> None:
        with self._waker() as waker:
            while not stop.is_set():
                waker.clear()
                try:
                    done = await self.run_once(*names)
                except Exception:
                    log.exception("worker round failed; retrying shortly")
                    done = 0
                if not done:
                    await waker.wait(self.poll_interval)

    async def _run_pipelined(self, kind: JobKind[Row], stop: asyncio.Event) -> None:
        """Stream one kind's rows: hold at most `batch_size` leased rows, claim more when a
        quarter is free, write outcomes in group commits, finish what is in hand on stop.
        """
        capacity = self.batch_size
        top_up = max(1, capacity // 4)
        in_hand: dict[int, Row] = {}  # leased to us, outcome not written yet
        decided: dict[int, Outcome] = {}  # outcomes waiting for the next group commit
        first_decided_at = 0.0
        handlers: set[asyncio.Task[None]] = set()
        may_claim = True  # False after a short claim, until woken, a write or a poll
        # Rows can wait behind a per-host limit longer than a lease: renew the leases of what is
        # still in hand well before they run out, so no other worker takes and resends them.
        renew_every = max(0.05, self.lease.total_seconds() / 3)
        next_renewal = time.monotonic() + renew_every

        with self._waker() as waker:

            def accept(row: Row, outcome: Outcome) -> None:
                nonlocal first_decided_at
                if in_hand.get(row.id) is not row or row.id in decided:
                    return  # from an earlier claim of the row, or already decided
                if not decided:
                    first_decided_at = time.monotonic()
                decided[row.id] = outcome
                waker.event.set()

            try:
                while True:
                    waker.clear()
                    if waker.poked:
                        may_claim, waker.poked = True, False
                    stopping = stop.is_set()
                    if decided and (
                        stopping
                        or len(decided) == len(in_hand)
                        or len(decided) >= top_up
                        or time.monotonic() - first_decided_at >= FLUSH_SECONDS
                    ):
                        finished = [in_hand.pop(row_id) for row_id in decided]
                        outcomes = dict(decided)
                        decided.clear()
                        try:
                            await self.apply(kind, finished, outcomes)
                        except Exception:
                            log.exception("writing outcomes failed; their leases will expire")
                        may_claim = True  # finished rows may unblock the next in their order
                    if in_hand and time.monotonic() >= next_renewal:
                        try:
                            await self.renew_leases(kind, list(in_hand))
                        except Exception:
                            log.exception("renewing leases failed; retrying shortly")
                        next_renewal = time.monotonic() + renew_every
                    if stopping:
                        if not in_hand:
                            return
                    elif may_claim and (not in_hand or capacity - len(in_hand) >= top_up):
                        wanted = capacity - len(in_hand)
                        try:
                            rows = await self.claim(kind, wanted)
                        except Exception:
                            log.exception("claiming failed; retrying shortly")
                            rows = []
                        may_claim = len(rows) == wanted
                        if rows:
                            in_hand.update((row.id, row) for row in rows)
                            task = asyncio.ensure_future(self._handle(kind, rows, accept))
                            handlers.add(task)
                            task.add_done_callback(handlers.discard)
                            continue
                    if decided:
                        timeout = first_decided_at + FLUSH_SECONDS - time.monotonic()
                    else:
                        timeout = self.poll_interval
                    if in_hand:
                        timeout = min(timeout, next_renewal - time.monotonic())
                    if not await waker.wait(max(0.0, timeout)) and not decided:
                        may_claim = True  # a poll: retries may have come due
            finally:
                for task in handlers:
                    task.cancel()

    async def _handle(
        self, kind: JobKind[Row], rows: Sequence[Row], accept: Callable[[Row, Outcome], None]
    ) -> None:
        """Run one claim's handler, passing each outcome on with the row it belongs to."""
        claimed = {row.id: row for row in rows}
        reported: set[int] = set()

        def report(row_id: int, outcome: Outcome) -> None:
            row = claimed.get(row_id)
            if row is not None and row_id not in reported:
                reported.add(row_id)
                accept(row, outcome)

        error = "the handler gave no outcome"
        try:
            await kind.handle_each(rows, report)
        except Exception as exc:
            log.exception("job handler failed", extra={"job": kind.name, "rows": len(rows)})
            error = describe_error(exc)
        for row in rows:  # as `apply` does for a batch: a row left undecided is retried
            if row.id not in reported:
                accept(row, kind.crashed(row, error))

    @contextmanager
    def _waker(self) -> Iterator[_Waker]:
        """Register a lane's waker with `wake()` for as long as the lane runs."""
        waker = _Waker()
        self._wakers.append(waker)
        try:
            yield waker
        finally:
            self._wakers.remove(waker)


class _Waker:
    """What a worker lane sleeps on: its own progress, `wake()` (new rows), or stopping."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.poked = False

    def poke(self) -> None:
        self.poked = True
        self.event.set()

    def clear(self) -> None:
        self.event.clear()

    async def wait(self, seconds: float) -> bool:
        """Sleep until set or `seconds` pass; return whether it was set."""
        try:
            async with asyncio.timeout(seconds):
                await self.event.wait()
        except TimeoutError:
            return False
        return True
