"""Every recorded payload from real servers goes through the whole inbox pipeline and has the
outcome it deserves.

Each activity is signed by a stand-in for its real actor (same IRI, a key of its own), POSTed to
the shared inbox and processed by the inbox job. Bare objects are delivered the way their
servers would send them: wrapped in a Create by their author, to someone who follows the author,
and must be stored. Every other activity has a row in `EXPECTED` saying what must happen and
why: the state it needs is set up first (the liked post exists here, the followed person is
ours, the undone follow exists), rewriting the payload's target IRIs onto our test instance
where the target must be ours, and the concrete effect is then checked (a like counted, a
follow accepted with an Accept delivered, an undo applied, a post edited or deleted...). An
"ignored" or "unsupported" outcome is asserted with the reason the pipeline records.

Fixtures of groups (Lemmy, PeerTube, WordPress, ...) will be reworked by the groups feature;
their rows state the outcome today's code gives, which is the one it should give until then.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fediverse.activitypub.parse import ActivityDoc, ActorDoc, ObjectDoc, parse_document
from fediverse.services import remote_actors, timelines
from fediverse.services.actors import NewUser, create_user
from fediverse.services.remote_posts import STORED_TYPES
from fediverse.store.tables import InboxItem, Post
from tests.conftest import FIXTURES, load_fixture
from tests.fakenet import FakeNet
from tests.payload_scenarios import (
    ACCEPT,
    DELETE,
    FOLLOW,
    LIKE,
    UNDO_FOLLOW,
    UNDO_LIKE,
    UPDATE,
    Case,
    Expect,
    announce_of,
    follow_from_local,
)
from tests.remote import make_remote_actor, post_signed

PAYLOADS = sorted(
    path.relative_to(FIXTURES).as_posix()
    for path in (FIXTURES / "activitypub").rglob("*.json")
    if "/collections/" not in path.as_posix()
)

# Understood, but nothing here changes: each says why.
DISLIKE = Expect("ignored", "we count likes only", "dislikes are not counted")
FEATURED = Expect(
    "ignored", "a community's featured posts and moderators are not mirrored", "not mirrored"
)
REPORT = Expect(
    "ignored", "reports wait for the moderation console", "reports go to the moderation console"
)
NOTHING_TO_UNDO = "Undo of something we do not have"
CROSS_ORIGIN = Expect(
    "refused",
    "a moderator on one server acting directly on an object another server owns; Lemmy also "
    "sends these through the community's Announce, the form that can be verified",
    "another server owns",
)

EXPECTED: dict[str, Expect] = {
    "friendica/activities/delete.json": Expect("processed", "the author deletes a post", **DELETE),
    "friendica/activities/dislike_page.json": DISLIKE,
    "friendica/activities/like_page.json": Expect("processed", "a like of our post", **LIKE),
    "friendica/activities/undo_dislike_page.json": Expect(
        "ignored", "a dislike is never counted, so undoing one changes nothing", NOTHING_TO_UNDO
    ),
    "friendica/activities/update_note.json": Expect("processed", "the author edits", **UPDATE),
    "gnusocial/activities/like_note.json": Expect("processed", "a like of our post", **LIKE),
    "lemmy/activities/block/block_user.json": Expect(
        "ignored",
        "a community ban (it has a target) of a user on another server; nobody here is banned",
        "Block of someone who is not ours",
    ),
    "lemmy/activities/block/undo_block_user.json": Expect(
        "ignored", "lifting that ban: no block of ours was ever recorded", "block we do not have"
    ),
    "lemmy/activities/community/add_featured_post.json": FEATURED,
    "lemmy/activities/community/add_mod.json": FEATURED,
    "lemmy/activities/community/announce_create_page.json": Expect(
        "processed",
        "FEP-1b12: a community someone here follows shares a post, fetched from its server",
        **announce_of(),
    ),
    "lemmy/activities/community/lock_note.json": Expect(
        "unsupported", "locking threads is not a feature here", "no handler for Lock"
    ),
    "lemmy/activities/community/lock_page.json": Expect(
        "unsupported", "locking threads is not a feature here", "no handler for Lock"
    ),
    "lemmy/activities/community/remove_featured_post.json": FEATURED,
    "lemmy/activities/community/remove_mod.json": FEATURED,
    "lemmy/activities/community/report_page.json": REPORT,
    "lemmy/activities/community/resolve_report_page.json": Expect(
        "unsupported", "resolving a report needs the moderation console", "no handler for Resolve"
    ),
    "lemmy/activities/community/undo_lock_note.json": Expect(
        "ignored", "a lock is never applied, so undoing one changes nothing", NOTHING_TO_UNDO
    ),
    "lemmy/activities/community/undo_lock_page.json": Expect(
        "ignored", "a lock is never applied, so undoing one changes nothing", NOTHING_TO_UNDO
    ),
    "lemmy/activities/community/update_community.json": CROSS_ORIGIN,
    "lemmy/activities/community/warn.json": Expect(
        "unsupported", "Lemmy's moderator warnings have no counterpart here", "no handler for Warn"
    ),
    "lemmy/activities/create_or_update/update_page.json": Expect(
        "processed", "the author edits", **UPDATE
    ),
    "lemmy/activities/deletion/delete_page.json": Expect(
        "processed", "the author deletes", **DELETE
    ),
    "lemmy/activities/deletion/delete_private_message.json": Expect(
        "processed", "the author deletes a private message", **DELETE
    ),
    "lemmy/activities/deletion/delete_user.json": Expect(
        "acknowledged", "a Delete of an account we never knew needs no work (Mastodon's rule)"
    ),
    "lemmy/activities/deletion/remove_note.json": CROSS_ORIGIN,
    "lemmy/activities/deletion/undo_delete_page.json": Expect(
        "ignored", "deleted posts are gone here; Lemmy's restore is not mirrored", NOTHING_TO_UNDO
    ),
    "lemmy/activities/deletion/undo_delete_private_message.json": Expect(
        "ignored", "deleted posts are gone here; Lemmy's restore is not mirrored", NOTHING_TO_UNDO
    ),
    "lemmy/activities/deletion/undo_remove_note.json": Expect(
        "ignored", "deleted posts are gone here; Lemmy's restore is not mirrored", NOTHING_TO_UNDO
    ),
    "lemmy/activities/following/accept.json": Expect(
        "processed", "a community accepts alice's follow", **ACCEPT
    ),
    "lemmy/activities/following/follow.json": Expect("processed", "a follow of alice", **FOLLOW),
    "lemmy/activities/following/undo_follow.json": Expect(
        "processed", "an unfollow of alice", **UNDO_FOLLOW
    ),
    "lemmy/activities/voting/dislike_page.json": DISLIKE,
    "lemmy/activities/voting/like_note.json": Expect("processed", "a like of our post", **LIKE),
    # Lemmy names it "undo dislike", but what it undoes is typed Like: it is read as one.
    "lemmy/activities/voting/undo_dislike_page.json": Expect(
        "processed", "an unlike of our post", **UNDO_LIKE
    ),
    "lemmy/activities/voting/undo_like_note.json": Expect(
        "processed", "an unlike of our post", **UNDO_LIKE
    ),
    "lotide/activities/delete_note.json": Expect("processed", "the author deletes", **DELETE),
    "lotide/activities/follow.json": Expect("processed", "a follow of alice", **FOLLOW),
    "mastodon/activities/delete.json": Expect("processed", "the author deletes", **DELETE),
    "mastodon/activities/flag.json": REPORT,
    "mastodon/activities/follow.json": Expect("processed", "a follow of alice", **FOLLOW),
    "mastodon/activities/like_page.json": Expect("processed", "a like of our post", **LIKE),
    "mastodon/activities/undo_follow.json": Expect(
        "processed", "an unfollow of alice", **UNDO_FOLLOW
    ),
    "mastodon/activities/undo_like_page.json": Expect(
        "processed", "an unlike of our post", **UNDO_LIKE
    ),
    "mbin/activities/accept.json": Expect(
        "processed", "a magazine accepts alice's follow", **ACCEPT
    ),
    "mbin/activities/flag.json": REPORT,
    "mitra/activities/accept.json": Expect(
        "processed", "a group accepts alice's follow, naming it by IRI", **ACCEPT
    ),
    "peertube/activities/announce_video.json": Expect(
        "processed",
        "a channel someone here follows shares its video, fetched from its server",
        **announce_of("activitypub/peertube/objects/video.json"),
    ),
    "pleroma/activities/delete.json": Expect("processed", "the author deletes", **DELETE),
    "pleroma/activities/follow.json": Expect("processed", "a follow of alice", **FOLLOW),
    "wordpress/activities/announce.json": Expect(
        "processed",
        "a blog someone here follows shares its edited article, fetched from its server",
        **announce_of(),
    ),
}


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


def _carried_post(activity: dict[str, Any]) -> ObjectDoc | None:
    """Return the post a Create delivers, when it is a kind we store."""
    if activity.get("type") != "Create" or not isinstance(activity.get("object"), dict):
        return None
    parsed = parse_document(copy.deepcopy(activity["object"]))
    if isinstance(parsed, ObjectDoc) and parsed.type in STORED_TYPES:
        return parsed
    return None


def _relative(payload: str) -> str:
    return payload.removeprefix("activitypub/")


@pytest.mark.parametrize("relative", PAYLOADS)
async def test_recorded_payload_has_the_outcome_it_deserves(net: FakeNet, relative: str) -> None:
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
        assert parsed.id.startswith(("https://", "http://"))
        return

    await create_user(local.ctx, NewUser(username="alice"))
    activity, actor_iri = _as_delivery(document)
    key = make_remote_actor(net, actor_iri).key
    case = Case(net, local, activity, actor_iri)
    carries_post = _carried_post(activity)
    expect = EXPECTED.get(_relative(relative))
    if carries_post is not None:
        assert expect is None, "posts are checked below, not through the table"
        # Someone here follows the author, so the post concerns us and must be stored.
        await follow_from_local(local, actor_iri)
    else:
        assert expect is not None, f"{relative} needs a row in EXPECTED"
        await expect.setup(case)
        await net.settle()
        net.received.clear()
    async with local.ctx.sessions() as session:
        before = int(await session.scalar(select(func.count()).select_from(InboxItem)) or 0)
    response = await post_signed(net, "https://a.test/inbox", case.activity, key)
    await net.settle()
    async with local.ctx.sessions() as session:
        items = (await session.scalars(select(InboxItem).order_by(InboxItem.id))).all()[before:]

    if carries_post is not None:
        assert response.status_code == 202, response.text
        [item] = items
        assert item.state == "processed", item.last_error
        post = await case.one(Post, Post.uri == carries_post.id)
        assert post is not None, "the post was not stored"
        assert post.content_html or post.name, "the stored post shows nothing"
        assert "<script" not in post.content_html.lower()
        [entry] = await timelines.entries_for(local.ctx, [post], None)
        assert entry.author.uri == actor_iri
        return

    assert expect is not None
    if expect.outcome == "refused":
        assert response.status_code == 403, response.text
        assert expect.reason in response.json()["error"]
        assert items == []
        return
    assert response.status_code == 202, response.text
    if expect.outcome == "acknowledged":
        assert items == []
        return
    [item] = items
    assert item.activity_uri == case.activity["id"]
    assert item.state == expect.outcome, f"{item.state}: {item.last_error} ({expect.why})"
    if expect.outcome != "processed":
        assert item.last_error is not None and expect.reason in item.last_error, item.last_error
    await expect.check(case)


def test_every_recorded_software_is_covered() -> None:
    families = {Path(p).parts[1] for p in PAYLOADS}
    assert len(families) >= 14, families


def test_the_table_names_only_recorded_payloads_and_every_activity_that_is_not_a_post() -> None:
    activities = set()
    for relative in PAYLOADS:
        document = load_fixture(relative)
        parsed = parse_document(copy.deepcopy(document))
        if isinstance(parsed, ActivityDoc) and _carried_post(document) is None:
            activities.add(_relative(relative))
    assert set(EXPECTED) == activities
    assert len(activities) == 51
    assert sum(1 for e in EXPECTED.values() if e.outcome == "processed") >= 25
