"""State graphs and the job runner, on both engines: claims, leases, retries, transitions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select

from fediverse.config import DatabaseSettings
from fediverse.jobs.backoff import backoff_delay
from fediverse.jobs.graph import GraphError, State, StateGraph
from fediverse.jobs.runner import JobKind, JobRunner, Outcome
from fediverse.store.engine import create_engine, create_sessionmaker
from fediverse.store.migrate import upgrade
from fediverse.store.tables import InboxItem
from fediverse.store.types import utcnow
from tests.conftest import Database


class ItemStates(StateGraph):
    received = State(initial=True, next=("processed", "ignored", "unsupported", "failed"))
    processed = State()
    ignored = State()
    unsupported = State()
    failed = State()


class RecordingJob(JobKind[InboxItem]):
    """Processes items by the verdict written in their payload."""

    name = "test-items"
    table = InboxItem
    graph = ItemStates

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle_received(self, row: InboxItem) -> Outcome:
        self.seen.append(row.id)
        verdict = row.payload["verdict"]
        if verdict == "retry":
            return Outcome(
                state="received", error="try again", retry_at=utcnow() + timedelta(hours=1)
            )
        if verdict == "boom":
            raise RuntimeError("handler bug")
        if verdict == "illegal":
            return Outcome(state="nowhere")
        return Outcome(state=verdict)


@pytest.fixture
async def sessions(database: Database) -> AsyncIterator:  # type: ignore[type-arg]
    engine = create_engine(DatabaseSettings(url=database.url, schema=database.schema))
    await upgrade(engine, schema=database.schema)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _add_items(sessions, verdicts: Sequence[str]) -> list[int]:  # type: ignore[no-untyped-def]
    now = utcnow()
    ids = []
    async with sessions() as session:
        for index, verdict in enumerate(verdicts):
            item = InboxItem(
                activity_uri=f"https://b.test/activities/{index}-{verdict}",
                activity_type="Test",
                actor_uri="https://b.test/users/x",
                signer_key_id="https://b.test/users/x#main-key",
                payload={"verdict": verdict},
                state="received",
                next_attempt_at=now,
            )
            session.add(item)
            await session.flush()
            ids.append(item.id)
        await session.commit()
    return ids


def _runner(sessions, database: Database, **kwargs) -> JobRunner:  # type: ignore[no-untyped-def]
    return JobRunner(sessions, dialect=database.engine_name, **kwargs)


async def test_outcomes_are_applied_and_terminal_rows_never_rerun(
    sessions, database: Database
) -> None:
    ids = await _add_items(sessions, ["processed", "ignored", "retry", "boom"])
    runner = _runner(sessions, database)
    job = RecordingJob()
    runner.register(job)
    assert await runner.run_once() == 4
    async with sessions() as session:
        rows = {row.id: row for row in (await session.scalars(select(InboxItem))).all()}
    assert rows[ids[0]].state == "processed" and rows[ids[0]].attempts == 1
    assert rows[ids[1]].state == "ignored"
    retried = rows[ids[2]]
    assert retried.state == "received" and retried.last_error == "try again"
    assert retried.next_attempt_at > utcnow() + timedelta(minutes=59)
    crashed = rows[ids[3]]
    assert crashed.state == "received" and "handler bug" in (crashed.last_error or "")
    assert crashed.next_attempt_at > utcnow()  # backed off, not hot-looping
    assert all(row.lease_owner is None for row in rows.values())
    # Nothing is due any more: terminal rows and backed-off rows are not claimed.
    assert await runner.run_once() == 0
    assert sorted(job.seen) == sorted(ids)


async def test_two_workers_never_claim_the_same_row(sessions, database: Database) -> None:
    await _add_items(sessions, ["processed"] * 30)
    first = _runner(sessions, database, batch_size=10)
    second = _runner(sessions, database, batch_size=10)
    job = RecordingJob()
    claimed_first = await first.claim(job)
    claimed_second = await second.claim(job)
    assert len(claimed_first) == len(claimed_second) == 10
    assert not {r.id for r in claimed_first} & {r.id for r in claimed_second}


async def _row(sessions, row_id: int) -> InboxItem:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        row = await session.get(InboxItem, row_id)
    assert row is not None
    return row


async def test_an_expired_lease_returns_the_row_to_the_pool(sessions, database: Database) -> None:
    [item] = await _add_items(sessions, ["processed"])
    job = RecordingJob()
    late = _runner(sessions, database, lease=timedelta(seconds=-1))  # its lease is over at once
    stale = await late.claim(job)
    assert [row.id for row in stale] == [item]
    alive = _runner(sessions, database)
    alive.register(job)
    assert await alive.run_once() == 1  # the expired lease let another worker take it
    finished = await _row(sessions, item)
    assert finished.state == "processed" and finished.attempts == 1
    # The worker whose lease expired answers late: it cannot overwrite the finished row, nor
    # put a lease back on it.
    await late.apply(job, stale, {item: Outcome(state="failed", error="late answer")})
    await late.renew_leases(job, [item])
    after = await _row(sessions, item)
    assert (after.state, after.attempts, after.last_error) == ("processed", 1, None)
    assert after.lease_owner is None and after.lease_expires_at is None
    assert after.state_changed_at == finished.state_changed_at


async def test_a_late_worker_cannot_touch_a_row_another_worker_holds(
    sessions, database: Database
) -> None:
    [item] = await _add_items(sessions, ["processed"])
    job = RecordingJob()
    late = _runner(sessions, database, lease=timedelta(seconds=-1))
    stale = await late.claim(job)
    holder = _runner(sessions, database, lease=timedelta(minutes=5))
    held = await holder.claim(job)
    assert [row.id for row in held] == [item]
    leased = await _row(sessions, item)
    await late.apply(job, stale, {item: Outcome(state="ignored", error="late answer")})
    await late.renew_leases(job, [item])
    meanwhile = await _row(sessions, item)
    assert (meanwhile.state, meanwhile.attempts, meanwhile.last_error) == ("received", 0, None)
    assert meanwhile.lease_owner == holder.worker_id
    assert meanwhile.lease_expires_at == leased.lease_expires_at  # not renewed by the late one
    await holder.apply(job, held, {item: Outcome(state="processed")})
    done = await _row(sessions, item)
    assert (done.state, done.attempts, done.lease_owner) == ("processed", 1, None)


async def test_undeclared_transition_is_refused(sessions, database: Database) -> None:
    await _add_items(sessions, ["illegal"])
    runner = _runner(sessions, database)
    runner.register(RecordingJob())
    with pytest.raises(GraphError, match="not a declared transition"):
        await runner.run_once()


def test_graphs_are_validated_when_defined() -> None:
    with pytest.raises(GraphError, match="unknown"):

        class Typo(StateGraph):
            start = State(initial=True, next=("dnoe",))
            done = State()

    with pytest.raises(GraphError, match="no initial"):

        class NoStart(StateGraph):
            start = State(next=("done",))
            done = State()

    assert ItemStates.active() == ("received",)
    with pytest.raises(TypeError, match="no handler"):

        class Missing(JobKind[InboxItem]):
            name = "missing"
            table = InboxItem
            graph = ItemStates


def test_registering_a_kind_twice_raises() -> None:
    runner = JobRunner(None, dialect="sqlite")  # type: ignore[arg-type]
    runner.register(RecordingJob())
    with pytest.raises(ValueError, match="twice"):
        runner.register(RecordingJob())


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff_delay(n, jitter=0).total_seconds() for n in range(1, 12)]
    assert delays[:4] == [30, 60, 120, 240]
    assert max(delays) == 6 * 3600
    jittered = {backoff_delay(3).total_seconds() for _ in range(20)}
    assert len(jittered) > 1 and all(90 <= d <= 150 for d in jittered)


class PipelinedJob(JobKind[InboxItem]):
    """Rows marked "slow" wait for a signal; every row reports its outcome as it finishes."""

    name = "pipelined-items"
    table = InboxItem
    graph = ItemStates
    pipelined = True

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.release = asyncio.Event()

    async def handle_batch(self, rows: Sequence[InboxItem]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        await self.handle_each(rows, outcomes.__setitem__)
        return outcomes

    async def handle_each(self, rows: Sequence[InboxItem], report) -> None:  # type: ignore[no-untyped-def]
        async def one(row: InboxItem) -> None:
            self.seen.append(row.id)
            if row.payload["verdict"] == "slow":
                await self.release.wait()
            report(row.id, Outcome(state="processed"))

        await asyncio.gather(*(one(row) for row in rows))


async def _states(sessions) -> dict[int, str]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return {row.id: row.state for row in (await session.scalars(select(InboxItem))).all()}


async def test_a_pipelined_kind_is_not_held_up_by_one_slow_row(
    sessions, database: Database
) -> None:
    ids = await _add_items(
        sessions,
        ["slow", "processed", "processed", "processed", "processed", "processed", "processed"],
    )
    runner = _runner(sessions, database, batch_size=4, poll_interval=0.01)
    job = PipelinedJob()
    runner.register(job)
    stop = asyncio.Event()
    worker = asyncio.create_task(runner.run_forever(stop))
    try:
        async with asyncio.timeout(10):
            while True:  # every fast row finishes while the slow one is still running
                states = await _states(sessions)
                if all(states[i] == "processed" for i in ids[1:]):
                    break
                await asyncio.sleep(0.02)
        assert states[ids[0]] == "received"
        job.release.set()
        # run_forever is what is under test here, so it cannot be stepped: poll, bounded.
        async with asyncio.timeout(10):
            while True:
                if (await _states(sessions))[ids[0]] == "processed":
                    break
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await worker
    assert sorted(job.seen) == sorted(ids)  # each row handled exactly once
    async with sessions() as session:
        leased = (await session.scalars(select(InboxItem.lease_owner))).all()
    assert set(leased) == {None}


async def test_a_pipelined_lane_renews_leases_of_rows_it_still_holds(
    sessions, database: Database
) -> None:
    ids = await _add_items(sessions, ["slow"])
    holder = _runner(
        sessions, database, batch_size=4, poll_interval=0.01, lease=timedelta(seconds=0.6)
    )
    job = PipelinedJob()
    holder.register(job)
    other = _runner(sessions, database)
    stop = asyncio.Event()
    worker = asyncio.create_task(holder.run_forever(stop))
    try:
        async with asyncio.timeout(10):
            while True:  # wait until the slow row is in hand
                if job.seen:
                    break
                await asyncio.sleep(0.02)
        await asyncio.sleep(1.5)  # well past the 0.6 s lease
        assert await other.claim(PipelinedJob()) == []  # still leased: renewed, not expired
        job.release.set()
        async with asyncio.timeout(10):
            while True:
                if (await _states(sessions))[ids[0]] == "processed":
                    break
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await worker
    assert job.seen == ids


class CrashingBatchJob(RecordingJob):
    """A kind whose whole batch handler raises (a bug outside any one row)."""

    name = "crashing-items"

    async def handle_batch(self, rows: Sequence[InboxItem]) -> dict[int, Outcome]:
        raise RuntimeError("batch handler bug")


async def test_a_batch_whose_handler_raises_releases_its_rows_for_a_later_retry(
    sessions, database: Database
) -> None:
    """Not left leased to be re-run blindly when the lease expires: each row records the
    error, counts the attempt and backs off."""
    ids = await _add_items(sessions, ["processed", "processed"])
    runner = _runner(sessions, database)
    runner.register(CrashingBatchJob())
    assert await runner.run_once() == 2
    for row_id in ids:
        row = await _row(sessions, row_id)
        assert (row.state, row.attempts, row.lease_owner) == ("received", 1, None)
        assert row.last_error == "RuntimeError: batch handler bug"
        assert row.next_attempt_at > utcnow()
    assert await runner.run_once() == 0
