"""Statuses through the client API: posting with visibility, content warnings and replies,
reading, editing, deleting, threads, favourites, boosts, and the reach receipt."""

from __future__ import annotations

import pytest

from fediverse.services import follows
from fediverse.services.actors import NewUser, create_user
from tests.api_helpers import api, token_for
from tests.fakenet import FakeNet, Instance


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    for name in ("alice", "bob", "carol"):
        await create_user(instance.ctx, NewUser(username=name))
    # bob follows alice; carol follows nobody.
    await follows.follow(instance.ctx, "bob", "alice@a.test")
    return instance


async def test_posting_validates_its_input(net: FakeNet, site: Instance) -> None:
    async with api(net, site, await token_for(site, "alice")) as client:
        empty = await client.post("/api/v1/statuses", data={"status": "   "})
        assert empty.status_code == 422 and empty.json() == {"error": "A post needs some text."}
        bad = await client.post("/api/v1/statuses", data={"status": "x", "visibility": "secret"})
        assert bad.status_code == 422
        media = await client.post("/api/v1/statuses", json={"status": "x", "media_ids": ["1"]})
        assert media.status_code == 422 and "Media" in media.json()["error"]
        orphan = await client.post(
            "/api/v1/statuses", data={"status": "x", "in_reply_to_id": "12345"}
        )
        assert orphan.status_code == 404
        assert (await client.get("/api/v1/statuses/not-a-number")).status_code == 404
        assert (await client.get("/api/v1/statuses/999")).status_code == 404


async def test_visibility_decides_who_sees_a_status(net: FakeNet, site: Instance) -> None:
    async with (
        api(net, site, await token_for(site, "alice")) as alice,
        api(net, site, await token_for(site, "bob")) as bob,
        api(net, site, await token_for(site, "carol")) as carol,
        api(net, site) as anonymous,
    ):
        private = (
            await alice.post(
                "/api/v1/statuses", json={"status": "followers only", "visibility": "private"}
            )
        ).json()
        assert private["visibility"] == "private"
        direct = (
            await alice.post(
                "/api/v1/statuses", json={"status": "@carol just you", "visibility": "direct"}
            )
        ).json()
        path, direct_path = f"/api/v1/statuses/{private['id']}", f"/api/v1/statuses/{direct['id']}"
        assert (await bob.get(path)).status_code == 200
        assert (await carol.get(path)).status_code == 404
        assert (await anonymous.get(path)).status_code == 404
        assert (await carol.get(direct_path)).json()["mentions"][0]["acct"] == "carol"
        assert (await bob.get(direct_path)).status_code == 404
        # Boosting a followers-only post is refused.
        assert (await bob.post(f"{path}/reblog")).status_code == 422


