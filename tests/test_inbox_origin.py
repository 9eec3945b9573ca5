"""Who may name what: ids belong to their server, and actors only touch what is theirs.

Issue 9 item 4: an id is a key (the inbox deduplicates by it; posts, likes and follows are
stored under theirs), so another server must not be able to claim one first. Suite item 1: the
ownership rules compare actors, not hosts, at every place they are applied, so a signer on the
same server as its victim gets nowhere either.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from fediverse.services import remote_actors
from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import Actor, Follow, InboxItem, Like, Post, PostEdit
from tests.conftest import SQLITE_ONLY
from tests.fakenet import FakeNet, Instance
from tests.remote import RemoteActor, make_remote_actor, post_signed

INBOX = "https://a.test/inbox"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def follow_from_local(instance: Instance, actor_iri: str, reader: str = "reader") -> None:
    """Make a local person follow a remote actor (accepted), so its posts concern us."""
    author = await remote_actors.get_actor(instance.ctx, actor_iri)
    async with instance.ctx.sessions() as session:
        local = await session.scalar(select(Actor).where(Actor.username == reader))
    if local is None:
        await create_user(instance.ctx, NewUser(username=reader))
    async with instance.ctx.sessions() as session:
        local = await session.scalar(select(Actor).where(Actor.username == reader))
        assert local is not None
        session.add(Follow(follower_id=local.id, followee_id=author.id, state="accepted"))
        await session.commit()


def note(author: str, iri: str, content: str = "hello") -> dict[str, Any]:
    return {
        "id": iri,
        "type": "Note",
        "attributedTo": author,
        "content": f"<p>{content}</p>",
        "to": [PUBLIC],
    }


def create(actor: str, obj: dict[str, Any], number: int = 1) -> dict[str, Any]:
    return {"id": f"{actor}/create/{number}", "type": "Create", "actor": actor, "object": obj}


async def post_at(instance: Instance, iri: str) -> Post | None:
    async with instance.ctx.sessions() as session:
        return await session.scalar(select(Post).where(Post.uri == iri))


async def inbox_states(instance: Instance) -> list[str]:
    async with instance.ctx.sessions() as session:
        return list((await session.scalars(select(InboxItem.state).order_by(InboxItem.id))).all())


async def send(net: FakeNet, actor: RemoteActor, activity: dict[str, Any]) -> int:
    response = await post_signed(net, INBOX, activity, actor.key)
    return response.status_code


@pytest.fixture
def rita(net: FakeNet) -> RemoteActor:
    return make_remote_actor(net, "https://remote.example/users/rita")


@pytest.fixture
def sam(net: FakeNet) -> RemoteActor:
    """Another person on rita's own server."""
    return make_remote_actor(net, "https://remote.example/users/sam")


@pytest.fixture
def mallory(net: FakeNet) -> RemoteActor:
    return make_remote_actor(net, "https://evil.example/users/mallory")


# --- ids belong to their own server (item 4) --------------------------------------------------


async def test_a_predictable_delete_id_cannot_be_claimed_by_another_server(
    net: FakeNet, local_instance: Instance, rita: RemoteActor, mallory: RemoteActor
) -> None:
    await follow_from_local(local_instance, rita.iri)
    note_iri = "https://remote.example/notes/1"
    assert await send(net, rita, create(rita.iri, note(rita.iri, note_iri))) == 202
    await net.settle()
    # Mastodon's Delete ids are `<note>#delete`: easy to guess before they are sent.
    claim = {
        "id": f"{note_iri}#delete",
        "type": "Delete",
        "actor": mallory.iri,
        "object": "https://evil.example/notes/9",
    }
    refused = await post_signed(net, INBOX, claim, mallory.key)
    assert refused.status_code == 403, refused.text
    assert f"{note_iri}#delete" in refused.json()["error"]
    assert "its actor's own server" in refused.json()["error"]
    real = {"id": f"{note_iri}#delete", "type": "Delete", "actor": rita.iri, "object": note_iri}
    accepted = await post_signed(net, INBOX, real, rita.key)
    assert accepted.status_code == 202 and "duplicate" not in accepted.text
    await net.settle()
    deleted = await post_at(local_instance, note_iri)
    assert deleted is not None and deleted.deleted_at is not None
    assert await inbox_states(local_instance) == ["processed", "processed"]


