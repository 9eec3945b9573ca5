"""Follows between instances in the fake network, with real signatures checked on both sides."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fediverse.services import follows
from fediverse.services.actors import NewUser, create_group, create_user
from fediverse.store.tables import Actor, Delivery, Follow, InboxItem
from tests.fakenet import FakeNet, Instance

AP = {"Accept": "application/activity+json"}


@pytest.fixture
async def pair(net: FakeNet) -> tuple[Instance, Instance]:
    first = await net.add_instance("a.test")
    second = await net.add_instance("b.test")
    await create_user(first.ctx, NewUser(username="alice"))
    await create_user(second.ctx, NewUser(username="bob"))
    await create_group(second.ctx, "hikers", owner_username="bob", title="Hikers")
    return first, second


async def _lock(instance: Instance, uri: str) -> None:
    """Make a local account approve its followers by hand."""
    async with instance.ctx.sessions() as session:
        actor = await session.scalar(select(Actor).where(Actor.uri == uri))
        assert actor is not None
        actor.manually_approves_followers = True
        await session.commit()


async def _collection_items(net: FakeNet, url: str) -> list[str]:
    async with net.client() as http:
        head = (await http.get(url, headers=AP)).json()
        page = (await http.get(head["first"], headers=AP)).json()
    return list(page["orderedItems"])


async def _states(instance: Instance, model) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with instance.ctx.sessions() as session:
        rows = (await session.scalars(select(model))).all()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    return counts


async def test_follow_a_person_and_a_group_then_unfollow(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    first, second = pair
    person = await follows.follow(first.ctx, "alice", "bob@b.test")
    group = await follows.follow(first.ctx, "alice", "https://b.test/groups/hikers")
    assert person.state == group.state == "pending"
    await net.settle()

    # b.test verified alice's signed Follows and answered Accept, which a.test verified too.
    assert await _states(second, InboxItem) == {"processed": 2}
    assert await _states(first, InboxItem) == {"processed": 2}
    assert await _states(first, Delivery) == {"sent": 2}
    assert await _states(second, Delivery) == {"sent": 2}
    assert await _states(first, Follow) == {"accepted": 2}
    alice = "https://a.test/users/alice"
    assert await _collection_items(net, "https://b.test/users/bob/followers") == [alice]
    assert await _collection_items(net, "https://b.test/groups/hikers/followers") == [alice]
    following = await _collection_items(net, "https://a.test/users/alice/following")
    assert set(following) == {"https://b.test/users/bob", "https://b.test/groups/hikers"}

    assert await follows.unfollow(first.ctx, "alice", "bob@b.test") is True
    await net.settle()
    assert await _collection_items(net, "https://b.test/users/bob/followers") == []
    assert await _collection_items(net, "https://a.test/users/alice/following") == [
        "https://b.test/groups/hikers"
    ]
    # Unfollowing twice is harmless.
    assert await follows.unfollow(first.ctx, "alice", "bob@b.test") is False


async def test_locked_account_holds_the_request_until_approved(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    first, second = pair
    await _lock(second, "https://b.test/users/bob")
    await follows.follow(first.ctx, "alice", "bob@b.test")
    await net.settle()
    requests = await follows.list_requests(second.ctx, "bob")
    assert [r.follower_uri for r in requests] == ["https://a.test/users/alice"]
    assert await _states(first, Follow) == {"pending": 1}
    assert await _collection_items(net, "https://b.test/users/bob/followers") == []

    await follows.answer_request(second.ctx, "bob", "alice@a.test", approve=True)
    await net.settle()
    assert await _states(first, Follow) == {"accepted": 1}
    assert await _collection_items(net, "https://b.test/users/bob/followers") == [
        "https://a.test/users/alice"
    ]
    assert await follows.list_requests(second.ctx, "bob") == []


async def test_rejected_request_removes_the_pending_follow(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    first, second = pair
    await _lock(second, "https://b.test/users/bob")
    await follows.follow(first.ctx, "alice", "bob@b.test")
    await net.settle()
    await follows.answer_request(second.ctx, "bob", "https://a.test/users/alice", approve=False)
    await net.settle()
    assert await _states(first, Follow) == {}
    assert await _states(second, Follow) == {}


async def test_follow_on_the_same_instance_needs_no_http(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    first, _ = pair
    await create_user(first.ctx, NewUser(username="carol"))
    result = await follows.follow(first.ctx, "carol", "alice@a.test")
    assert result.state == "accepted"
    assert await _states(first, Delivery) == {}
    assert await _collection_items(net, "https://a.test/users/alice/followers") == [
        "https://a.test/users/carol"
    ]


async def test_a_gone_follower_is_pruned(net: FakeNet, pair: tuple[Instance, Instance]) -> None:
    first, second = pair
    await follows.follow(first.ctx, "alice", "bob@b.test")
    await net.settle()
    assert await follows.prune_inbox(second.ctx, "https://a.test/users/alice/inbox") == 1
    assert await _collection_items(net, "https://b.test/users/bob/followers") == []
