"""Timelines and notifications through the client API: home, public, local and hashtag
timelines, and paging with max_id, since_id, min_id, limit and the Link header."""

from __future__ import annotations

import pytest

from fediverse.services import follows
from fediverse.services.actors import NewUser, create_user
from tests.api_helpers import api, link_params, token_for
from tests.fakenet import FakeNet, Instance


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    for name in ("alice", "bob", "carol"):
        await create_user(instance.ctx, NewUser(username=name))
    await follows.follow(instance.ctx, "bob", "alice@a.test")
    return instance


async def test_home_timeline_pages_both_ways(net: FakeNet, site: Instance) -> None:
    async with (
        api(net, site, await token_for(site, "alice")) as alice,
        api(net, site, await token_for(site, "bob")) as bob,
        api(net, site, await token_for(site, "carol")) as carol,
    ):
        ids = []
        for index in range(5):
            posted = await alice.post("/api/v1/statuses", data={"status": f"post {index}"})
            ids.append(posted.json()["id"])
        await carol.post("/api/v1/statuses", data={"status": "carol is not followed"})
        newest_first = list(reversed(ids))

        first = await bob.get("/api/v1/timelines/home", params={"limit": 2})
        assert [s["id"] for s in first.json()] == newest_first[:2]
        links = link_params(first)
        assert links["next"].params["max_id"] == newest_first[1]
        assert links["prev"].params["min_id"] == newest_first[0]
        assert links["next"].host == "a.test" and links["next"].params["limit"] == "2"

        second = await bob.get(str(links["next"]))
        assert [s["id"] for s in second.json()] == newest_first[2:4]
        # min_id pages forward from a point: the statuses right after it, newest first.
        forward = await bob.get("/api/v1/timelines/home", params={"min_id": ids[0], "limit": 2})
        assert [s["id"] for s in forward.json()] == [ids[2], ids[1]]
        # since_id gives the newest statuses after a point.
        since = await bob.get("/api/v1/timelines/home", params={"since_id": ids[0], "limit": 2})
        assert [s["id"] for s in since.json()] == [ids[4], ids[3]]
        nothing_newer = await bob.get(str(links["prev"]))
        assert nothing_newer.json() == [] and "Link" not in nothing_newer.headers
        # A limit beyond the maximum is clamped, a bad one ignored.
        assert len((await bob.get("/api/v1/timelines/home", params={"limit": 500})).json()) == 5
        assert len((await bob.get("/api/v1/timelines/home", params={"limit": "x"})).json()) == 5


async def test_public_local_and_hashtag_timelines(net: FakeNet, site: Instance) -> None:
    async with (
        api(net, site, await token_for(site, "alice")) as alice,
        api(net, site) as anonymous,
    ):
        tagged = (
            await alice.post("/api/v1/statuses", data={"status": "hiking today #Outdoors"})
        ).json()
        await alice.post("/api/v1/statuses", data={"status": "quiet", "visibility": "unlisted"})
        await alice.post("/api/v1/statuses", data={"status": "friends", "visibility": "private"})
        public = (await anonymous.get("/api/v1/timelines/public")).json()
        assert [s["id"] for s in public] == [tagged["id"]]
        local = (await anonymous.get("/api/v1/timelines/public", params={"local": "true"})).json()
        assert [s["id"] for s in local] == [tagged["id"]]
        remote = await anonymous.get("/api/v1/timelines/public", params={"remote": "true"})
        assert remote.json() == []
        by_tag = (await anonymous.get("/api/v1/timelines/tag/outdoors")).json()
        assert [s["id"] for s in by_tag] == [tagged["id"]]
        assert (await anonymous.get("/api/v1/timelines/tag/indoors")).json() == []
        assert (await anonymous.get("/api/v1/timelines/home")).status_code == 401


async def test_notifications_filter_page_and_dismiss(net: FakeNet, site: Instance) -> None:
    async with (
        api(net, site, await token_for(site, "alice")) as alice,
        api(net, site, await token_for(site, "bob")) as bob,
        api(net, site, await token_for(site, "carol")) as carol,
    ):
        post = (await alice.post("/api/v1/statuses", data={"status": "notice me"})).json()
        await bob.post(f"/api/v1/statuses/{post['id']}/favourite")
        await carol.post(f"/api/v1/statuses/{post['id']}/favourite")
        await carol.post(f"/api/v1/statuses/{post['id']}/reblog")
        await bob.post("/api/v1/statuses", data={"status": "hey @alice"})

        everything = (await alice.get("/api/v1/notifications")).json()
        assert [n["type"] for n in everything] == [
            "mention", "reblog", "favourite", "favourite", "follow",
        ]  # fmt: skip
        only = await alice.get("/api/v1/notifications", params={"types[]": ["favourite"]})
        assert [n["account"]["username"] for n in only.json()] == ["carol", "bob"]
        without = await alice.get(
            "/api/v1/notifications", params={"exclude_types[]": ["favourite", "follow"]}
        )
        assert [n["type"] for n in without.json()] == ["mention", "reblog"]
        none = await alice.get("/api/v1/notifications", params={"types[]": ["poll"]})
        assert none.json() == []

        page = await alice.get("/api/v1/notifications", params={"limit": 2})
        assert [n["id"] for n in page.json()] == [n["id"] for n in everything[:2]]
        rest = await alice.get(str(link_params(page)["next"]))
        assert [n["id"] for n in rest.json()] == [n["id"] for n in everything[2:4]]

        one = everything[0]
        shown = await alice.get(f"/api/v1/notifications/{one['id']}")
        assert shown.json() == one
        assert (await bob.get(f"/api/v1/notifications/{one['id']}")).status_code == 404
        assert (await alice.post(f"/api/v1/notifications/{one['id']}/dismiss")).json() == {}
        assert (await alice.get(f"/api/v1/notifications/{one['id']}")).status_code == 404
        # A notification about a deleted status disappears with it.
        await alice.delete(f"/api/v1/statuses/{post['id']}")
        left = (await alice.get("/api/v1/notifications")).json()
        assert [n["type"] for n in left] == ["follow"]
        assert (await alice.post("/api/v1/notifications/clear")).status_code == 200
        assert (await alice.get("/api/v1/notifications")).json() == []
