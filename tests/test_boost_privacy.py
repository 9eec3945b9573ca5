"""A boost never shows a post to someone who cannot see the post itself.

A remote Announce of one of our followers-only posts or direct messages is refused; and the one
visibility rule judges a boost by the boosted post as well, so a boost row that points at a
private post (stored before the refusal existed, or by any writer that forgets it) stays
invisible on every read path: the client API, the pages, the ActivityPub outbox and search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from fediverse.activitypub.vocab import PUBLIC
from fediverse.ids import new_id
from fediverse.services import follows, posts
from fediverse.services.actors import NewUser, create_user
from fediverse.services.posts import NewPost
from fediverse.store.tables import Actor, Follow, InboxItem, Notification, OutboxActivity, Post
from fediverse.store.types import utcnow
from tests.api_helpers import api, token_for
from tests.fakenet import FakeNet, Instance
from tests.remote import RemoteActor, make_remote_actor, post_signed
from tests.ui_helpers import PASSWORD, browser, signed_in, text_of

INBOX = "https://a.test/inbox"
AS = "https://www.w3.org/ns/activitystreams"
SECRET = "only for my followers"
WHISPER = "a direct word"


@dataclass
class Scene:
    site: Instance
    rita: RemoteActor
    rita_id: int
    private: Post
    direct: Post
    public: Post


async def _scene(net: FakeNet) -> Scene:
    """alice posts publicly, to her followers and directly to rita; rita (remote) and bob
    (local) follow her; carol (local) follows nobody."""
    site = await net.add_instance("a.test")
    await create_user(site.ctx, NewUser(username="alice"))
    for name in ("bob", "carol"):
        await create_user(site.ctx, NewUser(username=name, password=PASSWORD))
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    follow = {
        "@context": AS,
        "id": f"{rita.iri}/follows/1",
        "type": "Follow",
        "actor": rita.iri,
        "object": "https://a.test/users/alice",
    }
    assert (await post_signed(net, INBOX, follow, rita.key)).status_code == 202
    await follows.follow(site.ctx, "bob", "https://a.test/users/alice")
    await net.settle()
    public = await posts.create_post(site.ctx, "alice", NewPost(text="hello world"))
    private = await posts.create_post(
        site.ctx, "alice", NewPost(text=SECRET, visibility="followers")
    )
    direct = await posts.create_post(
        site.ctx, "alice", NewPost(text=f"@rita@remote.example {WHISPER}", visibility="direct")
    )
    await net.settle()
    async with site.ctx.sessions() as session:
        rita_id = await session.scalar(select(Actor.id).where(Actor.uri == rita.iri))
    assert rita_id is not None
    return Scene(site, rita, rita_id, private.post, direct.post, public.post)


def _announce(rita: RemoteActor, number: int, target: str) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{rita.iri}/statuses/{number}/activity",
        "type": "Announce",
        "actor": rita.iri,
        "published": "2024-05-01T12:00:00Z",
        "object": target,
        "to": [PUBLIC],
        "cc": [f"{rita.iri}/followers", "https://a.test/users/alice"],
    }


async def test_an_announce_of_a_followers_only_or_direct_post_is_refused(
    sqlite_net: FakeNet,
) -> None:
    net = sqlite_net
    scene = await _scene(net)
    for number, post in enumerate((scene.private, scene.direct), start=1):
        response = await post_signed(
            net, INBOX, _announce(scene.rita, number, post.uri), scene.rita.key
        )
        assert response.status_code == 202
    await net.settle()
    async with scene.site.ctx.sessions() as session:
        boosts = (await session.scalars(select(Post).where(Post.boost_of_id.is_not(None)))).all()
        counts = (
            await session.scalars(
                select(Post.boosts_count).where(Post.id.in_([scene.private.id, scene.direct.id]))
            )
        ).all()
        reblogs = (
            await session.scalars(select(Notification).where(Notification.kind == "reblog"))
        ).all()
        items = (
            await session.scalars(select(InboxItem).where(InboxItem.activity_type == "Announce"))
        ).all()
    assert boosts == [] and counts == [0, 0] and reblogs == []
    assert [item.state for item in items] == ["ignored", "ignored"]
    assert all("not public" in (item.last_error or "") for item in items)

    # A public post is still boosted, and the boost follows the Announce's own addressing.
    response = await post_signed(
        net, INBOX, _announce(scene.rita, 3, scene.public.uri), scene.rita.key
    )
    assert response.status_code == 202
    await net.settle()
    async with scene.site.ctx.sessions() as session:
        boost = await session.scalar(select(Post).where(Post.boost_of_id == scene.public.id))
    assert boost is not None and boost.visibility == "public" and boost.author_id == scene.rita_id


async def test_a_followers_only_announce_is_stored_for_followers_only(
    sqlite_net: FakeNet,
) -> None:
    net = sqlite_net
    scene = await _scene(net)
    announce = {**_announce(scene.rita, 4, scene.public.uri), "to": [f"{scene.rita.iri}/followers"]}
    announce["cc"] = ["https://a.test/users/alice"]
    assert (await post_signed(net, INBOX, announce, scene.rita.key)).status_code == 202
    await net.settle()
    async with scene.site.ctx.sessions() as session:
        boost = await session.scalar(select(Post).where(Post.boost_of_id == scene.public.id))
    assert boost is not None and boost.visibility == "followers"
    async with api(net, scene.site) as anonymous:
        listed = await anonymous.get(f"/api/v1/accounts/{scene.rita_id}/statuses")
        shown = await anonymous.get(f"/api/v1/statuses/{boost.id}")
    assert listed.status_code == 200 and listed.json() == []
    assert shown.status_code == 404


async def _store_legacy_boosts(scene: Scene) -> dict[str, int]:
    """Store rita's boosts of alice's private posts as an older version did (visible to all),
    and a local group-style boost by bob with its Announce listed in bob's outbox."""
    ids: dict[str, int] = {}
    async with scene.site.ctx.sessions() as session:
        bob_id = await session.scalar(
            select(Actor.id).where(Actor.username == "bob", Actor.local.is_(True))
        )
        assert bob_id is not None
        for label, author_id, target in (
            ("private", scene.rita_id, scene.private),
            ("direct", scene.rita_id, scene.direct),
            ("local", bob_id, scene.private),
        ):
            boost_id = new_id()
            uri = (
                f"{scene.rita.iri}/statuses/{boost_id}/activity"
                if author_id == scene.rita_id
                else scene.site.ctx.uris.activity(boost_id)
            )
            session.add(
                Post(
                    id=boost_id,
                    uri=uri,
                    url=uri,
                    author_id=author_id,
                    local=author_id == bob_id,
                    type="Announce",
                    boost_of_id=target.id,
                    visibility="public",
                    to=[PUBLIC],
                    cc=[],
                    published_at=utcnow(),
                )
            )
            if author_id == bob_id:
                session.add(
                    OutboxActivity(
                        id=boost_id,
                        uri=uri,
                        actor_id=bob_id,
                        type="Announce",
                        object_uri=target.uri,
                        public=True,
                        payload={
                            "id": uri,
                            "type": "Announce",
                            "actor": "https://a.test/users/bob",
                            "object": target.uri,
                            "to": [PUBLIC],
                        },
                    )
                )
            ids[label] = boost_id
        await session.commit()
    return ids