async def test_an_announce_cannot_claim_someone_elses_future_note(
    net: FakeNet, local_instance: Instance, rita: RemoteActor, mallory: RemoteActor
) -> None:
    await follow_from_local(local_instance, rita.iri)
    await follow_from_local(local_instance, mallory.iri)
    future = "https://remote.example/notes/2"
    announce = {
        "id": future,
        "type": "Announce",
        "actor": mallory.iri,
        "object": "https://evil.example/notes/9",
        "to": [PUBLIC],
    }
    refused = await post_signed(net, INBOX, announce, mallory.key)
    assert refused.status_code == 403, refused.text
    assert await post_at(local_instance, future) is None
    assert await send(net, rita, create(rita.iri, note(rita.iri, future, "mine"))) == 202
    await net.settle()
    stored = await post_at(local_instance, future)
    assert stored is not None and stored.content_html == "<p>mine</p>"
    assert stored.type == "Note" and stored.boost_of_id is None


async def test_an_embedded_foreign_object_is_fetched_never_stored_under_its_id(
    net: FakeNet, local_instance: Instance, rita: RemoteActor, mallory: RemoteActor
) -> None:
    """Groups (FEP-1b12) and boosts legitimately embed other servers' objects: what they
    embed is never believed, and never stored under its id by the wrong origin."""
    await follow_from_local(local_instance, mallory.iri)
    await follow_from_local(local_instance, rita.iri)
    unsent = "https://remote.example/notes/3"  # rita has not posted it (yet): 404 there
    boost = {
        "id": f"{mallory.iri}/announces/1",
        "type": "Announce",
        "actor": mallory.iri,
        "object": note(rita.iri, unsent, "forged words"),
        "to": [PUBLIC],
    }
    assert await send(net, mallory, boost) == 202
    await net.settle()
    assert await post_at(local_instance, unsent) is None
    assert await post_at(local_instance, boost["id"]) is None
    assert await inbox_states(local_instance) == ["ignored"]
    # When rita does post it, hers is the copy that is stored.
    assert await send(net, rita, create(rita.iri, note(rita.iri, unsent, "real words"))) == 202
    await net.settle()
    real = await post_at(local_instance, unsent)
    assert real is not None and real.content_html == "<p>real words</p>"

    # An embed of a post that exists is fetched from its own server, whatever it says.
    served = "https://remote.example/notes/4"
    net.documents[served] = note(rita.iri, served, "as published")
    again = {**boost, "id": f"{mallory.iri}/announces/2", "object": note(rita.iri, served, "lie")}
    assert await send(net, mallory, again) == 202
    await net.settle()
    fetched = await post_at(local_instance, served)
    assert fetched is not None and fetched.content_html == "<p>as published</p>"
    async with local_instance.ctx.sessions() as session:
        author = await session.get(Actor, fetched.author_id)
    assert author is not None and author.uri == rita.iri
    boosted = await post_at(local_instance, again["id"])
    assert boosted is not None and boosted.boost_of_id == fetched.id


# --- same-server impersonation: actors are compared, not hosts (suite item 1) ------------------


@SQLITE_ONLY
async def test_a_signer_on_the_same_server_cannot_speak_for_another_actor(
    net: FakeNet, local_instance: Instance, rita: RemoteActor, sam: RemoteActor
) -> None:
    follow = {
        "id": f"{rita.iri}/follows/1",
        "type": "Follow",
        "actor": rita.iri,
        "object": "https://a.test/users/alice",
    }
    claimed = await post_signed(net, INBOX, follow, sam.key)  # sam's own key, rita's name
    assert claimed.status_code == 403, claimed.text
    assert f"The signer {sam.iri} does not own the activity's actor {rita.iri}" in claimed.text
    # sam naming rita's key while signing with his own: the keys differ, so it cannot verify.
    forged = type(sam.key)(key_id=rita.key.key_id, private_key=sam.key.private_key)
    assert (await post_signed(net, INBOX, follow, forged)).status_code == 401
    async with local_instance.ctx.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxItem)) == 0


async def _rita_with_a_post(net: FakeNet, instance: Instance, rita: RemoteActor) -> str:
    await follow_from_local(instance, rita.iri)
    iri = "https://remote.example/notes/10"
    assert await send(net, rita, create(rita.iri, note(rita.iri, iri, "original"))) == 202
    await net.settle()
    return iri


