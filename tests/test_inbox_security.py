"""The inbox refuses what it must, with the right status, and stores nothing when it does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fediverse.activitypub.client import BlockedAddressError, FetchError
from fediverse.store.tables import Follow, InboxItem
from tests.conftest import Database, make_config
from tests.fakenet import FakeNet, Instance
from tests.remote import RemoteActor, make_remote_actor, post_signed

INBOX = "https://a.test/inbox"


@pytest.fixture
def mallory(net: FakeNet) -> RemoteActor:
    return make_remote_actor(net, "https://evil.example/users/mallory")


def follow_of_alice(actor: str, number: int = 1) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}/follows/{number}",
        "type": "Follow",
        "actor": actor,
        "object": "https://a.test/users/alice",
    }


async def stored(instance: Instance) -> tuple[int, int]:
    async with instance.ctx.sessions() as session:
        items = await session.scalar(select(func.count()).select_from(InboxItem))
        follows = await session.scalar(select(func.count()).select_from(Follow))
    return int(items or 0), int(follows or 0)


async def test_a_valid_follow_is_accepted_and_processed(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    response = await post_signed(net, INBOX, follow_of_alice(remote_person.iri), remote_person.key)
    assert response.status_code == 202, response.text
    await net.settle()
    assert await stored(local_instance) == (1, 1)
    # Our Accept went to rita's own inbox, signed by alice.
    accepts = [json.loads(body) for body in net.received[remote_person.inbox]]
    assert [a["type"] for a in accepts] == ["Accept"]
    assert accepts[0]["actor"] == "https://a.test/users/alice"
    assert accepts[0]["object"]["id"] == f"{remote_person.iri}/follows/1"


async def test_replayed_activity_is_stored_once(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    activity = follow_of_alice(remote_person.iri)
    first = await post_signed(net, INBOX, activity, remote_person.key)
    again = await post_signed(net, INBOX, activity, remote_person.key)
    assert first.status_code == again.status_code == 202
    assert "duplicate" in again.json()["status"]
    await net.settle()
    assert await stored(local_instance) == (1, 1)
    assert len(net.received[remote_person.inbox]) == 1  # one Accept, not two


async def test_tampered_body_is_refused(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    activity = follow_of_alice(remote_person.iri)
    tampered = json.dumps({**activity, "object": "https://a.test/users/bob"}).encode()
    response = await post_signed(net, INBOX, activity, remote_person.key, tamper=tampered)
    assert response.status_code == 401
    assert "Digest" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)


async def test_wrong_key_is_refused(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor, mallory: RemoteActor
) -> None:
    forged_key = type(remote_person.key)(
        key_id=remote_person.key.key_id, private_key=mallory.key.private_key
    )
    response = await post_signed(net, INBOX, follow_of_alice(remote_person.iri), forged_key)
    assert response.status_code == 401
    assert "Signature refused" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)


@pytest.mark.parametrize("offset", [timedelta(minutes=-66), timedelta(minutes=61)])
async def test_date_outside_the_window_is_refused(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor, offset: timedelta
) -> None:
    response = await post_signed(
        net,
        INBOX,
        follow_of_alice(remote_person.iri),
        remote_person.key,
        now=datetime.now(UTC) + offset,
    )
    assert response.status_code == 401
    assert "window" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)


async def test_signer_that_does_not_own_the_actor_is_forbidden(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor, mallory: RemoteActor
) -> None:
    # Mallory signs validly with her own key, but claims to be rita.
    response = await post_signed(net, INBOX, follow_of_alice(remote_person.iri), mallory.key)
    assert response.status_code == 403
    assert "does not own" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)


async def test_creating_someone_elses_object_is_forbidden(
    net: FakeNet, local_instance: Instance, mallory: RemoteActor
) -> None:
    activity = {
        "id": f"{mallory.iri}/create/1",
        "type": "Create",
        "actor": mallory.iri,
        "object": {
            "id": "https://remote.example/notes/1",
            "type": "Note",
            "content": "forged",
            "attributedTo": "https://remote.example/users/rita",
        },
    }
    response = await post_signed(net, INBOX, activity, mallory.key)
    assert response.status_code == 403
    assert await stored(local_instance) == (0, 0)


async def test_unsigned_malformed_and_oversized_bodies(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    async with net.client() as http:
        unsigned = await http.post(
            INBOX,
            json=follow_of_alice(remote_person.iri),
            headers={"Content-Type": "application/activity+json"},
        )
        not_json = await http.post(
            INBOX, content=b"{nope", headers={"Content-Type": "application/activity+json"}
        )
        html = await http.post(INBOX, content=b"<p>hi</p>", headers={"Content-Type": "text/html"})
        huge = await http.post(
            INBOX,
            content=b"[" + b"1," * 600_000 + b"1]",
            headers={"Content-Type": "application/activity+json"},
        )
    assert unsigned.status_code == 401 and "Signature" in unsigned.json()["error"]
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    assert html.status_code == 415
    assert huge.status_code == 413
    no_actor = await post_signed(
        net, INBOX, {"id": "https://remote.example/x", "type": "Follow"}, remote_person.key
    )
    assert no_actor.status_code == 400
    assert await stored(local_instance) == (0, 0)


async def test_unknown_actor_deleting_itself_is_acknowledged_without_fetching(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    gone = {
        "id": f"{remote_person.iri}#delete",
        "type": "Delete",
        "actor": remote_person.iri,
        "object": remote_person.iri,
    }
    net.log.clear()
    response = await post_signed(net, INBOX, gone, remote_person.key)
    assert response.status_code == 202
    assert not any(r.url.startswith(remote_person.iri) for r in net.log if r.method == "GET")
    assert await stored(local_instance) == (0, 0)


async def test_fetching_a_private_address_is_refused(database: Database, tmp_path: Path) -> None:
    from fediverse.app import build_context

    config = make_config(database, base_url="https://a.test")
    ctx = build_context(config)  # real DNS and the real guard, private addresses not allowed
    try:
        for url in (
            "http://127.0.0.1:9/users/x",
            "http://localhost/users/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x",
            "http://10.1.2.3/inbox",
        ):
            with pytest.raises(BlockedAddressError):
                await ctx.http.fetch_json(url, sign=False)
        with pytest.raises(FetchError):
            await ctx.http.fetch_json("file:///etc/passwd", sign=False)
    finally:
        await ctx.close()