async def test_a_boost_of_a_private_post_is_invisible_on_every_read_path(net: FakeNet) -> None:
    """On both engines: the rule is SQL (correlated subqueries), so each engine must agree."""
    scene = await _scene(net)
    boosts = await _store_legacy_boosts(scene)
    site = scene.site

    async with api(net, site) as anonymous:
        rita_statuses = await anonymous.get(f"/api/v1/accounts/{scene.rita_id}/statuses")
        shown = [
            await anonymous.get(f"/api/v1/statuses/{boost_id}") for boost_id in boosts.values()
        ]
        rebloggers = await anonymous.get(f"/api/v1/statuses/{scene.private.id}/reblogged_by")
        search = await anonymous.get(
            "/api/v2/search",
            params={"q": f"{scene.rita.iri}/statuses/{boosts['private']}/activity"},
        )
    assert rita_statuses.status_code == 200 and rita_statuses.json() == []
    assert [response.status_code for response in shown] == [404, 404, 404]
    assert rebloggers.status_code == 404
    assert search.json()["statuses"] == []

    # carol follows rita but not alice: her home timeline, rita's statuses and the boost hide it.
    async with site.ctx.sessions() as session:
        carol_id = await session.scalar(select(Actor.id).where(Actor.username == "carol"))
        assert carol_id is not None
        session.add(Follow(follower_id=carol_id, followee_id=scene.rita_id, state="accepted"))
        await session.commit()
    carol = await token_for(site, "carol")
    async with api(net, site, carol) as client:
        home = await client.get("/api/v1/timelines/home")
        listed = await client.get(f"/api/v1/accounts/{scene.rita_id}/statuses")
        boost = await client.get(f"/api/v1/statuses/{boosts['private']}")
    assert home.status_code == 200 and home.json() == []
    assert listed.json() == [] and boost.status_code == 404
    async with signed_in(net, site, "carol", create=False) as page:
        assert SECRET not in text_of((await page.get("/")).text)

    async with browser(net, site) as visitor:
        profile = await visitor.get("/@rita@remote.example")
        boost_page = await visitor.get(f"/posts/{boosts['private']}")
        bob_page = await visitor.get("/users/bob")
    assert profile.status_code == 200
    assert SECRET not in text_of(profile.text) and WHISPER not in text_of(profile.text)
    assert boost_page.status_code == 404 and SECRET not in boost_page.text
    assert SECRET not in text_of(bob_page.text)

    async with net.client() as http:
        head = await http.get(
            "https://a.test/users/bob/outbox", headers={"Accept": "application/activity+json"}
        )
        page = await http.get(
            "https://a.test/users/bob/outbox?page=true",
            headers={"Accept": "application/activity+json"},
        )
        activity = await http.get(
            f"https://a.test/activities/{boosts['local']}",
            headers={"Accept": "application/activity+json"},
        )
    assert head.json()["totalItems"] == 0
    assert page.json()["orderedItems"] == []
    assert activity.status_code == 404

    # Someone who may read the post may read the boost: bob follows alice.
    async with api(net, site, await token_for(site, "bob")) as client:
        listed = await client.get(f"/api/v1/accounts/{scene.rita_id}/statuses")
        boost = await client.get(f"/api/v1/statuses/{boosts['private']}")
    assert [status["reblog"]["id"] for status in listed.json()] == [str(scene.private.id)]
    assert boost.status_code == 200 and boost.json()["reblog"]["id"] == str(scene.private.id)
    async with signed_in(net, site, "bob", create=False) as bob:
        page = await bob.get("/@rita@remote.example")
    assert SECRET in text_of(page.text) and WHISPER not in text_of(page.text)
