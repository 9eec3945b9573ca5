"""The per-host circuit breaker and the unavailable mark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from fediverse.outbox.health import HostPolicy, HostTally, apply_tally
from fediverse.services import follows, posts
from fediverse.services.actors import NewUser, create_user
from fediverse.store import hosts as host_queries
from fediverse.store.tables import Delivery, Host
from fediverse.store.types import utcnow
from tests.fakenet import FakeNet, Instance
from tests.remote import make_remote_actor, post_signed

POLICY = HostPolicy(
    pause_after=3,
    base_pause=timedelta(minutes=1),
    max_pause=timedelta(hours=1),
    unavailable_after_days=3,
)


def fresh_host() -> Host:
    return Host(host="x.example", consecutive_failures=0, failure_days=[])


def test_breaker_opens_after_consecutive_failures_and_backs_off() -> None:
    host, now = fresh_host(), datetime(2026, 1, 1, tzinfo=UTC)
    apply_tally(host, HostTally(failures=2), POLICY, now)
    assert host.paused_until is None
    apply_tally(host, HostTally(failures=1, last_error="boom"), POLICY, now)
    assert host.paused_until == now + timedelta(minutes=1)
    apply_tally(host, HostTally(failures=1), POLICY, now)
    assert host.paused_until == now + timedelta(minutes=2)
    apply_tally(host, HostTally(failures=30), POLICY, now)
    assert host.paused_until == now + timedelta(hours=1)  # capped
    assert host.last_error == "boom"
    apply_tally(host, HostTally(successes=1, failures=3), POLICY, now)
    assert (host.consecutive_failures, host.paused_until, host.failure_days) == (0, None, [])


def test_failing_on_distinct_days_marks_unavailable_and_success_clears_it() -> None:
    host = fresh_host()
    day = datetime(2026, 1, 1, tzinfo=UTC)
    for offset in (0, 0, 1):
        apply_tally(host, HostTally(failures=1), POLICY, day + timedelta(days=offset))
    assert host.unavailable_since is None and len(host.failure_days) == 2
    apply_tally(host, HostTally(failures=1), POLICY, day + timedelta(days=2))
    assert host.unavailable_since == day + timedelta(days=2)
    apply_tally(host, HostTally(successes=1), POLICY, day + timedelta(days=3))
    assert host.unavailable_since is None


async def test_paused_and_unavailable_hosts_are_skipped_until_cleared(
    net: FakeNet, local_instance: Instance
) -> None:
    ctx = local_instance.ctx
    other = await net.add_instance("b.test")
    await create_user(other.ctx, NewUser(username="bea"))
    await follows.follow(other.ctx, "bea", "alice@a.test")
    await net.settle()
    async with ctx.sessions() as session:
        session.add(
            Host(
                host="b.test",
                consecutive_failures=9,
                failure_days=["2026-01-01"],
                paused_until=utcnow() + timedelta(minutes=5),
            )
        )
        await session.commit()
    await posts.create_post(ctx, "alice", posts.NewPost("wait for it"))
    assert await local_instance.runner.run_until_idle() == 0  # nothing claimable
    async with ctx.sessions() as session:
        health = await host_queries.list_health(session, now=utcnow(), unhealthy_only=True)
        assert [(h.host, h.state, h.pending) for h in health] == [("b.test", "paused", 1)]
        await session.execute(update(Host).values(paused_until=None, unavailable_since=utcnow()))
        await session.commit()
    assert await local_instance.runner.run_until_idle() == 0
    async with ctx.sessions() as session:
        assert await host_queries.clear(session, "b.test") is True
        await session.commit()
    await net.settle()
    async with ctx.sessions() as session:
        states = (await session.scalars(select(Delivery.state))).all()
    assert set(states) == {"sent"}


async def test_a_host_that_talks_to_us_is_alive_again(
    net: FakeNet, local_instance: Instance
) -> None:
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    async with local_instance.ctx.sessions() as session:
        session.add(
            Host(
                host="remote.example",
                consecutive_failures=12,
                failure_days=["2026-01-01", "2026-01-02", "2026-01-03"],
                unavailable_since=utcnow(),
            )
        )
        await session.commit()
    follow = {
        "id": f"{rita.iri}/f",
        "type": "Follow",
        "actor": rita.iri,
        "object": "https://a.test/users/alice",
    }
    assert (await post_signed(net, "https://a.test/inbox", follow, rita.key)).status_code == 202
    async with local_instance.ctx.sessions() as session:
        host = await session.get(Host, "remote.example")
    assert host is not None
    assert (host.unavailable_since, host.consecutive_failures) == (None, 0)
