"""The delivery engine: every follower reached once per inbox, in order, through faults, with
reach receipts that tell the truth."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from fediverse.services import follows, posts, reach
from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import Delivery, Follow, Host, InboxItem
from fediverse.store.types import utcnow
from tests.fakenet import FakeNet, Instance
from tests.remote import make_remote_actor

AP = {"Accept": "application/activity+json"}


async def add_followers(net: FakeNet, leader: Instance, host: str, names: list[str]) -> Instance:
    """Create an instance `host` whose users all follow alice on `leader`."""
    instance = net.instances.get(host) or await net.add_instance(host)
    for name in names:
        await create_user(instance.ctx, NewUser(username=name))
        await follows.follow(instance.ctx, name, "alice@a.test")
    await net.settle()
    return instance


async def fast_forward(instance: Instance) -> None:
    """Make every queued delivery due now, as if its backoff had passed."""
    async with instance.ctx.sessions() as session:
        await session.execute(
            update(Delivery).where(Delivery.state == "queued").values(next_attempt_at=utcnow())
        )
        await session.execute(update(Host).values(paused_until=None))
        await session.commit()


async def received_types(instance: Instance) -> list[tuple[str, str]]:
    async with instance.ctx.sessions() as session:
        rows = await session.execute(
            select(InboxItem.activity_type, InboxItem.payload).order_by(InboxItem.id)
        )
    return [
        (
            kind,
            payload["object"]["id"] if isinstance(payload["object"], dict) else payload["object"],
        )
        for kind, payload in rows.all()
        if kind != "Accept"
    ]


async def deliveries(instance: Instance) -> list[Delivery]:
    async with instance.ctx.sessions() as session:
        return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())


async def test_a_post_reaches_every_follower_once_per_inbox(
    net: FakeNet, local_instance: Instance
) -> None:
    await add_followers(net, local_instance, "b.test", ["b1", "b2", "b3"])
    await add_followers(net, local_instance, "c.test", ["c1", "c2"])
    await add_followers(net, local_instance, "d.test", ["d1"])
    await create_user(local_instance.ctx, NewUser(username="neighbour"))
    await follows.follow(local_instance.ctx, "neighbour", "alice@a.test")

    published = await posts.create_post(local_instance.ctx, "alice", posts.NewPost("hello"))
    assert published.followers_targeted == 7 and published.inboxes == 3
    creates = [
        d for d in await deliveries(local_instance) if d.activity_id == published.activity_id
    ]
    assert sorted(d.inbox_url for d in creates) == [
        "https://b.test/inbox",
        "https://c.test/inbox",
        "https://d.test/inbox",
    ]
    assert sorted(d.recipients for d in creates) == [1, 2, 3]
    await net.settle()
    for host in ("b.test", "c.test", "d.test"):
        assert await received_types(net.instances[host]) == [("Create", published.post.uri)]
    receipt = await reach.reach_for_post(local_instance.ctx, str(published.post.id))
    assert receipt.summary() == "reached 7 of 7 followers on 4 servers"
    assert (receipt.inboxes, receipt.delivered, receipt.pending, receipt.failed) == (3, 3, 0, 0)
    assert receipt.complete


async def test_a_host_that_fails_then_recovers_gets_everything_in_order(
    net: FakeNet, local_instance: Instance
) -> None:
    await add_followers(net, local_instance, "b.test", ["b1"])
    await add_followers(net, local_instance, "c.test", ["c1", "c2"])
    ctx = local_instance.ctx
    net.down_hosts.add("c.test")
    first = await posts.create_post(ctx, "alice", posts.NewPost("one"))
    second = await posts.create_post(ctx, "alice", posts.NewPost("two"))
    await posts.delete_post(ctx, "alice", first.post.id)
    await net.settle()

    receipt = await reach.reach_for_post(ctx, str(first.post.id))
    assert receipt.summary() == "reached 1 of 3 followers on 2 servers; 1 inbox pending"
    [c_host] = [h for h in receipt.hosts if h.host == "c.test"]
    assert c_host.pending == 1 and "connection" in (c_host.last_error or "")
    # Only the oldest delivery to c.test was tried; the later ones wait behind it (FIFO).
    tried = [
        d.attempts
        for d in await deliveries(local_instance)
        if d.inbox_url == "https://c.test/inbox"
    ]
    assert tried == [1, 0, 0]

    for _ in range(3):  # it keeps failing for a while
        await fast_forward(local_instance)
        await net.settle()
    net.down_hosts.clear()
    for _ in range(4):
        await fast_forward(local_instance)
        await net.settle()
    assert await received_types(net.instances["c.test"]) == [
        ("Create", first.post.uri),
        ("Create", second.post.uri),
        ("Delete", first.post.uri),
    ]
    assert await received_types(net.instances["b.test"]) == [
        ("Create", first.post.uri),
        ("Create", second.post.uri),
        ("Delete", first.post.uri),
    ]
    for published in (first, second):
        done = await reach.reach_for_post(ctx, str(published.post.id))
        assert done.summary() == "reached 3 of 3 followers on 2 servers"
    async with ctx.sessions() as session:
        host = await session.get(Host, "c.test")
    assert host is not None and host.consecutive_failures == 0  # the breaker closed again


async def test_gone_inbox_prunes_the_follower_and_reach_says_so(
    net: FakeNet, local_instance: Instance
) -> None:
    ctx = local_instance.ctx
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    rita.document["endpoints"] = {}  # no shared inbox: her own inbox is used
    await follows.receive_follow(
        ctx,
        await _cached(local_instance, rita.iri),
        "https://a.test/users/alice",
        f"{rita.iri}/f/1",
    )
    await net.settle()
    net.answers[rita.inbox] = [(410, {}, b"account deleted")]
    published = await posts.create_post(ctx, "alice", posts.NewPost("anyone there?"))
    await net.settle()
    receipt = await reach.reach_for_post(ctx, str(published.post.id))
    assert (receipt.gone, receipt.delivered, receipt.followers_reached) == (1, 0, 0)
    assert "could not be delivered" in receipt.summary()
    async with ctx.sessions() as session:
        remaining = (await session.scalars(select(Follow))).all()
    assert remaining == []


async def test_answers_are_classified_by_the_rule_table(
    net: FakeNet, local_instance: Instance
) -> None:
    ctx = local_instance.ctx
    people = {}
    for name, answer in [
        ("limited", (429, {"Retry-After": "120"}, b"slow down")),
        ("refuses", (400, {}, b"x" * 5000)),
        ("broken", (500, {}, b"oops")),
    ]:
        actor = make_remote_actor(net, f"https://{name}.example/users/{name}", endpoints={})
        people[name] = actor
        await follows.receive_follow(
            ctx,
            await _cached(local_instance, actor.iri),
            "https://a.test/users/alice",
            f"{actor.iri}/f",
        )
        await net.settle()
        net.answers[actor.inbox] = [answer]
    published = await posts.create_post(ctx, "alice", posts.NewPost("classify me"))
    before = utcnow()
    await net.settle()
    rows = {
        d.host: d
        for d in await deliveries(local_instance)
        if d.activity_id == published.activity_id
    }
    limited, refuses, broken = (
        rows["limited.example"],
        rows["refuses.example"],
        rows["broken.example"],
    )
    assert limited.state == "queued" and limited.last_status == 429
    assert timedelta(seconds=110) < limited.next_attempt_at - before < timedelta(seconds=130)
    assert refuses.state == "dropped" and refuses.last_status == 400
    assert refuses.last_response is not None and len(refuses.last_response) == 1000
    assert broken.state == "queued" and broken.last_status == 500
    assert broken.next_attempt_at > before + timedelta(seconds=15)


async def test_deliveries_past_the_retry_horizon_fail(
    net: FakeNet, local_instance: Instance
) -> None:
    await add_followers(net, local_instance, "b.test", ["b1"])
    net.down_hosts.add("b.test")
    published = await posts.create_post(local_instance.ctx, "alice", posts.NewPost("late"))
    async with local_instance.ctx.sessions() as session:
        await session.execute(update(Delivery).values(created_at=utcnow() - timedelta(days=4)))
        await session.commit()
    await net.settle()
    receipt = await reach.reach_for_post(local_instance.ctx, str(published.post.id))
    assert (receipt.failed, receipt.pending) == (1, 0)
    [row] = [d for d in await deliveries(local_instance) if d.state == "failed"]
    assert "gave up" in (row.last_error or "")


async def test_two_workers_deliver_each_row_once(net: FakeNet, local_instance: Instance) -> None:
    import asyncio

    from fediverse.app import build_runner

    ctx = local_instance.ctx
    inboxes = []
    for index in range(40):
        actor = make_remote_actor(net, f"https://h{index}.example/users/p{index}", endpoints={})
        await follows.receive_follow(
            ctx,
            await _cached(local_instance, actor.iri),
            "https://a.test/users/alice",
            f"{actor.iri}/f",
        )
        inboxes.append(actor.inbox)
    await net.settle()
    net.received.clear()
    await posts.create_post(ctx, "alice", posts.NewPost("once each"))
    first, second = build_runner(ctx, worker_id="w1"), build_runner(ctx, worker_id="w2")
    for runner in (first, second):
        runner.batch_size = 7
    await asyncio.gather(first.run_until_idle("deliveries"), second.run_until_idle("deliveries"))
    creates = {url: [json.loads(b)["type"] for b in bodies] for url, bodies in net.received.items()}
    assert sorted(creates) == sorted(inboxes)
    assert all(kinds == ["Create"] for kinds in creates.values())


async def _cached(instance: Instance, iri: str):  # type: ignore[no-untyped-def]
    from fediverse.services import remote_actors

    return await remote_actors.get_actor(instance.ctx, iri)


@pytest.mark.parametrize("visibility", ["direct"])
async def test_direct_posts_do_not_go_to_followers(
    net: FakeNet, local_instance: Instance, visibility: str
) -> None:
    await add_followers(net, local_instance, "b.test", ["b1"])
    published = await posts.create_post(
        local_instance.ctx, "alice", posts.NewPost("secret", visibility=visibility)
    )
    assert published.inboxes == 0
