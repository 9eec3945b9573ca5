"""Search v2: local accounts and hashtags by prefix, and with `resolve=true` remote accounts by
handle or URL and remote posts by URL; then following what was found."""

from __future__ import annotations

import pytest

from fediverse.services.actors import NewUser, create_user
from tests.api_helpers import api, token_for
from tests.fakenet import FakeNet, Instance


@pytest.fixture
async def pair(net: FakeNet) -> tuple[Instance, Instance]:
    first = await net.add_instance("a.test")
    second = await net.add_instance("b.test")
    await create_user(first.ctx, NewUser(username="alice"))
    await create_user(first.ctx, NewUser(username="alfred", display_name="Alfred"))
    await create_user(second.ctx, NewUser(username="rita"))
    return first, second


def _hosts_asked(net: FakeNet, host: str) -> int:
    return sum(1 for entry in net.log if entry.url.startswith(f"https://{host}/"))


async def test_resolve_finds_remote_accounts_and_posts(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    site, other = pair
    async with api(net, other, await token_for(other, "rita")) as rita:
        remote_post = (
            await rita.post("/api/v1/statuses", data={"status": "Trail report #hiking"})
        ).json()
    async with api(net, site, await token_for(site, "alice")) as alice, api(net, site) as anon:
        # Without resolve (or without a token) nothing is fetched from b.test.
        before = _hosts_asked(net, "b.test")
        quiet = (await alice.get("/api/v2/search", params={"q": "rita@b.test"})).json()
        assert quiet["accounts"] == []
        anonymous = await anon.get("/api/v2/search", params={"q": "rita@b.test", "resolve": "1"})
        assert anonymous.json()["accounts"] == []
        assert _hosts_asked(net, "b.test") == before

        found = (
            await alice.get("/api/v2/search", params={"q": "@rita@b.test", "resolve": "true"})
        ).json()
        assert [a["acct"] for a in found["accounts"]] == ["rita@b.test"]
        by_url = (
            await alice.get(
                "/api/v2/search", params={"q": "https://b.test/users/rita", "resolve": "true"}
            )
        ).json()
        assert by_url["accounts"][0]["id"] == found["accounts"][0]["id"]

        post = (
            await alice.get("/api/v2/search", params={"q": remote_post["uri"], "resolve": "true"})
        ).json()
        assert post["accounts"] == [] and len(post["statuses"]) == 1
        status = post["statuses"][0]
        assert status["uri"] == remote_post["uri"] and status["account"]["acct"] == "rita@b.test"
        assert "Trail report" in status["content"]
        # Once fetched it is known: found again without resolving, and usable.
        again = (await alice.get("/api/v2/search", params={"q": remote_post["uri"]})).json()
        assert again["statuses"][0]["id"] == status["id"]
        liked = await alice.post(f"/api/v1/statuses/{status['id']}/favourite")
        assert liked.json()["favourited"] is True

        nothing = await alice.get(
            "/api/v2/search", params={"q": "nobody@b.test", "resolve": "true"}
        )
        assert nothing.status_code == 200 and nothing.json()["accounts"] == []


async def test_local_accounts_and_hashtags_by_prefix(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    site, _ = pair
    async with api(net, site, await token_for(site, "alice")) as alice:
        await alice.post("/api/v1/statuses", data={"status": "#Alpine #alps and #cooking"})
        found = (await alice.get("/api/v2/search", params={"q": "al"})).json()
        assert [a["username"] for a in found["accounts"]] == ["alfred", "alice"]
        assert [t["name"] for t in found["hashtags"]] == ["alpine", "alps"]
        assert found["statuses"] == []
        only_tags = await alice.get("/api/v2/search", params={"q": "#al", "type": "hashtags"})
        assert only_tags.json()["accounts"] == [] and len(only_tags.json()["hashtags"]) == 2
        paged = await alice.get("/api/v2/search", params={"q": "al", "limit": 1, "offset": 1})
        assert [a["username"] for a in paged.json()["accounts"]] == ["alice"]
        # LIKE wildcards in the query are matched literally.
        assert (await alice.get("/api/v2/search", params={"q": "%"})).json()["accounts"] == []
        assert (await alice.get("/api/v2/search", params={"q": ""})).status_code == 422
        bad = await alice.get("/api/v2/search", params={"q": "al", "type": "people"})
        assert bad.status_code == 422


async def test_follow_what_search_found_and_see_its_posts(
    net: FakeNet, pair: tuple[Instance, Instance]
) -> None:
    site, other = pair
    async with api(net, site, await token_for(site, "alice")) as alice:
        found = await alice.get("/api/v2/search", params={"q": "rita@b.test", "resolve": "1"})
        rita_id = found.json()["accounts"][0]["id"]
        await alice.post(f"/api/v1/accounts/{rita_id}/follow")
        await net.settle()
        async with api(net, other, await token_for(other, "rita")) as rita:
            posted = (await rita.post("/api/v1/statuses", data={"status": "new trail"})).json()
        await net.settle()
        home = (await alice.get("/api/v1/timelines/home")).json()
        assert [s["uri"] for s in home] == [posted["uri"]]
        assert home[0]["account"]["id"] == rita_id