@SQLITE_ONLY
async def test_an_actor_cannot_edit_or_delete_a_same_server_authors_post(
    net: FakeNet, local_instance: Instance, rita: RemoteActor, sam: RemoteActor
) -> None:
    iri = await _rita_with_a_post(net, local_instance, rita)
    for number, attributed_to in enumerate((rita.iri, sam.iri)):
        edit = {
            "id": f"{sam.iri}/updates/{number}",
            "type": "Update",
            "actor": sam.iri,
            "object": {**note(attributed_to, iri, "defaced"), "updated": "2026-01-01T00:00:00Z"},
        }
        assert await send(net, sam, edit) == 202  # same host: only the worker can tell
    delete = {"id": f"{sam.iri}/deletes/1", "type": "Delete", "actor": sam.iri, "object": iri}
    assert await send(net, sam, delete) == 202
    await net.settle()
    post = await post_at(local_instance, iri)
    assert post is not None and post.deleted_at is None
    assert post.content_html == "<p>original</p>" and post.edited_at is None
    async with local_instance.ctx.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PostEdit)) == 0
    assert await inbox_states(local_instance) == ["processed", "ignored", "ignored", "ignored"]


@SQLITE_ONLY
async def test_an_actor_cannot_create_a_post_in_a_same_server_authors_name(
    net: FakeNet, local_instance: Instance, rita: RemoteActor, sam: RemoteActor
) -> None:
    await follow_from_local(local_instance, rita.iri)
    await follow_from_local(local_instance, sam.iri)
    iri = "https://remote.example/notes/11"
    assert (
        await send(net, sam, create(sam.iri, note(rita.iri, iri, "words put in her mouth"))) == 202
    )
    await net.settle()
    assert await post_at(local_instance, iri) is None
    assert await inbox_states(local_instance) == ["ignored"]


@SQLITE_ONLY
async def test_an_actor_cannot_update_or_delete_a_same_server_actor(
    net: FakeNet, local_instance: Instance, rita: RemoteActor, sam: RemoteActor
) -> None:
    await follow_from_local(local_instance, rita.iri)
    update = {
        "id": f"{sam.iri}/updates/1",
        "type": "Update",
        "actor": sam.iri,
        "object": {**rita.document, "name": "Not Rita", "inbox": f"{sam.iri}/inbox"},
    }
    delete = {"id": f"{sam.iri}/deletes/1", "type": "Delete", "actor": sam.iri, "object": rita.iri}
    assert await send(net, sam, update) == 202
    assert await send(net, sam, delete) == 202
    await net.settle()
    async with local_instance.ctx.sessions() as session:
        cached = await session.scalar(select(Actor).where(Actor.uri == rita.iri))
        follows = await session.scalar(select(func.count()).select_from(Follow))
    assert cached is not None and cached.deleted_at is None
    assert cached.display_name == "Rita" and cached.inbox_url == rita.inbox
    assert follows == 1
    assert await inbox_states(local_instance) == ["ignored", "ignored"]


@SQLITE_ONLY
async def test_an_actor_cannot_undo_a_same_server_actors_like_boost_or_follow(
    net: FakeNet, local_instance: Instance, rita: RemoteActor, sam: RemoteActor
) -> None:
    from fediverse.services import posts as local_posts
    from fediverse.services.posts import NewPost

    published = await local_posts.create_post(local_instance.ctx, "alice", NewPost("hi"))
    target = published.post.uri
    like = {"id": f"{rita.iri}/likes/1", "type": "Like", "actor": rita.iri, "object": target}
    boost = {
        "id": f"{rita.iri}/announces/1",
        "type": "Announce",
        "actor": rita.iri,
        "object": target,
        "to": [PUBLIC],
    }
    follow = {
        "id": f"{rita.iri}/follows/1",
        "type": "Follow",
        "actor": rita.iri,
        "object": "https://a.test/users/alice",
    }
    for activity in (like, boost, follow):
        assert await send(net, rita, activity) == 202
    await net.settle()
    # By IRI, and embedded with sam as its actor (an embed naming rita is refused at the edge).
    undone: list[str | dict[str, Any]] = [like["id"], boost["id"], follow["id"]]
    undone += [{**like, "actor": sam.iri}, {**follow, "actor": sam.iri}]
    for number, obj in enumerate(undone):
        undo = {"id": f"{sam.iri}/undos/{number}", "type": "Undo", "actor": sam.iri, "object": obj}
        assert await send(net, sam, undo) == 202
    await net.settle()
    async with local_instance.ctx.sessions() as session:
        likes = await session.scalar(select(func.count()).select_from(Like))
        follows = await session.scalar(select(func.count()).select_from(Follow))
        kept = await session.scalar(select(Post).where(Post.uri == boost["id"]))
        liked = await session.scalar(select(Post).where(Post.uri == target))
    assert likes == 1 and follows == 1
    assert kept is not None and kept.deleted_at is None
    assert liked is not None and liked.likes_count == 1 and liked.boosts_count == 1
    assert await inbox_states(local_instance) == ["processed"] * 3 + ["ignored"] * 5
