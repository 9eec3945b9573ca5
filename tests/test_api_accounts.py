"""Accounts through the client API: reading, lookup, follows across instances, relationships,
follow lists with paging, follow requests of a locked account, and an account's statuses."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fediverse.services import follows, remote_actors
from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import Actor
from tests.api_helpers import api, link_params, token_for
from tests.fakenet import FakeNet, Instance


@pytest.fixture
async def pair(net: FakeNet) -> tuple[Instance, Instance]:
    first = await net.add_instance("a.test")
    second = await net.add_instance("b.test")
    for name in ("alice", "bob", "carol"):
        await create_user(first.ctx, NewUser(username=name))
    await create_user(second.ctx, NewUser(username="rita", display_name="Rita R."))
    return first, second


async def _lock(instance: Instance, name: str) -> None:
    async with instance.ctx.sessions() as session:
        actor = await session.scalar(select(Actor).where(Actor.username == name, Actor.local))
        assert actor is not None
        actor.manually_approves_followers = True
        await session.commit()


async def test_read_and_look_up_accounts(net: FakeNet, pair: tuple[Instance, Instance]) -> None:
    site, _ = pair
    async with api(net, site) as client:
        alice = (await client.get("/api/v1/accounts/lookup", params={"acct": "alice"})).json()
        assert alice["acct"] == "alice" and alice["url"] == "https://a.test/users/alice"
        same = await client.get("/api/v1/accounts/lookup", params={"acct": "@alice@a.test"})
        assert same.json()["id"] == alice["id"]
        assert (await client.get(f"/api/v1/accounts/{alice['id']}")).json() == alice
        missing = await client.get("/api/v1/accounts/lookup", params={"acct": "rita@b.test"})
        # Lookup never asks the other server.
        assert missing.status_code == 404 and "error" in missing.json()
        assert (await client.get("/api/v1/accounts/123")).status_code == 404
        assert (await client.get("/api/v1/accounts/lookup")).status_code == 422


async def test_follow_a_remote_account_and_unfollow(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    site, other = pair
    rita = await remote_actors.resolve_handle_to_actor(site.ctx, "rita@b.test")
    async with api(net, site, await token_for(site, "alice")) as client:
        pending = (await client.post(f"/api/v1/accounts/{rita.id}/follow")).json()
        assert pending["id"] == str(rita.id)
        assert pending["requested"] is True and pending["following"] is False
        await net.settle()
        relations = await client.get(
            "/api/v1/accounts/relationships", params={"id[]": [str(rita.id), "1"]}
        )
        first = relations.json()[0]
        assert first["following"] is True and first["requested"] is False
        assert relations.json()[1]["following"] is False

        remote = (await client.get(f"/api/v1/accounts/{rita.id}")).json()
        assert remote["acct"] == "rita@b.test" and remote["display_name"] == "Rita R."
        assert remote["followers_count"] == 1
        me = (await client.get("/api/v1/accounts/verify_credentials")).json()
        following = (await client.get(f"/api/v1/accounts/{me['id']}/following")).json()
        assert [a["acct"] for a in following] == ["rita@b.test"]
        found = await client.get("/api/v1/accounts/lookup", params={"acct": "rita@b.test"})
        assert found.json()["id"] == str(rita.id)

        gone = (await client.post(f"/api/v1/accounts/{rita.id}/unfollow")).json()
        assert gone["following"] is False and gone["requested"] is False
    await net.settle()
    async with api(net, other, await token_for(other, "rita")) as client:
        me = (await client.get("/api/v1/accounts/verify_credentials")).json()
        assert (await client.get(f"/api/v1/accounts/{me['id']}/followers")).json() == []


async def test_follow_requests_of_a_locked_account(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    site, _ = pair
    await _lock(site, "alice")
    async with (
        api(net, site, await token_for(site, "alice")) as alice,
        api(net, site, await token_for(site, "bob")) as bob,
        api(net, site, await token_for(site, "carol")) as carol,
    ):
        me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
        assert me["locked"] is True
        asked = (await bob.post(f"/api/v1/accounts/{me['id']}/follow")).json()
        assert asked["requested"] is True and asked["following"] is False
        await carol.post(f"/api/v1/accounts/{me['id']}/follow")
        me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
        assert me["source"]["follow_requests_count"] == 2

        waiting = (await alice.get("/api/v1/follow_requests")).json()
        assert sorted(a["username"] for a in waiting) == ["bob", "carol"]
        bob_id = next(a["id"] for a in waiting if a["username"] == "bob")
        carol_id = next(a["id"] for a in waiting if a["username"] == "carol")
        approved = (await alice.post(f"/api/v1/follow_requests/{bob_id}/authorize")).json()
        assert approved["followed_by"] is True and approved["requested_by"] is False
        rejected = (await alice.post(f"/api/v1/follow_requests/{carol_id}/reject")).json()
        assert rejected["followed_by"] is False and rejected["requested_by"] is False
        assert (await alice.get("/api/v1/follow_requests")).json() == []
        assert (await alice.post(f"/api/v1/follow_requests/{carol_id}/reject")).status_code == 404
        followers = (await alice.get(f"/api/v1/accounts/{me['id']}/followers")).json()
        assert [a["username"] for a in followers] == ["bob"]


async def test_follow_lists_page_with_link_headers(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    site, _ = pair
    names = [f"fan{index}" for index in range(5)]
    for name in names:
        await create_user(site.ctx, NewUser(username=name))
        await follows.follow(site.ctx, name, "alice@a.test")
    async with api(net, site) as client:
        alice = (await client.get("/api/v1/accounts/lookup", params={"acct": "alice"})).json()
        path = f"/api/v1/accounts/{alice['id']}/followers"
        first = await client.get(path, params={"limit": 2})
        assert [a["username"] for a in first.json()] == ["fan4", "fan3"]
        links = link_params(first)
        assert links["next"].path == path and links["next"].params["limit"] == "2"
        second = await client.get(str(links["next"]))
        assert [a["username"] for a in second.json()] == ["fan2", "fan1"]
        newer = await client.get(str(link_params(second)["prev"]))
        assert [a["username"] for a in newer.json()] == ["fan4", "fan3"]
        last = await client.get(str(link_params(second)["next"]))
        assert [a["username"] for a in last.json()] == ["fan0"]
        empty = await client.get(str(link_params(last)["next"]))
        assert empty.json() == [] and "Link" not in empty.headers


async def test_an_accounts_statuses(net: FakeNet, pair: tuple[Instance, Instance]) -> None:
    site, _ = pair
    async with (
        api(net, site, await token_for(site, "alice")) as alice,
        api(net, site, await token_for(site, "bob")) as bob,
    ):
        bob_post = (await bob.post("/api/v1/statuses", data={"status": "bob here"})).json()
        top = (await alice.post("/api/v1/statuses", data={"status": "top level"})).json()
        await alice.post(
            "/api/v1/statuses", data={"status": "a reply", "in_reply_to_id": bob_post["id"]}
        )
        await alice.post(f"/api/v1/statuses/{bob_post['id']}/reblog")
        me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
        assert me["statuses_count"] == 3
        path = f"/api/v1/accounts/{me['id']}/statuses"
        everything = (await bob.get(path)).json()
        assert len(everything) == 3 and everything[0]["reblog"]["id"] == bob_post["id"]
        no_replies = (await bob.get(path, params={"exclude_replies": "true"})).json()
        assert len(no_replies) == 2
        originals = await bob.get(path, params={"exclude_replies": "1", "exclude_reblogs": "1"})
        assert [s["id"] for s in originals.json()] == [top["id"]]
        assert (await bob.get(path, params={"pinned": "true"})).json() == []
