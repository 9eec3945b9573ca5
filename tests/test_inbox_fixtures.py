"""Every recorded payload from real servers goes through the whole inbox pipeline.

Each activity is signed by a stand-in for its real actor (same IRI, a key we hold), POSTed to the
shared inbox and processed by the inbox job. The pipeline must accept it (202) and end in an
explicit outcome (processed, ignored or unsupported) — never a 500, never a stuck or failed row.
Bare objects are delivered the way their servers would send them: wrapped in a Create by their
author. Actor documents must be fetchable and cached.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fediverse.activitypub.jsonld import id_of
from fediverse.activitypub.parse import ActivityDoc, ActorDoc, ObjectDoc, parse_document
from fediverse.services import remote_actors, timelines
from fediverse.services.actors import NewUser, create_user
from fediverse.services.remote_posts import STORED_TYPES
from fediverse.store.tables import Actor, Follow, InboxItem, Post
from tests.conftest import FIXTURES, load_fixture
from tests.fakenet import FakeNet, Instance
from tests.remote import make_remote_actor, post_signed

PAYLOADS = sorted(
    path.relative_to(FIXTURES).as_posix()
    for path in (FIXTURES / "activitypub").rglob("*.json")
    if "/collections/" not in path.as_posix()
)
EXPLICIT_OUTCOMES = {"processed", "ignored", "unsupported"}

# Refused at the edge with 403 on purpose: a moderator on one server acting directly on an object
# another server owns. The origin rule forbids it; Lemmy also sends these through the community's
# Announce, which is the form we can verify.
REFUSED_CROSS_ORIGIN = {
    "activitypub/lemmy/activities/community/update_community.json",
    "activitypub/lemmy/activities/deletion/remove_note.json",
}
# A Delete of an account we never knew: acknowledged (202) without fetching or storing anything.
ACKNOWLEDGED_ONLY = {"activitypub/lemmy/activities/deletion/delete_user.json"}


def _as_delivery(document: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Return the activity a server would deliver for this payload, and its actor."""
    parsed = parse_document(document)
    if isinstance(parsed, ActivityDoc):
        return document, parsed.actor
    author = getattr(parsed, "attributed_to", None)
    assert author, "a bare object without an author cannot be delivered"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{parsed.id}#create",
        "type": "Create",
        "actor": author,
        "object": document,
    }
    return activity, author


@pytest.mark.parametrize("relative", PAYLOADS)
async def test_recorded_payload_is_accepted_or_explicitly_ignored(
    net: FakeNet, relative: str
) -> None:
    local = await net.add_instance("a.test")
    document = load_fixture(relative)
    parsed = parse_document(copy.deepcopy(document))
    if isinstance(parsed, ActorDoc):
        # Actors are fetched, not delivered: serve the recorded document and cache it.
        net.documents[parsed.id] = document
        actor = await remote_actors.get_actor(local.ctx, parsed.id)
        assert actor.inbox_url == parsed.inbox and not actor.local
        return

    if parsed.type == "Tombstone":
        # What a server answers for a deleted object when fetched; never delivered on its own.
        assert parsed.id.startswith("https://") or parsed.id.startswith("http://")
        return

    activity, actor_iri = _as_delivery(document)
    key = make_remote_actor(net, actor_iri).key
    carries_post = _carried_post(activity)
    if carries_post is not None:
        # Someone here follows the author, so the post concerns us and must be stored.
        await _follow_from_local(local, actor_iri)
    response = await post_signed(net, "https://a.test/inbox", activity, key)
    await net.settle()
    async with local.ctx.sessions() as session:
        items = (await session.scalars(select(InboxItem))).all()
    if relative in REFUSED_CROSS_ORIGIN:
        assert response.status_code == 403, response.text
        assert "another server owns" in response.json()["error"]
        assert items == []
        return
    assert response.status_code == 202, response.text
    if relative in ACKNOWLEDGED_ONLY:
        assert items == []
        return
    assert len(items) == 1
    item = items[0]
    assert item.activity_uri == activity["id"]
    assert item.state in EXPLICIT_OUTCOMES, f"{item.state}: {item.last_error}"
    assert id_of(activity.get("actor")) is not None
    if carries_post is not None:
        assert item.state == "processed", item.last_error
        async with local.ctx.sessions() as session:
            post = await session.scalar(select(Post).where(Post.uri == carries_post.id))
        assert post is not None, "the post was not stored"
        assert post.content_html or post.name, "the stored post shows nothing"
        assert "<script" not in post.content_html.lower()
        [entry] = await timelines.entries_for(local.ctx, [post], None)
        assert entry.author.uri == actor_iri


def _carried_post(activity: dict[str, Any]) -> ObjectDoc | None:
    """Return the post a Create delivers, when it is a kind we store."""
    if activity.get("type") != "Create" or not isinstance(activity.get("object"), dict):
        return None
    parsed = parse_document(copy.deepcopy(activity["object"]))
    if isinstance(parsed, ObjectDoc) and parsed.type in STORED_TYPES:
        return parsed
    return None


async def _follow_from_local(local: Instance, actor_iri: str) -> None:
    author = await remote_actors.get_actor(local.ctx, actor_iri)
    await create_user(local.ctx, NewUser(username="reader"))
    async with local.ctx.sessions() as session:
        reader = await session.scalar(select(Actor).where(Actor.username == "reader"))
        assert reader is not None
        session.add(Follow(follower_id=reader.id, followee_id=author.id, state="accepted"))
        await session.commit()


def test_every_recorded_software_is_covered() -> None:
    families = {Path(p).parts[1] for p in PAYLOADS}
    assert len(families) >= 14, families
