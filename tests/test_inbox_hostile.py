"""Hostile input at the inbox edge: every refusal is a 4xx with a reason, never a 500, and
nothing is stored, not even half of it.

Storage is the subject of the surrogate and broken-key cases (PostgreSQL refuses text SQLite
keeps), so those run on both engines; the rest run on SQLite only.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, update

from fediverse.activitypub.client import FetchedDocument, NotJSONError
from fediverse.store.tables import Actor, Follow, InboxItem
from tests.conftest import SQLITE_ONLY, load_fixture
from tests.fakenet import FakeNet, Instance
from tests.remote import RemoteActor, make_remote_actor, post_signed

INBOX = "https://a.test/inbox"
ALICE = "https://a.test/users/alice"
JSON_TYPE = {"Content-Type": "application/activity+json"}


def follow_of_alice(actor: str, number: int = 1) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}/follows/{number}",
        "type": "Follow",
        "actor": actor,
        "object": ALICE,
    }


async def stored(instance: Instance) -> tuple[int, int]:
    async with instance.ctx.sessions() as session:
        items = await session.scalar(select(func.count()).select_from(InboxItem))
        follows = await session.scalar(select(func.count()).select_from(Follow))
    return int(items or 0), int(follows or 0)


# --- the signed Host must be ours (issue 9, item 11) ------------------------------------------


@SQLITE_ONLY
async def test_a_request_signed_for_another_host_is_refused(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    activity = follow_of_alice(remote_person.iri)
    response = await post_signed(
        net, INBOX, activity, remote_person.key, headers={"Host": "other.example"}
    )
    assert response.status_code == 401, response.text
    assert "other.example" in response.json()["error"]
    assert "a.test" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)
    # The same activity signed for us is fine, and so is our host spelled with its port.
    ours = await post_signed(
        net, INBOX, activity, remote_person.key, headers={"Host": "A.test:443"}
    )
    assert ours.status_code == 202, ours.text


# --- nothing a stranger sends produces a 500 (item 8) -----------------------------------------


@SQLITE_ONLY
async def test_deeply_nested_json_is_refused_before_any_signature_check(
    net: FakeNet, local_instance: Instance
) -> None:
    async with net.client() as http:
        arrays = await http.post(INBOX, content=b"[" * 100_000, headers=JSON_TYPE)
        objects = await http.post(INBOX, content=b'{"a":' * 50_000, headers=JSON_TYPE)
        # Within what a JSON parser handles, but deeper than any activity needs.
        deep = {"id": "x", "type": "Follow", "actor": "x", "object": {}}
        cursor = deep["object"]
        for _ in range(60):
            cursor["object"] = {}
            cursor = cursor["object"]
        moderate = await http.post(INBOX, content=json.dumps(deep).encode(), headers=JSON_TYPE)
    for response in (arrays, objects, moderate):
        assert response.status_code == 400, response.text
        assert "nested" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)


def _create_of(actor: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{actor}/create/1", "type": "Create", "actor": actor, "object": obj}


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "http://[::1"),
        ("attributedTo", "http://[::1"),
        ("attributedTo", "https://remote.example:99999/users/rita"),
    ],
)
async def test_signed_malformed_urls_are_refused_with_a_reason(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor, field: str, value: str
) -> None:
    note = {
        "id": "https://remote.example/notes/1",
        "type": "Note",
        "content": "hi",
        "attributedTo": remote_person.iri,
        field: value,
    }
    response = await post_signed(net, INBOX, _create_of(remote_person.iri, note), remote_person.key)
    assert response.status_code in (400, 403), response.text
    assert value in response.json()["error"]
    assert await stored(local_instance) == (0, 0)


@SQLITE_ONLY
@pytest.mark.parametrize(
    "key_id",
    [
        "http://[::1/key",
        "https://[::1#main-key",
        "https://remote.example:99999/users/rita#k",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "users/rita#main-key",
    ],
)
async def test_a_malformed_key_id_is_a_401_not_a_500(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor, key_id: str
) -> None:
    forged = type(remote_person.key)(key_id=key_id, private_key=remote_person.key.private_key)
    response = await post_signed(net, INBOX, follow_of_alice(remote_person.iri), forged)
    assert response.status_code == 401, response.text
    assert "key" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)


@SQLITE_ONLY
async def test_a_key_document_naming_a_malformed_owner_is_a_401(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    key_id = "https://remote.example/keys/rita"
    net.documents[key_id] = {"id": key_id, "owner": "https://[::1/users/rita", "publicKeyPem": "x"}
    key = type(remote_person.key)(key_id=key_id, private_key=remote_person.key.private_key)
    response = await post_signed(net, INBOX, follow_of_alice(remote_person.iri), key)
    assert response.status_code == 401, response.text
    assert await stored(local_instance) == (0, 0)


SURROGATE_BODIES = {
    "in the id": b'{"id": "https://remote.example/users/rita/follows/\\ud800", "type": "Follow",'
    b' "actor": "https://remote.example/users/rita", "object": "https://a.test/users/alice"}',
    "as a @context key": b'{"@context": [{"\\udfff": "x"}], "id": '
    b'"https://remote.example/users/rita/follows/1", "type": "Follow",'
    b' "actor": "https://remote.example/users/rita", "object": "https://a.test/users/alice"}',
    "in content": b'{"id": "https://remote.example/users/rita/create/1", "type": "Create",'
    b' "actor": "https://remote.example/users/rita", "object": {"id":'
    b' "https://remote.example/notes/1", "type": "Note", "content": "a \\ud83d lone half",'
    b' "attributedTo": "https://remote.example/users/rita"}}',
    "as raw UTF-8 bytes": b'{"id": "https://remote.example/users/rita/follows/1", "type": '
    b'"Follow", "actor": "https://remote.example/users/rita", "object":'
    b' "https://a.test/users/alice", "summary": "\xed\xa0\x80"}',
    "as a NUL character": b'{"id": "https://remote.example/users/rita/follows/1", "type": '
    b'"Follow", "actor": "https://remote.example/users/rita", "object":'
    b' "https://a.test/users/alice", "summary": "a\\u0000b"}',
}


@pytest.mark.parametrize("where", sorted(SURROGATE_BODIES))
async def test_unstorable_characters_are_refused_on_both_engines(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor, where: str
) -> None:
    signed = await post_signed(net, INBOX, SURROGATE_BODIES[where], remote_person.key)
    assert signed.status_code == 400, signed.text
    assert "character" in signed.json()["error"]
    await net.settle()
    assert await stored(local_instance) == (0, 0)
    # A proper surrogate pair is an ordinary character (an emoji) and is welcome.
    emoji = b'{"id": "https://remote.example/users/rita/follows/9", "type": "Follow", "actor":'
    emoji += b' "https://remote.example/users/rita", "object": "https://a.test/users/alice",'
    emoji += b' "summary": "\\ud83d\\ude00"}'
    assert (await post_signed(net, INBOX, emoji, remote_person.key)).status_code == 202


async def test_an_id_longer_than_the_store_keeps_is_refused_on_both_engines(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    activity = follow_of_alice(remote_person.iri)
    activity["id"] = f"{remote_person.iri}/follows/" + "x" * 2_100
    response = await post_signed(net, INBOX, activity, remote_person.key)
    assert response.status_code == 400, response.text
    assert "'id'" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)


def test_a_fetched_document_that_cannot_be_used_is_a_fetch_error() -> None:
    for body in (b"[" * 100_000, b'{"a":' * 40 + b"1" + b"}" * 40):
        with pytest.raises(NotJSONError, match="nested"):
            FetchedDocument("https://remote.example/x", 200, {}, body).json()
    with pytest.raises(NotJSONError, match="surrogate"):
        FetchedDocument("https://remote.example/x", 200, {}, b'{"id": "\\ud800"}').json()


async def test_a_nul_in_the_address_is_a_400_on_both_engines(
    net: FakeNet, local_instance: Instance
) -> None:
    async with net.client() as http:
        inbox = await http.post("https://a.test/users/%00/inbox", content=b"{}", headers=JSON_TYPE)
        actor = await http.get(
            "https://a.test/users/al%00ice", headers={"Accept": "application/activity+json"}
        )
        finger = await http.get(
            "https://a.test/.well-known/webfinger", params={"resource": "acct:\x00@a.test"}
        )
    for response in (inbox, actor, finger):
        assert response.status_code == 400, response.text
        assert "NUL" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)


BROKEN_PEM = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"


async def test_an_update_carrying_a_broken_key_leaves_the_cached_actor_usable(
    net: FakeNet, local_instance: Instance
) -> None:
    # The recorded Mobilizon person (with a key we hold), updating itself with a key nobody
    # can load.
    document = load_fixture("activitypub/mobilizon/objects/person.json")
    sanof = make_remote_actor(net, document["id"])
    own_key = sanof.document["publicKey"]
    sanof.document.update({k: v for k, v in document.items() if k != "publicKey"})
    assert (await post_signed(net, INBOX, follow_of_alice(sanof.iri), sanof.key)).status_code == 202
    await net.settle()
    update_activity = {
        "@context": document["@context"],
        "id": f"{sanof.iri}#updates/1",
        "type": "Update",
        "actor": sanof.iri,
        "object": {
            **sanof.document,
            "name": "Renamed",
            "publicKey": {**own_key, "publicKeyPem": BROKEN_PEM},
        },
    }
    assert (await post_signed(net, INBOX, update_activity, sanof.key)).status_code == 202
    await net.settle()
    async with local_instance.ctx.sessions() as session:
        cached = await session.scalar(select(Actor).where(Actor.uri == sanof.iri))
        states = (await session.scalars(select(InboxItem.state).order_by(InboxItem.id))).all()
    assert cached is not None
    assert cached.public_key_pem == own_key["publicKeyPem"] and cached.display_name == "Sanof44"
    assert states == ["processed", "ignored"]
    # Later activities from the same actor are still accepted: no 500 until the cache expires.
    again = await post_signed(net, INBOX, follow_of_alice(sanof.iri, 2), sanof.key)
    assert again.status_code == 202, again.text


async def test_a_broken_key_is_a_401_with_a_reason_and_nothing_is_stored(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    remote_person.document["publicKey"]["publicKeyPem"] = BROKEN_PEM
    response = await post_signed(net, INBOX, follow_of_alice(remote_person.iri), remote_person.key)
    assert response.status_code == 401, response.text
    assert "not a usable public key" in response.json()["error"]
    assert await stored(local_instance) == (0, 0)
    async with local_instance.ctx.sessions() as session:
        assert await session.scalar(select(Actor).where(Actor.uri == remote_person.iri)) is None


@SQLITE_ONLY
async def test_a_broken_pem_beside_a_usable_multikey_still_lets_the_actor_sign(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from fediverse.activitypub.signatures import SigningKey

    # A did:key test vector (w3c-ccg/did-method-key): seed 00..01 and its multibase form.
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex("00" * 31 + "01"))
    multikey = f"{remote_person.iri}#ed25519-key"
    remote_person.document["publicKey"]["publicKeyPem"] = BROKEN_PEM
    remote_person.document["assertionMethod"] = [
        {
            "id": multikey,
            "type": "Multikey",
            "controller": remote_person.iri,
            "publicKeyMultibase": "z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
        }
    ]
    key = SigningKey(key_id=multikey, private_key=private)
    response = await post_signed(net, INBOX, follow_of_alice(remote_person.iri), key)
    assert response.status_code == 202, response.text
    async with local_instance.ctx.sessions() as session:
        cached = await session.scalar(select(Actor).where(Actor.uri == remote_person.iri))
    assert cached is not None and cached.public_key_pem is None


async def test_a_broken_key_already_in_the_cache_is_refetched_not_a_500(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    first = await post_signed(net, INBOX, follow_of_alice(remote_person.iri), remote_person.key)
    assert first.status_code == 202
    # A row cached before keys were checked on the way in.
    async with local_instance.ctx.sessions() as session:
        await session.execute(
            update(Actor).where(Actor.uri == remote_person.iri).values(public_key_pem=BROKEN_PEM)
        )
        await session.commit()
    again = await post_signed(net, INBOX, follow_of_alice(remote_person.iri, 2), remote_person.key)
    assert again.status_code == 202, again.text
    async with local_instance.ctx.sessions() as session:
        cached = await session.scalar(select(Actor).where(Actor.uri == remote_person.iri))
    assert cached is not None
    assert cached.public_key_pem == remote_person.document["publicKey"]["publicKeyPem"]


# --- small ones (item 16) ---------------------------------------------------------------------


@SQLITE_ONLY
async def test_a_refusal_quotes_addresses_exactly(net: FakeNet, local_instance: Instance) -> None:
    mallory = make_remote_actor(net, "https://evil.example/users/Mallory")
    note = {
        "id": "https://evil.example/notes/Forged",
        "type": "Note",
        "content": "forged",
        "attributedTo": "https://remote.example/users/Rita",
    }
    response = await post_signed(net, INBOX, _create_of(mallory.iri, note), mallory.key)
    assert response.status_code == 403
    message = response.json()["error"]
    assert "https://evil.example/users/Mallory" in message
    assert "https://remote.example/users/Rita" in message
    assert message[0].isupper() or message.startswith("https://")


@SQLITE_ONLY
async def test_keyword_spellings_of_id_and_type_are_read(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "@id": f"{remote_person.iri}/follows/1",
        "@type": "Follow",
        "actor": remote_person.iri,
        "object": ALICE,
    }
    response = await post_signed(net, INBOX, activity, remote_person.key)
    assert response.status_code == 202, response.text
    await net.settle()
    assert await stored(local_instance) == (1, 1)


@SQLITE_ONLY
async def test_an_expanded_json_ld_document_is_refused_for_what_it_is(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    expanded = [
        {
            "@id": f"{remote_person.iri}/follows/1",
            "@type": ["https://www.w3.org/ns/activitystreams#Follow"],
            "https://www.w3.org/ns/activitystreams#actor": [{"@id": remote_person.iri}],
            "https://www.w3.org/ns/activitystreams#object": [{"@id": ALICE}],
        }
    ]
    for body in (expanded, expanded[0]):
        response = await post_signed(net, INBOX, json.dumps(body).encode(), remote_person.key)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert "expanded JSON-LD" in error and "no 'type'" not in error
    assert await stored(local_instance) == (0, 0)
