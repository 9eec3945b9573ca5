"""Followers-only posts stay with followers on every path: each ActivityPub read (the object,
its Create activity, the outbox head and pages, with and without authorized fetch), intake (a
remote followers-only post is stored as one), and follow requests (pending is not following:
no delivery, no reading, no counting)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select, update

from fediverse.activitypub.signatures import sign_cavage
from fediverse.activitypub.vocab import PUBLIC
from fediverse.services import follows, posts, timelines
from fediverse.services.actors import NewUser, create_user
from fediverse.services.timelines import Page
from fediverse.store.tables import Actor, Follow, OutboxActivity, Post
from tests.api_helpers import api, token_for
from tests.fakenet import FakeNet, Instance
from tests.remote import RemoteActor, make_remote_actor, post_signed
from tests.ui_helpers import browser, text_of

INBOX = "https://a.test/inbox"
AP = {"Accept": "application/activity+json"}
SECRET = "only my followers read this"


def _follow(actor: RemoteActor, target: str, number: int = 1) -> dict[str, object]:
    return {
        "id": f"{actor.iri}/follows/{number}",
        "type": "Follow",
        "actor": actor.iri,
        "object": target,
    }


async def _actor_id(instance: Instance, uri: str) -> int:
    async with instance.ctx.sessions() as session:
        found = await session.scalar(select(Actor.id).where(Actor.uri == uri))
    assert found is not None
    return found


@dataclass
class Published:
    public_post: int
    public_create: int
    private_post: int
    private_create: int


async def _publish_both(instance: Instance) -> Published:
    public = await posts.create_post(instance.ctx, "alice", posts.NewPost("hello, everyone"))
    private = await posts.create_post(
        instance.ctx, "alice", posts.NewPost(SECRET, visibility="followers")
    )
    return Published(public.post.id, public.activity_id, private.post.id, private.activity_id)


@pytest.mark.parametrize("authorized_fetch", [False, True], ids=["open", "authorized-fetch"])
async def test_no_activitypub_read_serves_a_followers_only_post(
    sqlite_net: FakeNet, authorized_fetch: bool
) -> None:
    net = sqlite_net
    site = await net.add_instance("a.test", federation={"authorized_fetch": authorized_fetch})
    await create_user(site.ctx, NewUser(username="alice"))
    # rita follows alice, so even a fetch signed by a follower must not get the post.
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    assert (
        await post_signed(net, INBOX, _follow(rita, "https://a.test/users/alice"), rita.key)
    ).status_code == 202
    await net.settle()
    made = await _publish_both(site)
    await net.settle()

    async def get(path: str) -> httpx.Response:
        url = f"https://a.test{path}"
        headers = dict(AP)
        if authorized_fetch:
            headers.update(sign_cavage("GET", url, {}, None, rita.key))
        async with net.client() as http:
            return await http.get(url, headers=headers)

    public_object = await get(f"/objects/{made.public_post}")
    public_create = await get(f"/activities/{made.public_create}")
    assert public_object.status_code == public_create.status_code == 200
    assert (await get(f"/objects/{made.private_post}")).status_code == 404
    private_create = await get(f"/activities/{made.private_create}")
    assert private_create.status_code == 404 and SECRET not in private_create.text
    head = (await get("/users/alice/outbox")).json()
    page = await get("/users/alice/outbox?page=true")
    assert head["totalItems"] == 1
    assert [item["object"]["id"] for item in page.json()["orderedItems"]] == [
        f"https://a.test/objects/{made.public_post}"
    ]
    assert SECRET not in page.text
    if authorized_fetch:
        async with net.client() as http:
            unsigned = await http.get(f"https://a.test/objects/{made.public_post}", headers=AP)
        assert unsigned.status_code == 401

    # The follower got it by delivery, which is the only way it travels.
    delivered = [json.loads(body) for body in net.received.get("https://remote.example/inbox", [])]
    assert [a["object"]["content"] for a in delivered if a["type"] == "Create"] == [
        "<p>hello, everyone</p>",
        f"<p>{SECRET}</p>",
    ]


async def test_a_followers_only_create_lists_nowhere_even_if_marked_public(
    sqlite_net: FakeNet,
) -> None:
    """The outbox applies the visibility rule itself, not only the flag set when publishing."""
    site = await sqlite_net.add_instance("a.test")
    await create_user(site.ctx, NewUser(username="alice"))
    made = await _publish_both(site)
    async with site.ctx.sessions() as session:
        await session.execute(
            update(OutboxActivity)
            .where(OutboxActivity.id == made.private_create)
            .values(public=True)
        )
        await session.commit()
    async with sqlite_net.client() as http:
        head = (await http.get("https://a.test/users/alice/outbox", headers=AP)).json()
        page = await http.get("https://a.test/users/alice/outbox?page=true", headers=AP)
        activity = await http.get(f"https://a.test/activities/{made.private_create}", headers=AP)
    assert head["totalItems"] == 1 and SECRET not in page.text
    assert activity.status_code == 404


async def test_an_incoming_followers_only_post_is_stored_as_followers_only(
    sqlite_net: FakeNet,
) -> None:
    net = sqlite_net
    site = await net.add_instance("a.test")
    for name in ("bob", "carol"):
        await create_user(site.ctx, NewUser(username=name))
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    requested = await follows.follow(site.ctx, "bob", rita.iri)
    await net.settle()
    async with site.ctx.sessions() as session:
        follow_uri = (await session.get(Follow, requested.follow_id)).uri  # type: ignore[union-attr]
    accept = {
        "id": f"{rita.iri}#accepts/1",
        "type": "Accept",
        "actor": rita.iri,
        "object": {
            "id": follow_uri,
            "type": "Follow",
            "actor": "https://a.test/users/bob",
            "object": rita.iri,
        },
    }
    assert (await post_signed(net, INBOX, accept, rita.key)).status_code == 202
    note = {
        "id": f"{rita.iri}/statuses/1",
        "type": "Note",
        "attributedTo": rita.iri,
        "content": f"<p>{SECRET}</p>",
        "to": [f"{rita.iri}/followers"],
        "cc": [],
        "published": "2024-05-01T12:00:00Z",
    }
    create = {
        "id": f"{rita.iri}/statuses/1/activity",
        "type": "Create",
        "actor": rita.iri,
        "to": note["to"],
        "cc": [],
        "object": note,
    }
    assert (await post_signed(net, INBOX, create, rita.key)).status_code == 202
    await net.settle()
    async with site.ctx.sessions() as session:
        stored = await session.scalar(select(Post).where(Post.uri == note["id"]))
    assert stored is not None and stored.visibility == "followers"
    rita_id = await _actor_id(site, rita.iri)

    async with api(net, site) as anonymous:
        assert (await anonymous.get(f"/api/v1/statuses/{stored.id}")).status_code == 404
        assert (await anonymous.get(f"/api/v1/accounts/{rita_id}/statuses")).json() == []
    async with api(net, site, await token_for(site, "carol")) as carol:
        assert (await carol.get(f"/api/v1/statuses/{stored.id}")).status_code == 404
    async with browser(net, site) as visitor:
        assert (await visitor.get(f"/posts/{stored.id}")).status_code == 404
        assert SECRET not in text_of((await visitor.get("/@rita@remote.example")).text)
    async with api(net, site, await token_for(site, "bob")) as bob:
        shown = await bob.get(f"/api/v1/statuses/{stored.id}")
        home = await bob.get("/api/v1/timelines/home")
    assert shown.status_code == 200 and shown.json()["visibility"] == "private"
    assert [status["id"] for status in home.json()] == [str(stored.id)]


async def test_a_pending_follow_request_is_not_following(sqlite_net: FakeNet) -> None:
    net = sqlite_net
    site = await net.add_instance("a.test")
    await create_user(site.ctx, NewUser(username="alice"))
    await create_user(site.ctx, NewUser(username="bob"))
    async with site.ctx.sessions() as session:
        await session.execute(
            update(Actor).where(Actor.username == "alice").values(manually_approves_followers=True)
        )
        await session.commit()
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    assert (
        await post_signed(net, INBOX, _follow(rita, "https://a.test/users/alice"), rita.key)
    ).status_code == 202
    await follows.follow(site.ctx, "bob", "alice@a.test")
    await net.settle()
    private = await posts.create_post(
        site.ctx, "alice", posts.NewPost(SECRET, visibility="followers")
    )
    await net.settle()
    alice_id = await _actor_id(site, "https://a.test/users/alice")
    bob_id = await _actor_id(site, "https://a.test/users/bob")

    # Not delivered to the requester's server, not readable by the local requester.
    assert private.inboxes == 0 and net.received.get("https://remote.example/inbox") is None
    async with api(net, site, await token_for(site, "bob")) as bob:
        assert (await bob.get(f"/api/v1/statuses/{private.post.id}")).status_code == 404
        assert (await bob.get(f"/api/v1/accounts/{alice_id}/statuses")).json() == []
        assert (await bob.get("/api/v1/timelines/home")).json() == []
        relation = (
            await bob.get("/api/v1/accounts/relationships", params={"id[]": str(alice_id)})
        ).json()
        account = (await bob.get(f"/api/v1/accounts/{alice_id}")).json()
    assert (relation[0]["following"], relation[0]["requested"]) == (False, True)
    assert account["followers_count"] == 0
    assert await timelines.home(site.ctx, bob_id, Page()) == []
    async with net.client() as http:
        followers = (await http.get("https://a.test/users/alice/followers", headers=AP)).json()
    assert followers["totalItems"] == 0

    # Once approved, bob reads it: the checks above were about the request, not the post.
    await follows.answer_request(site.ctx, "alice", "bob@a.test", approve=True)
    async with api(net, site, await token_for(site, "bob")) as bob:
        assert (await bob.get(f"/api/v1/statuses/{private.post.id}")).status_code == 200
    later = await posts.create_post(
        site.ctx, "alice", posts.NewPost("second", visibility="followers")
    )
    assert later.inboxes == 0  # rita is still only asking
    await follows.answer_request(site.ctx, "alice", rita.iri, approve=True)
    last = await posts.create_post(
        site.ctx, "alice", posts.NewPost("third", visibility="followers")
    )
    assert last.inboxes == 1
    await net.settle()
    delivered = [json.loads(body) for body in net.received["https://remote.example/inbox"]]
    assert [a["object"]["content"] for a in delivered if a["type"] == "Create"] == ["<p>third</p>"]
    assert PUBLIC not in delivered[-1]["to"]
