"""Authorized fetch, key rotation, GoToSocial-style key ids, actor updates and deletes, blocks."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from fediverse.activitypub.keys import generate_rsa_keypair, load_private_key
from fediverse.activitypub.signatures import SigningKey, sign_cavage
from fediverse.errors import Conflict
from fediverse.services import follows, remote_actors
from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import Actor, ActorBlock, Follow, InboxItem
from tests.fakenet import FakeNet, Instance
from tests.remote import RemoteActor, make_remote_actor, post_signed

INBOX = "https://a.test/inbox"
AP = {"Accept": "application/activity+json"}


def follow(actor: str, number: int = 1) -> dict:
    return {
        "id": f"{actor}/follows/{number}",
        "type": "Follow",
        "actor": actor,
        "object": "https://a.test/users/alice",
    }


async def count(instance: Instance, model, **where) -> int:  # type: ignore[no-untyped-def]
    async with instance.ctx.sessions() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(await session.scalar(query) or 0)


async def item_states(instance: Instance) -> list[str]:
    async with instance.ctx.sessions() as session:
        return list((await session.scalars(select(InboxItem.state).order_by(InboxItem.id))).all())


async def test_authorized_fetch_requires_signatures_but_keeps_bootstrap_open(
    net: FakeNet,
) -> None:
    secure = await net.add_instance("secure.test", federation={"authorized_fetch": True})
    await create_user(secure.ctx, NewUser(username="sam"))
    other = await net.add_instance("b.test")
    async with net.client() as http:
        unsigned = await http.get("https://secure.test/users/sam", headers=AP)
        followers = await http.get("https://secure.test/users/sam/followers", headers=AP)
        instance_actor = await http.get("https://secure.test/actor", headers=AP)
        webfinger = await http.get(
            "https://secure.test/.well-known/webfinger", params={"resource": "acct:sam@secure.test"}
        )
        nodeinfo = await http.get("https://secure.test/nodeinfo/2.1")
        page = await http.get("https://secure.test/users/sam", headers={"Accept": "text/html"})
    assert unsigned.status_code == 401 and "signed fetches" in unsigned.json()["error"]
    assert followers.status_code == 401
    assert instance_actor.status_code == webfinger.status_code == nodeinfo.status_code == 200
    assert page.status_code == 200
    # Another instance of ours signs its fetches with its instance actor, so it gets through.
    actor = await remote_actors.get_actor(other.ctx, "https://secure.test/users/sam")
    assert actor.inbox_url == "https://secure.test/users/sam/inbox"
    # A signature by a key that does not verify is refused too.
    forged = SigningKey(
        "https://b.test/actor#main-key", load_private_key(generate_rsa_keypair().private_pem)
    )
    headers = sign_cavage("GET", "https://secure.test/users/sam", {}, None, forged)
    async with net.client() as http:
        refused = await http.get("https://secure.test/users/sam", headers={**AP, **headers})
    assert refused.status_code == 401


async def test_rotated_key_is_refetched_once(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    assert (
        await post_signed(net, INBOX, follow(remote_person.iri, 1), remote_person.key)
    ).status_code == 202
    # rita's server rotates her key; our cached copy is now stale.
    rotated = make_remote_actor(net, remote_person.iri, generation=1)
    net.log.clear()
    response = await post_signed(net, INBOX, follow(remote_person.iri, 2), rotated.key)
    assert response.status_code == 202, response.text
    refetches = [r for r in net.log if r.method == "GET" and r.url.startswith(remote_person.iri)]
    assert len(refetches) == 1
    async with local_instance.ctx.sessions() as session:
        cached = await session.scalar(select(Actor).where(Actor.uri == remote_person.iri))
    assert (
        cached is not None
        and cached.public_key_pem == rotated.document["publicKey"]["publicKeyPem"]
    )


async def test_gotosocial_style_key_id_is_followed_to_its_owner(
    net: FakeNet, local_instance: Instance
) -> None:
    iri = "https://gts.example/users/gina"
    key_id = f"{iri}/main-key"
    gina = make_remote_actor(net, iri)
    gina.document["publicKey"]["id"] = key_id
    # GoToSocial serves the key at its own URL, naming its owner.
    net.documents[key_id] = {
        "id": key_id,
        "owner": iri,
        "publicKeyPem": gina.document["publicKey"]["publicKeyPem"],
    }
    key = SigningKey(key_id=key_id, private_key=gina.key.private_key)
    response = await post_signed(net, INBOX, follow(iri), key)
    assert response.status_code == 202, response.text
    await net.settle()
    assert await count(local_instance, Follow, state="accepted") == 1


async def test_update_refreshes_and_delete_removes_a_remote_actor(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    await post_signed(net, INBOX, follow(remote_person.iri), remote_person.key)
    await net.settle()
    renamed = {
        **remote_person.document,
        "name": "Rita Renamed",
        "summary": "<p>new <script>x</script></p>",
    }
    update = {
        "id": f"{remote_person.iri}#update-1",
        "type": "Update",
        "actor": remote_person.iri,
        "object": renamed,
    }
    assert (await post_signed(net, INBOX, update, remote_person.key)).status_code == 202
    await net.settle()
    async with local_instance.ctx.sessions() as session:
        cached = await session.scalar(select(Actor).where(Actor.uri == remote_person.iri))
    assert cached is not None and cached.display_name == "Rita Renamed"
    assert "<script" not in cached.summary_html

    delete = {
        "id": f"{remote_person.iri}#delete",
        "type": "Delete",
        "actor": remote_person.iri,
        "object": remote_person.iri,
    }
    assert (await post_signed(net, INBOX, delete, remote_person.key)).status_code == 202
    await net.settle()
    assert await count(local_instance, Follow) == 0
    async with local_instance.ctx.sessions() as session:
        gone = await session.scalar(select(Actor).where(Actor.uri == remote_person.iri))
    assert gone is not None and gone.deleted_at is not None
    assert await item_states(local_instance) == ["processed", "processed", "processed"]


async def test_someone_elses_update_of_an_actor_is_refused(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    mallory = make_remote_actor(net, "https://evil.example/users/mallory")
    update = {
        "id": f"{mallory.iri}#u",
        "type": "Update",
        "actor": mallory.iri,
        "object": {**remote_person.document, "inbox": "https://evil.example/steal"},
    }
    response = await post_signed(net, INBOX, update, mallory.key)
    assert response.status_code == 403
    assert await count(local_instance, InboxItem) == 0


async def test_block_drops_follows_both_ways_and_prevents_refollow(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    await post_signed(net, INBOX, follow(remote_person.iri), remote_person.key)
    await net.settle()
    await follows.follow(local_instance.ctx, "alice", remote_person.iri)
    await net.settle()
    assert await count(local_instance, Follow) == 2
    block = {
        "id": f"{remote_person.iri}#block",
        "type": "Block",
        "actor": remote_person.iri,
        "object": "https://a.test/users/alice",
    }
    assert (await post_signed(net, INBOX, block, remote_person.key)).status_code == 202
    await net.settle()
    assert await count(local_instance, Follow) == 0
    assert await count(local_instance, ActorBlock) == 1
    with pytest.raises(Conflict, match="blocked"):
        await follows.follow(local_instance.ctx, "alice", remote_person.iri)
    undo = {
        "id": f"{remote_person.iri}#unblock",
        "type": "Undo",
        "actor": remote_person.iri,
        "object": block,
    }
    assert (await post_signed(net, INBOX, undo, remote_person.key)).status_code == 202
    await net.settle()
    assert await count(local_instance, ActorBlock) == 0


async def test_unknown_activity_types_are_recorded_as_unsupported(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    odd = {
        "id": f"{remote_person.iri}#odd",
        "type": "Juggle",
        "actor": remote_person.iri,
        "object": "https://a.test/users/alice",
    }
    assert (await post_signed(net, INBOX, odd, remote_person.key)).status_code == 202
    await net.settle()
    assert await item_states(local_instance) == ["unsupported"]


async def test_personal_inbox_of_unknown_actor_is_404(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    response = await post_signed(
        net, "https://a.test/users/nobody/inbox", follow(remote_person.iri), remote_person.key
    )
    assert response.status_code == 404
    assert isinstance(response, httpx.Response)
