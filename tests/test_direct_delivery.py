"""A direct post goes to the remote people it mentions and to nobody else: not to the author's
followers, not to their servers' shared inboxes, not into the outbox."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from fediverse.activitypub.vocab import PUBLIC
from fediverse.services import posts
from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import Delivery, OutboxActivity
from tests.api_helpers import api, token_for
from tests.fakenet import FakeNet
from tests.remote import RemoteActor, make_remote_actor, post_signed

INBOX = "https://a.test/inbox"
AP = {"Accept": "application/activity+json"}


def _serve_webfinger(net: FakeNet, actor: RemoteActor) -> None:
    host = actor.iri.split("/")[2]
    name = actor.iri.rsplit("/", 1)[1]
    url = f"https://{host}/.well-known/webfinger?resource=acct:{name}@{host}"
    net.documents[url] = {
        "subject": f"acct:{name}@{host}",
        "links": [{"rel": "self", "type": "application/activity+json", "href": actor.iri}],
    }


def _creates(net: FakeNet, inbox: str) -> list[dict[str, Any]]:
    documents = [json.loads(body) for body in net.received.get(inbox, [])]
    return [document for document in documents if document["type"] == "Create"]


async def test_a_direct_post_reaches_exactly_the_people_it_mentions(sqlite_net: FakeNet) -> None:
    net = sqlite_net
    site = await net.add_instance("a.test")
    for name in ("alice", "bob", "carol"):
        await create_user(site.ctx, NewUser(username=name))
    # Followers of alice: rita and sam on remote.example (one shared inbox), olga elsewhere.
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    sam = make_remote_actor(net, "https://remote.example/users/sam")
    olga = make_remote_actor(net, "https://other.example/users/olga")
    for follower in (rita, sam, olga):
        follow = {
            "id": f"{follower.iri}/follows/1",
            "type": "Follow",
            "actor": follower.iri,
            "object": "https://a.test/users/alice",
        }
        assert (await post_signed(net, INBOX, follow, follower.key)).status_code == 202
    # tom follows nobody here and is only known through WebFinger.
    tom = make_remote_actor(net, "https://third.example/users/tom")
    _serve_webfinger(net, tom)
    await net.settle()
    net.received.clear()

    sent = await posts.create_post(
        site.ctx,
        "alice",
        posts.NewPost(
            "@rita@remote.example @tom@third.example @carol meet at nine?", visibility="direct"
        ),
    )
    assert sent.inboxes == 2
    async with site.ctx.sessions() as session:
        inboxes = set(
            (
                await session.scalars(
                    select(Delivery.inbox_url).where(Delivery.activity_id == sent.activity_id)
                )
            ).all()
        )
        activity = await session.get(OutboxActivity, sent.activity_id)
    assert inboxes == {rita.inbox, tom.inbox}
    assert activity is not None and activity.public is False
    await net.settle()

    for person in (rita, tom):
        (create,) = _creates(net, person.inbox)
        assert sorted(create["to"]) == sorted([rita.iri, tom.iri, "https://a.test/users/carol"])
        assert create.get("cc", []) == []
        assert PUBLIC not in create["object"]["to"] + create["object"].get("cc", [])
        assert "meet at nine?" in create["object"]["content"]
    for elsewhere in (
        "https://remote.example/inbox",
        "https://other.example/inbox",
        sam.inbox,
        olga.inbox,
    ):
        assert _creates(net, elsewhere) == []

    # Here, carol (mentioned) reads it and bob (not mentioned) does not.
    async with api(net, site, await token_for(site, "carol")) as carol:
        assert (await carol.get(f"/api/v1/statuses/{sent.post.id}")).status_code == 200
    async with api(net, site, await token_for(site, "bob")) as bob:
        assert (await bob.get(f"/api/v1/statuses/{sent.post.id}")).status_code == 404
    async with net.client() as http:
        outbox = (await http.get("https://a.test/users/alice/outbox", headers=AP)).json()
    assert outbox["totalItems"] == 0


async def test_a_direct_post_to_local_people_only_leaves_nothing_to_deliver(
    sqlite_net: FakeNet,
) -> None:
    net = sqlite_net
    site = await net.add_instance("a.test")
    for name in ("alice", "carol"):
        await create_user(site.ctx, NewUser(username=name))
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    follow = {
        "id": f"{rita.iri}/follows/1",
        "type": "Follow",
        "actor": rita.iri,
        "object": "https://a.test/users/alice",
    }
    assert (await post_signed(net, INBOX, follow, rita.key)).status_code == 202
    await net.settle()
    sent = await posts.create_post(
        site.ctx, "alice", posts.NewPost("@carol just us", visibility="direct")
    )
    await net.settle()
    assert sent.inboxes == 0 and sent.followers_targeted == 0
    assert _creates(net, "https://remote.example/inbox") == _creates(net, rita.inbox) == []
