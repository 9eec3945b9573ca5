"""The inbox's lanes: per-actor order, and no slow remote server holding up anyone else.

Eight Creates whose objects never load once delayed another server's Like by 80 s: the whole
claimed batch waited for its slowest item. Now fetches are capped per host and bounded in time,
a busy host's items are deferred instead of queueing, and each outcome is written as it comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from fediverse.inbox.job import ITEMS_PER_ACTOR
from fediverse.inbox.states import InboxStates
from fediverse.jobs.runner import JobRunner
from fediverse.services import posts
from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import Follow, InboxItem, Like, Post
from fediverse.store.types import utcnow
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance, fakenet
from tests.remote import RemoteActor, make_remote_actor, post_signed

INBOX = "https://a.test/inbox"
ALICE = "https://a.test/users/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
SLOW = "slow.example"


@pytest.fixture
async def sqlite_net(tmp_path: Path) -> AsyncIterator[FakeNet]:
    """A fake network on SQLite only, for tests of scheduling rather than of storage."""
    database = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
    async with fakenet(tmp_path, database) as network:
        yield network


async def states(instance: Instance) -> dict[str, InboxItem]:
    async with instance.ctx.sessions() as session:
        rows = (await session.scalars(select(InboxItem).order_by(InboxItem.id))).all()
    return {row.activity_uri: row for row in rows}


async def make_retries_due(instance: Instance) -> None:
    """Let backed-off items come due now: the tests' stand-in for waiting out the backoff."""
    async with instance.ctx.sessions() as session:
        await session.execute(
            update(InboxItem)
            .where(InboxItem.state.in_(InboxStates.active()))
            .values(next_attempt_at=utcnow())
        )
        await session.commit()


async def until(condition: Any) -> None:
    """Wait (bounded) for a condition about a worker running in the background: `run_forever`
    is what these tests exercise, so it cannot be stepped."""
    async with asyncio.timeout(20):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.01)


def follow(actor: RemoteActor) -> dict[str, Any]:
    return {"id": f"{actor.iri}/follows/1", "type": "Follow", "actor": actor.iri, "object": ALICE}


