"""Scenarios for the recorded-payload test: the state each payload needs, and its effect.

A scenario's setup prepares what the payload acts on (rewriting its target IRIs onto the test
instance where the target must be ours); its check asserts the concrete effect once the
payload has been delivered and processed. `tests/test_inbox_fixtures.py` says which payload
gets which scenario, and why.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from fediverse.activitypub.jsonld import id_of
from fediverse.activitypub.parse import parse_object
from fediverse.services import follows, received_interactions, remote_actors, remote_posts
from fediverse.services import posts as local_posts
from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import Actor, Follow, Like, Notification, Post, PostEdit
from tests.conftest import load_fixture
from tests.fakenet import FakeNet, Instance
from tests.remote import make_remote_actor

ALICE = "https://a.test/users/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@dataclass
class Case:
    """One payload on its way in: the instance, the activity (rewritten in place by a
    scenario's setup) and whatever the setup wants its check to know."""

    net: FakeNet
    local: Instance
    activity: dict[str, Any]
    actor_iri: str
    notes: dict[str, Any] = field(default_factory=dict)

    async def actor(self, iri: str | None = None) -> Actor:
        return await remote_actors.get_actor(self.local.ctx, iri or self.actor_iri)

    async def one(self, model: Any, *where: Any) -> Any:
        async with self.local.ctx.sessions() as session:
            return await session.scalar(select(model).where(*where))

    async def count(self, model: Any, *where: Any) -> int:
        async with self.local.ctx.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


Step = Callable[[Case], Awaitable[None]]


async def _nothing(case: Case) -> None:
    del case


@dataclass(frozen=True)
class Expect:
    """What a payload must lead to. `reason` is part of the recorded error (ignored,
    unsupported) or of the refusal (refused); `why` says why that is right."""

    outcome: str  # processed, ignored, unsupported, refused (403), acknowledged (202, no row)
    why: str
    reason: str = ""
    setup: Step = _nothing
    check: Step = _nothing


def _replace(value: Any, old: str, new: str) -> Any:
    """Return `value` with every string equal to `old` replaced by `new`, at any depth."""
    if isinstance(value, str):
        return new if value == old else value
    if isinstance(value, list):
        return [_replace(item, old, new) for item in value]
    if isinstance(value, dict):
        return {key: _replace(item, old, new) for key, item in value.items()}
    return value


def _rewrite(case: Case, old: str, new: str) -> None:
    """Point every mention of `old` in the activity at `new` (an IRI of our instance)."""
    rewritten = _replace(case.activity, old, new)
    case.activity.clear()
    case.activity.update(rewritten)


async def _alice_post(case: Case) -> Post:
    published = await local_posts.create_post(
        case.local.ctx, "alice", local_posts.NewPost("a post of ours")
    )
    return published.post


# --- scenarios --------------------------------------------------------------------------------


async def _like_setup(case: Case) -> None:
    """The liked post is one of alice's: point the Like at it."""
    post = await _alice_post(case)
    _rewrite(case, id_of(case.activity["object"]) or "", post.uri)
    case.notes["post"] = post.uri


async def _like_check(case: Case) -> None:
    post = await case.one(Post, Post.uri == case.notes["post"])
    actor = await case.actor()
    assert post.likes_count == 1
    like = await case.one(Like, Like.post_id == post.id)
    assert like is not None and like.actor_id == actor.id and like.uri == case.activity["id"]
    kinds = await case.count(Notification, Notification.kind == "favourite")
    assert kinds == 1, "alice is told about the like"


async def _undo_like_setup(case: Case) -> None:
    """alice's post was liked by this actor with the Like being undone."""
    inner = case.activity["object"]
    post = await _alice_post(case)
    _rewrite(case, id_of(inner["object"]) or "", post.uri)
    assert await received_interactions.receive_like(
        case.local.ctx, await case.actor(), post.uri, inner["id"]
    )
    case.notes["post"] = post.uri


async def _undo_like_check(case: Case) -> None:
    post = await case.one(Post, Post.uri == case.notes["post"])
    assert post.likes_count == 0
    assert await case.count(Like) == 0


async def _follow_setup(case: Case) -> None:
    """The followed actor is ours: point the Follow at alice."""
    _rewrite(case, id_of(case.activity["object"]) or "", ALICE)


async def _follow_check(case: Case) -> None:
    actor = await case.actor()
    follow = await case.one(Follow, Follow.follower_id == actor.id)
    assert follow is not None and follow.state == "accepted"
    assert follow.uri == case.activity["id"]
    sent = [json.loads(body) for body in case.net.received.get(actor.inbox_url, [])]
    assert [activity["type"] for activity in sent] == ["Accept"], sent
    assert sent[0]["actor"] == ALICE
    assert sent[0]["object"]["id"] == case.activity["id"]


async def _undo_follow_setup(case: Case) -> None:
    """This actor follows alice with the Follow being undone."""
    inner = case.activity["object"]
    _rewrite(case, id_of(inner["object"]) or "", ALICE)
    state = await follows.receive_follow(
        case.local.ctx, await case.actor(), ALICE, id_of(case.activity["object"]) or ""
    )
    assert state == "accepted"


async def _undo_follow_check(case: Case) -> None:
    assert await case.count(Follow) == 0


async def _accept_setup(case: Case) -> None:
    """alice asked to follow the accepting actor: point the Accept at alice's Follow."""
    result = await follows.follow(case.local.ctx, "alice", case.actor_iri)
    assert result.state == "pending"
    ours = await case.one(Follow, Follow.id == result.follow_id)
    inner = case.activity["object"]
    if isinstance(inner, dict):
        _rewrite(case, id_of(inner["actor"]) or "", ALICE)
    _rewrite(case, id_of(inner) or "", ours.uri)
    case.notes["follow"] = result.follow_id


async def _accept_check(case: Case) -> None:
    ours = await case.one(Follow, Follow.id == case.notes["follow"])
    assert ours is not None and ours.state == "accepted" and ours.accepted_at is not None


async def _store_remote_post(case: Case, iri: str, kind: str = "Note") -> None:
    before: dict[str, Any] = {
        "id": iri,
        "type": kind,
        "attributedTo": case.actor_iri,
        "content": "<p>before</p>",
        "name": "before",
        "to": [PUBLIC],
    }
    stored = await remote_posts.store_post(
        case.local.ctx, parse_object(before), await case.actor(), force=True
    )
    assert stored is not None


async def _delete_setup(case: Case) -> None:
    """The deleted post is the actor's own and we have it."""
    await _store_remote_post(case, id_of(case.activity["object"]) or "")


async def _delete_check(case: Case) -> None:
    post = await case.one(Post, Post.uri == id_of(case.activity["object"]))
    assert post is not None and post.deleted_at is not None and post.content_html == ""


async def _update_setup(case: Case) -> None:
    """The edited post is the actor's own and we have its earlier version."""
    obj = case.activity["object"]
    await _store_remote_post(case, obj["id"], obj["type"])


async def _update_check(case: Case) -> None:
    edited = parse_object(copy.deepcopy(case.activity["object"]))
    post = await case.one(Post, Post.uri == edited.id)
    assert post is not None and post.edited_at is not None
    assert post.name == edited.name
    if edited.content_html:
        assert post.content_html == edited.content_html
    history = await case.one(PostEdit, PostEdit.post_id == post.id)
    assert history is not None and history.content_html == "<p>before</p>"


def _group_announce(served_fixture: str | None = None) -> tuple[Step, Step]:
    """Someone here follows the announcing group or channel; the announced post is served by
    its own server (marked, to prove the stored copy was fetched, not taken from the embed)."""

    async def setup(case: Case) -> None:
        obj = case.activity["object"]
        if served_fixture is not None:
            served = load_fixture(served_fixture)
        else:
            inner = obj["object"] if obj.get("type") in ("Create", "Update") else obj
            served = {"@context": case.activity.get("@context"), **copy.deepcopy(inner)}
        served["name"] = f"{served['name']} (as served)"
        parsed = parse_object(copy.deepcopy(served))
        assert parsed.attributed_to is not None
        make_remote_actor(case.net, parsed.attributed_to)
        case.net.documents[parsed.id] = served
        await follow_from_local(case.local, case.actor_iri)
        case.notes.update(post=parsed.id, name=parsed.name, author=parsed.attributed_to)

    async def check(case: Case) -> None:
        post = await case.one(Post, Post.uri == case.notes["post"])
        assert post is not None and post.name == case.notes["name"]
        author = await case.one(Actor, Actor.id == post.author_id)
        assert author.uri == case.notes["author"]
        boost = await case.one(Post, Post.uri == case.activity["id"])
        assert boost is not None and boost.boost_of_id == post.id
        booster = await case.one(Actor, Actor.id == boost.author_id)
        assert booster.uri == case.actor_iri

    return setup, check


LIKE = {"setup": _like_setup, "check": _like_check}
UNDO_LIKE = {"setup": _undo_like_setup, "check": _undo_like_check}
FOLLOW = {"setup": _follow_setup, "check": _follow_check}
UNDO_FOLLOW = {"setup": _undo_follow_setup, "check": _undo_follow_check}
ACCEPT = {"setup": _accept_setup, "check": _accept_check}
DELETE = {"setup": _delete_setup, "check": _delete_check}
UPDATE = {"setup": _update_setup, "check": _update_check}


def announce_of(served: str | None = None) -> dict[str, Step]:
    """Return the scenario of an Announce by a group someone here follows."""
    setup, check = _group_announce(served)
    return {"setup": setup, "check": check}


async def follow_from_local(local: Instance, actor_iri: str) -> None:
    """Make a local reader follow `actor_iri` (accepted), so what it sends concerns us."""
    author = await remote_actors.get_actor(local.ctx, actor_iri)
    await create_user(local.ctx, NewUser(username="reader"))
    async with local.ctx.sessions() as session:
        reader = await session.scalar(select(Actor).where(Actor.username == "reader"))
        assert reader is not None
        session.add(Follow(follower_id=reader.id, followee_id=author.id, state="accepted"))
        await session.commit()