async def test_reply_edit_history_and_delete(net: FakeNet, site: Instance) -> None:
    async with (
        api(net, site, await token_for(site, "alice")) as alice,
        api(net, site, await token_for(site, "bob")) as bob,
    ):
        first = (
            await alice.post(
                "/api/v1/statuses",
                data={"status": "First!", "spoiler_text": "cw", "language": "en"},
            )
        ).json()
        assert first["spoiler_text"] == "cw" and first["sensitive"] is True
        assert first["language"] == "en" and first["content"] == "<p>First!</p>"
        reply = (
            await bob.post(
                "/api/v1/statuses", data={"status": "Second", "in_reply_to_id": first["id"]}
            )
        ).json()
        assert reply["in_reply_to_id"] == first["id"]
        assert reply["in_reply_to_account_id"] == first["account"]["id"]
        thread = (await alice.get(f"/api/v1/statuses/{first['id']}/context")).json()
        assert thread["ancestors"] == [] and [s["id"] for s in thread["descendants"]] == [
            reply["id"]
        ]
        assert (await alice.get(f"/api/v1/statuses/{first['id']}")).json()["replies_count"] == 1

        edited = await alice.put(
            f"/api/v1/statuses/{first['id']}", json={"status": "First, edited", "spoiler_text": ""}
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["edited_at"] is not None
        assert edited.json()["content"] == "<p>First, edited</p>"
        assert edited.json()["spoiler_text"] == "" and edited.json()["sensitive"] is False
        history = (await alice.get(f"/api/v1/statuses/{first['id']}/history")).json()
        assert [v["content"] for v in history] == ["<p>First!</p>", "<p>First, edited</p>"]
        source = (await alice.get(f"/api/v1/statuses/{first['id']}/source")).json()
        assert source == {"id": first["id"], "text": "First, edited", "spoiler_text": ""}
        # Only the author edits, deletes or reads the source.
        assert (
            await bob.put(f"/api/v1/statuses/{first['id']}", json={"status": "x"})
        ).status_code == 403
        assert (await bob.delete(f"/api/v1/statuses/{first['id']}")).status_code == 403
        assert (await bob.get(f"/api/v1/statuses/{first['id']}/source")).status_code == 404

        deleted = await alice.delete(f"/api/v1/statuses/{first['id']}")
        assert deleted.status_code == 200
        # The deleted status comes back with its source, for "delete and redraft".
        assert deleted.json()["text"] == "First, edited"
        assert (await alice.get(f"/api/v1/statuses/{first['id']}")).status_code == 404
        assert (await alice.delete(f"/api/v1/statuses/{first['id']}")).status_code == 404


async def test_favourites_and_boosts_and_their_undos(net: FakeNet, site: Instance) -> None:
    async with (
        api(net, site, await token_for(site, "alice")) as alice,
        api(net, site, await token_for(site, "bob")) as bob,
    ):
        post = (await alice.post("/api/v1/statuses", data={"status": "like me"})).json()
        path = f"/api/v1/statuses/{post['id']}"
        liked = (await bob.post(f"{path}/favourite")).json()
        assert liked["favourited"] is True and liked["favourites_count"] == 1
        again = (await bob.post(f"{path}/favourite")).json()
        assert again["favourites_count"] == 1  # idempotent
        boost = (await bob.post(f"{path}/reblog")).json()
        assert boost["reblog"]["id"] == post["id"] and boost["account"]["username"] == "bob"
        assert boost["reblog"]["reblogs_count"] == 1 and boost["reblogged"] is True
        # A boost's id also works for favouriting: it means the boosted status.
        via_boost = await alice.post(f"/api/v1/statuses/{boost['id']}/favourite")
        assert via_boost.json()["id"] == post["id"]
        favourited_by = (await alice.get(f"{path}/favourited_by")).json()
        assert sorted(a["username"] for a in favourited_by) == ["alice", "bob"]
        assert [a["username"] for a in (await alice.get(f"{path}/reblogged_by")).json()] == ["bob"]

        unliked = (await bob.post(f"{path}/unfavourite")).json()
        assert unliked["favourited"] is False and unliked["favourites_count"] == 1
        unboosted = (await bob.post(f"{path}/unreblog")).json()
        assert unboosted["id"] == post["id"] and unboosted["reblogged"] is False
        assert unboosted["reblogs_count"] == 0
        assert (await alice.get(f"{path}/reblogged_by")).json() == []


async def test_the_author_sees_the_delivery_reach(net: FakeNet, site: Instance) -> None:
    remote = await net.add_instance("b.test")
    await create_user(remote.ctx, NewUser(username="rita"))
    await follows.follow(remote.ctx, "rita", "alice@a.test")
    await net.settle()
    async with (
        api(net, site, await token_for(site, "alice")) as alice,
        api(net, site, await token_for(site, "bob")) as bob,
    ):
        post = (await alice.post("/api/v1/statuses", data={"status": "how far?"})).json()
        assert post["reach"]["followers_targeted"] == 2  # bob here, rita on b.test
        assert post["reach"]["pending"] == 1 and post["reach"]["complete"] is False
        await net.settle()
        receipt = (await alice.get(f"/api/v1/statuses/{post['id']}/reach")).json()
        assert receipt["followers_reached"] == 2 and receipt["delivered"] == 1
        assert receipt["summary"] == "reached 2 of 2 followers on 2 servers"
        assert [host["host"] for host in receipt["hosts"]] == ["b.test"]
        shown = (await alice.get(f"/api/v1/statuses/{post['id']}")).json()
        assert shown["reach"] == receipt
        # Nobody else learns anything about it.
        assert "reach" not in (await bob.get(f"/api/v1/statuses/{post['id']}")).json()
        assert (await bob.get(f"/api/v1/statuses/{post['id']}/reach")).status_code == 404