async def test_one_actors_items_are_applied_in_arrival_order(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    """While one worker holds an actor's items, no other claim takes that actor's next ones;
    a claim takes a run of them and applies it in order. So a Follow and its Undo can never be
    applied the wrong way round, by one worker or two."""
    other = make_remote_actor(net, "https://other.example/users/olga")
    undo = {
        "id": f"{remote_person.iri}#undo",
        "type": "Undo",
        "actor": remote_person.iri,
        "object": follow(remote_person),
    }
    for activity, actor in ((follow(remote_person), remote_person), (undo, remote_person)):
        assert (await post_signed(net, INBOX, activity, actor.key)).status_code == 202
    assert (await post_signed(net, INBOX, follow(other), other.key)).status_code == 202
    ctx = local_instance.ctx
    job = local_instance.runner.kinds["inbox"]
    first, second = (
        JobRunner(ctx.sessions, dialect=ctx.engine.dialect.name, worker_id=name)
        for name in ("first", "second")
    )
    [held] = await first.claim(job, limit=1)
    assert held.activity_uri == follow(remote_person)["id"]
    # rita's Follow is in hand: the other worker takes olga's, never rita's Undo.
    taken = await second.claim(job)
    assert [row.activity_uri for row in taken] == [follow(other)["id"]]
    await first.apply(job, [held], await job.handle_batch([held]))
    await second.apply(job, taken, await job.handle_batch(taken))
    [undo_row] = await second.claim(job)
    assert undo_row.activity_uri == undo["id"]
    await second.apply(job, [undo_row], await job.handle_batch([undo_row]))
    assert {row.state for row in (await states(local_instance)).values()} == {"processed"}
    async with ctx.sessions() as session:
        follows = (await session.scalars(select(Follow.uri))).all()
    assert follows == [follow(other)["id"]]  # rita followed, then undid it


async def test_a_claim_takes_a_bounded_run_of_one_actors_items_in_order(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    """A busy actor (a relay, a group) goes several items per claim, in order, never more
    than ITEMS_PER_ACTOR, and another worker claiming at the same time takes none of them."""
    liked = await posts.create_post(local_instance.ctx, "alice", posts.NewPost("like me"))
    count = ITEMS_PER_ACTOR + 2
    activities = []
    for number in range(count):
        kind = "Like" if number % 2 == 0 else "Undo"
        like_id = f"{remote_person.iri}#like{number - number % 2}"
        like = {"id": like_id, "type": "Like", "actor": remote_person.iri}
        like["object"] = liked.post.uri
        activity = (
            like
            if kind == "Like"
            else {
                "id": f"{like_id}/undo",
                "type": "Undo",
                "actor": remote_person.iri,
                "object": like,
            }
        )
        assert (await post_signed(net, INBOX, activity, remote_person.key)).status_code == 202
        activities.append(activity["id"])
    ctx = local_instance.ctx
    job = local_instance.runner.kinds["inbox"]
    first, second = (
        JobRunner(ctx.sessions, dialect=ctx.engine.dialect.name, worker_id=name)
        for name in ("first", "second")
    )
    run = await first.claim(job)
    assert [row.activity_uri for row in run] == activities[:ITEMS_PER_ACTOR]
    assert await second.claim(job) == []
    await first.apply(job, run, await job.handle_batch(run))
    rest = await second.claim(job)
    assert [row.activity_uri for row in rest] == activities[ITEMS_PER_ACTOR:]
    await second.apply(job, rest, await job.handle_batch(rest))
    by_uri = await states(local_instance)
    assert [by_uri[uri].state for uri in activities] == ["processed"] * count
    async with ctx.sessions() as session:  # every Like was undone after it was applied
        assert await session.scalar(select(func.count()).select_from(Like)) == 0
        post = await session.get(Post, liked.post.id)
    assert post is not None and post.likes_count == 0


async def test_a_retry_that_came_due_goes_before_what_arrived_after_it(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    first_activity = follow(remote_person)
    then = {"id": f"{remote_person.iri}#undo", "type": "Undo", "actor": remote_person.iri}
    then["object"] = first_activity
    for activity in (first_activity, then):
        assert (await post_signed(net, INBOX, activity, remote_person.key)).status_code == 202
    async with local_instance.ctx.sessions() as session:  # the Follow's retry came due last
        await session.execute(
            update(InboxItem)
            .where(InboxItem.activity_uri == first_activity["id"])
            .values(state="retrying", attempts=1, next_attempt_at=utcnow())
        )
        await session.commit()
    ctx = local_instance.ctx
    claimer = JobRunner(ctx.sessions, dialect=ctx.engine.dialect.name)
    [claimed] = await claimer.claim(local_instance.runner.kinds["inbox"], limit=1)
    assert claimed.activity_uri == first_activity["id"]


async def test_on_postgresql_a_claim_skips_an_actor_another_claim_is_taking(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    """Two claims running at once cannot see each other's leases; the one that comes second
    skips the actors the first is considering (a transaction lock per actor)."""
    if net.engine_name != "postgresql":
        pytest.skip("SQLite runs one claim at a time")
    other = make_remote_actor(net, "https://other.example/users/olga")
    for actor in (remote_person, other):
        assert (await post_signed(net, INBOX, follow(actor), actor.key)).status_code == 202
    ctx = local_instance.ctx
    job = local_instance.runner.kinds["inbox"]
    claimer = JobRunner(ctx.sessions, dialect="postgresql", worker_id="second")
    async with ctx.engine.connect() as first_claim:  # stands for a claim still in progress
        await first_claim.execute(
            select(func.pg_advisory_xact_lock(0x1B0C, func.hashtext(remote_person.iri)))
        )
        taken = await claimer.claim(job)
        assert [row.actor_uri for row in taken] == [other.iri]
        await first_claim.rollback()
    [rita_follow] = await claimer.claim(job)
    assert rita_follow.actor_uri == remote_person.iri


async def test_an_item_waiting_for_a_retry_does_not_hold_up_its_actor(
    sqlite_net: FakeNet,
) -> None:
    net = sqlite_net
    instance = await net.add_instance("a.test")
    await create_user(instance.ctx, NewUser(username="alice"))
    liked = await posts.create_post(instance.ctx, "alice", posts.NewPost("like me"))
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    create = {
        "id": f"{rita.iri}/notes/1/create",
        "type": "Create",
        "actor": rita.iri,
        "object": f"{rita.iri}/notes/1",  # only its IRI: it must be fetched
    }
    like = {"id": f"{rita.iri}#like", "type": "Like", "actor": rita.iri}
    like["object"] = liked.post.uri
    for activity in (create, like):
        assert (await post_signed(net, INBOX, activity, rita.key)).status_code == 202
    net.down_hosts.add("remote.example")  # her server stops answering (her key is cached)
    assert await instance.runner.run_until_idle("inbox") == 2
    by_uri = await states(instance)
    waiting = by_uri[create["id"]]
    assert (waiting.state, waiting.attempts) == ("retrying", 1)
    assert "connection failed" in (waiting.last_error or "")
    assert by_uri[like["id"]].state == "processed"  # went on without it


async def test_a_slow_host_does_not_hold_up_other_servers_activities(
    sqlite_net: FakeNet,
) -> None:
    net = sqlite_net
    instance = await net.add_instance(
        "a.test",
        # A deadline the test never reaches: the slow server is released by hand.
        federation={"max_fetches_per_host": 2, "inbox_fetch_timeout_seconds": 60.0},
        workers={"poll_interval_seconds": 0.01},
    )
    await create_user(instance.ctx, NewUser(username="alice"))
    liked = await posts.create_post(instance.ctx, "alice", posts.NewPost("like me"))
    creates = []
    for number in range(8):
        author = make_remote_actor(net, f"https://{SLOW}/users/s{number}")
        note = f"{author.iri}/notes/1"
        net.documents[note] = {
            "id": note,
            "type": "Note",
            "attributedTo": author.iri,
            "to": [PUBLIC],
            "content": f"<p>slow {number}</p>",
        }
        create = {"id": f"{note}/create", "type": "Create", "actor": author.iri, "object": note}
        assert (await post_signed(net, INBOX, create, author.key)).status_code == 202
        creates.append(create["id"])
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    like = {"id": f"{rita.iri}#like", "type": "Like", "actor": rita.iri}
    like["object"] = liked.post.uri
    assert (await post_signed(net, INBOX, like, rita.key)).status_code == 202
    net.stall(SLOW)  # from now on slow.example answers nothing until released

    stop = asyncio.Event()
    worker = asyncio.create_task(instance.runner.run_forever(stop))
    try:

        async def like_applied() -> bool:
            return (await states(instance))[like["id"]].state == "processed"

        await until(like_applied)
        # The Like took effect while every Create still waits on the slow server: two hold
        # its two fetch slots, the other six were deferred without costing an attempt.
        by_uri = await states(instance)
        waiting = [by_uri[uri] for uri in creates]
        assert sorted(row.state for row in waiting) == ["received"] * 2 + ["retrying"] * 6
        assert all(row.attempts == 0 for row in waiting)
        deferred = [row for row in waiting if row.state == "retrying"]
        assert all("already in flight" in (row.last_error or "") for row in deferred)
        assert net.most_waiting[SLOW] == 2
        async with instance.ctx.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Like)) == 1

        net.release(SLOW)

        async def in_flight_ones_done() -> bool:
            rows = [(await states(instance))[uri] for uri in creates]
            return sum(row.state == "processed" for row in rows) == 2

        await until(in_flight_ones_done)
    finally:
        stop.set()
        await worker
    for _ in range(8):  # the deferred six, two at a time: each round waits out the deferral
        await make_retries_due(instance)
        await net.settle()
    by_uri = await states(instance)
    assert [(by_uri[uri].state, by_uri[uri].attempts) for uri in creates] == [("processed", 1)] * 8
    async with instance.ctx.sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Post).where(Post.uri.like(f"https://{SLOW}/%"))
        )
    assert stored == 8
