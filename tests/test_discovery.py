"""WebFinger, host-meta, NodeInfo, actor documents and collections, as a remote server sees them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fediverse.activitypub.parse import parse_actor
from fediverse.services import interactions, posts
from fediverse.services.actors import NewUser, create_group, create_user
from fediverse.store.tables import Actor, Follow
from tests.fakenet import FakeNet, Instance

AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
async def local_instance(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    await create_user(instance.ctx, NewUser(username="alice", password="correct horse"))
    await create_group(instance.ctx, "hikers", owner_username="alice", title="Hikers")
    return instance


async def test_webfinger_finds_people_and_groups_by_handle_and_url(
    net: FakeNet, local_instance: Instance
) -> None:
    async with net.client() as http:
        for resource in ("acct:alice@a.test", "alice@a.test", "https://a.test/users/alice"):
            response = await http.get(
                "https://a.test/.well-known/webfinger", params={"resource": resource}
            )
            assert response.status_code == 200, resource
            assert response.headers["content-type"].startswith("application/jrd+json")
            jrd = response.json()
            assert jrd["subject"] == "acct:alice@a.test"
            self_links = [link for link in jrd["links"] if link["rel"] == "self"]
            assert self_links == [{"rel": "self", "type": AP, "href": "https://a.test/users/alice"}]
        group = await http.get(
            "https://a.test/.well-known/webfinger", params={"resource": "acct:hikers@a.test"}
        )
        assert group.json()["links"][-1]["href"] == "https://a.test/groups/hikers"


@pytest.mark.parametrize(
    ("resource", "status", "words"),
    [
        ("acct:nobody@a.test", 404, "nobody"),
        ("acct:alice@elsewhere.test", 404, "not on this instance"),
        ("alice", 400, "acct:user@host"),
        ("acct:@a.test", 400, "acct:user@host"),
        ("", 400, "empty"),
        ("https://a.test/objects/1", 404, "not an actor"),
    ],
)
async def test_webfinger_errors_are_clear(
    net: FakeNet, local_instance: Instance, resource: str, status: int, words: str
) -> None:
    async with net.client() as http:
        response = await http.get(
            "https://a.test/.well-known/webfinger", params={"resource": resource}
        )
    assert response.status_code == status
    assert words in response.json()["error"]


async def test_webfinger_without_resource_is_a_400(net: FakeNet, local_instance: Instance) -> None:
    async with net.client() as http:
        response = await http.get("https://a.test/.well-known/webfinger")
    assert response.status_code == 400
    assert "resource" in response.json()["error"]


@pytest.mark.parametrize("accept", [AP, LD, "application/ld+json"])
async def test_actor_document_has_what_mastodon_reads(
    net: FakeNet, local_instance: Instance, accept: str
) -> None:
    async with net.client() as http:
        response = await http.get("https://a.test/users/alice", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(AP)
    doc = response.json()
    assert doc["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert "https://w3id.org/security/v1" in doc["@context"]
    assert doc["id"] == "https://a.test/users/alice"
    assert doc["type"] == "Person"
    assert doc["preferredUsername"] == "alice"
    for key, path in [
        ("inbox", "/inbox"),
        ("outbox", "/outbox"),
        ("followers", "/followers"),
        ("following", "/following"),
        ("featured", "/collections/featured"),
    ]:
        assert doc[key] == "https://a.test/users/alice" + path
    assert doc["endpoints"] == {"sharedInbox": "https://a.test/inbox"}
    assert doc["publicKey"]["id"] == "https://a.test/users/alice#main-key"
    assert doc["publicKey"]["owner"] == doc["id"]
    assert doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert doc["manuallyApprovesFollowers"] is False
    assert doc["discoverable"] is True
    assert doc["url"] == "https://a.test/users/alice"
    assert doc["published"].endswith("Z")
    # Our own parser (the one that reads other servers) accepts what we publish.
    parsed = parse_actor(doc)
    assert parsed.inbox == doc["inbox"]
    assert parsed.shared_inbox == "https://a.test/inbox"


async def test_group_and_instance_actor_documents(net: FakeNet, local_instance: Instance) -> None:
    async with net.client() as http:
        group = (await http.get("https://a.test/groups/hikers", headers={"Accept": AP})).json()
        instance = (await http.get("https://a.test/actor", headers={"Accept": AP})).json()
    assert group["type"] == "Group"
    assert group["name"] == "Hikers"
    assert group["inbox"] == "https://a.test/groups/hikers/inbox"
    assert instance["type"] == "Application"
    assert instance["id"] == "https://a.test/actor"
    assert instance["publicKey"]["owner"] == "https://a.test/actor"


async def test_browsers_get_an_html_profile_at_the_same_url(
    net: FakeNet, local_instance: Instance
) -> None:
    async with net.client() as http:
        page = await http.get("https://a.test/users/alice", headers={"Accept": "text/html"})
        missing = await http.get("https://a.test/users/nobody", headers={"Accept": "text/html"})
        missing_json = await http.get("https://a.test/users/nobody", headers={"Accept": AP})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "@alice@a.test" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert missing.status_code == 404 and "<html" in missing.text
    assert missing_json.status_code == 404 and "nobody" in missing_json.json()["error"]


async def test_host_meta_and_nodeinfo(net: FakeNet, local_instance: Instance) -> None:
    async with net.client() as http:
        host_meta = await http.get("https://a.test/.well-known/host-meta")
        links = (await http.get("https://a.test/.well-known/nodeinfo")).json()["links"]
        documents = {link["rel"]: (await http.get(link["href"])) for link in links}
        unknown = await http.get("https://a.test/nodeinfo/9.9")
    assert "https://a.test/.well-known/webfinger?resource={uri}" in host_meta.text
    assert set(documents) == {
        "http://nodeinfo.diaspora.software/ns/schema/2.0",
        "http://nodeinfo.diaspora.software/ns/schema/2.1",
    }
    for rel, response in documents.items():
        assert rel in response.headers["content-type"]
        body = response.json()
        assert body["software"]["name"] == "fediverse"
        assert body["protocols"] == ["activitypub"]
        assert body["usage"]["users"]["total"] == 1  # alice; groups and the instance don't count
        assert body["usage"]["localPosts"] == 0
        assert body["openRegistrations"] is False
    assert unknown.status_code == 404


async def test_followers_collection_pages_through_the_truth(
    net: FakeNet, local_instance: Instance
) -> None:
    ctx = local_instance.ctx
    followers = []
    for index in range(25):
        actor, _ = await create_user(ctx, NewUser(username=f"fan{index}"))
        followers.append(actor)
    async with ctx.sessions() as session:
        alice_id = await session.scalar(select(Actor.id).where(Actor.username == "alice"))
        for index, fan in enumerate(followers):
            state = "pending" if index == 0 else "accepted"
            session.add(Follow(follower_id=fan.id, followee_id=alice_id, state=state))
        await session.commit()

    async with net.client() as http:
        head = (
            await http.get("https://a.test/users/alice/followers", headers={"Accept": AP})
        ).json()
        assert head["type"] == "OrderedCollection"
        assert head["totalItems"] == 24  # the pending request is not a follower yet
        seen: list[str] = []
        url: str | None = head["first"]
        while url:
            page = (await http.get(url, headers={"Accept": AP})).json()
            assert page["type"] == "OrderedCollectionPage"
            assert page["partOf"] == head["id"]
            seen.extend(page["orderedItems"])
            url = page.get("next")
        following = (
            await http.get("https://a.test/users/fan3/following", headers={"Accept": AP})
        ).json()
        outbox = (
            await http.get("https://a.test/users/alice/outbox", headers={"Accept": AP})
        ).json()
    expected = {f"https://a.test/users/fan{i}" for i in range(1, 25)}
    assert set(seen) == expected and len(seen) == 24
    assert following["totalItems"] == 1
    assert outbox["totalItems"] == 0 and outbox["first"].endswith("?page=true")


async def test_unknown_routes_answer_404_json_for_federation_clients(
    net: FakeNet, local_instance: Instance
) -> None:
    async with net.client() as http:
        response = await http.get("https://a.test/users/alice/nothing", headers={"Accept": AP})
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"error": "Nothing is at /users/alice/nothing."}


async def test_posts_and_follower_lists_negotiate_html_and_activitystreams(
    net: FakeNet, local_instance: Instance
) -> None:
    from fediverse.services import posts

    published = await posts.create_post(
        local_instance.ctx, "alice", posts.NewPost("negotiated #hello")
    )
    url = published.post.uri
    async with net.client() as http:
        as_json = await http.get(url, headers={"Accept": AP})
        as_html = await http.get(url, headers={"Accept": "text/html"})
        followers_html = await http.get(
            "https://a.test/users/alice/followers", headers={"Accept": "text/html"}
        )
        followers_json = await http.get(
            "https://a.test/users/alice/followers", headers={"Accept": AP}
        )
    assert as_json.headers["content-type"].startswith(AP)
    assert as_json.json()["id"] == url and as_json.json()["type"] == "Note"
    assert as_html.status_code == 200 and "negotiated" in as_html.text
    assert as_html.headers["content-type"].startswith("text/html")
    assert followers_html.status_code == 200 and "<html" in followers_html.text
    assert followers_json.json()["type"] == "OrderedCollection"


async def test_post_counts_are_of_live_posts_anyone_may_read(sqlite_net: FakeNet) -> None:
    site = await sqlite_net.add_instance("a.test")
    await create_user(site.ctx, NewUser(username="alice"))
    await create_user(site.ctx, NewUser(username="bob"))
    public = await posts.create_post(site.ctx, "alice", posts.NewPost("for everyone"))
    await posts.create_post(site.ctx, "alice", posts.NewPost("quietly", visibility="unlisted"))
    await posts.create_post(site.ctx, "alice", posts.NewPost("friends", visibility="followers"))
    await posts.create_post(site.ctx, "alice", posts.NewPost("@bob psst", visibility="direct"))
    gone = await posts.create_post(site.ctx, "alice", posts.NewPost("oops"))
    await posts.delete_post(site.ctx, "alice", gone.post.id)
    await interactions.boost(site.ctx, "bob", public.post.id)  # a boost is not a post of its own
    async with sqlite_net.client() as http:
        counts = [
            (await http.get(f"https://a.test/nodeinfo/{v}")).json()["usage"]["localPosts"]
            for v in ("2.0", "2.1")
        ]
        instance = (await http.get("https://a.test/api/v1/instance")).json()
    # The public and the unlisted post: what anyone may read, and nothing else.
    assert counts == [2, 2]
    assert instance["stats"]["status_count"] == 2
