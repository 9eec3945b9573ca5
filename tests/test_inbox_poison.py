"""Poison activities: one bad item never jams the inbox worker nor costs its siblings anything.

Each payload below jammed the worker on an earlier main: one exception in a handler lost the
outcome of the whole batch, the rows stayed leased and were re-run every lease period. Now an
item's outcome is its own: a refusal is recorded as such, an unexpected error is retried with
backoff and ends `failed` after a bounded number of attempts, and re-running an item that
already took effect (a worker that lost its outcome write) repeats no side effect.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, update

from fediverse.inbox.handlers import build_registry
from fediverse.inbox.job import MAX_ATTEMPTS_AFTER_ERROR, InboxJob
from fediverse.inbox.registry import Delivered
from fediverse.inbox.states import InboxStates
from fediverse.jobs.runner import JobRunner
from fediverse.services import follows
from fediverse.store.tables import Delivery, Follow, InboxItem, OutboxActivity, Post, PostEdit
from fediverse.store.types import utcnow
from tests.fakenet import FakeNet, Instance
from tests.remote import RemoteActor, make_remote_actor, post_signed

INBOX = "https://a.test/inbox"
ALICE = "https://a.test/users/alice"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
def bob(net: FakeNet) -> RemoteActor:
    """A second remote person, whose activities are the poison's innocent siblings."""
    return make_remote_actor(net, "https://other.example/users/bob")


def follow_of_alice(actor: str, number: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}/follows/{number}",
        "type": "Follow",
        "actor": actor,
        "object": ALICE,
        **fields,
    }


async def items(instance: Instance) -> list[InboxItem]:
    async with instance.ctx.sessions() as session:
        return list((await session.scalars(select(InboxItem).order_by(InboxItem.id))).all())


async def count(instance: Instance, model: Any, *where: Any) -> int:
    async with instance.ctx.sessions() as session:
        query = select(func.count()).select_from(model)
        for condition in where:
            query = query.where(condition)
        return int(await session.scalar(query) or 0)


async def make_retries_due(instance: Instance) -> None:
    """Let backed-off items come due now: the tests' stand-in for waiting out the backoff."""
    async with instance.ctx.sessions() as session:
        await session.execute(
            update(InboxItem)
            .where(InboxItem.state.in_(InboxStates.active()))
            .values(next_attempt_at=utcnow())
        )
        await session.commit()


async def answers_to(instance: Instance, follow_id: str) -> list[str]:
    """Return the types of the activities we published answering the Follow `follow_id`."""
    async with instance.ctx.sessions() as session:
        rows = await session.scalars(
            select(OutboxActivity.type).where(OutboxActivity.object_uri == follow_id)
        )
        return list(rows.all())


async def test_a_follow_whose_id_is_an_object_is_applied_once_by_its_iri(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor, bob: RemoteActor
) -> None:
    follow_id = f"{remote_person.iri}/follows/embedded-id"
    poison = follow_of_alice(remote_person.iri, id={"id": follow_id, "type": "Follow"})
    assert (await post_signed(net, INBOX, poison, remote_person.key)).status_code == 202
    assert (await post_signed(net, INBOX, follow_of_alice(bob.iri), bob.key)).status_code == 202
    await local_instance.runner.run_until_idle("inbox")
    assert [item.state for item in await items(local_instance)] == ["processed", "processed"]
    assert await count(local_instance, Follow, Follow.uri == follow_id) == 1
    assert await answers_to(local_instance, follow_id) == ["Accept"]
    await net.settle()
    accept = json.loads(net.received[remote_person.inbox][0])
    assert accept["object"]["id"] == follow_id  # our Accept names the Follow by its IRI


async def test_a_follow_reusing_one_of_our_own_follow_ids_is_refused_and_jams_nothing(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor, bob: RemoteActor
) -> None:
    ours = await follows.follow(local_instance.ctx, "alice", remote_person.iri)
    async with local_instance.ctx.sessions() as session:
        our_follow = await session.get(Follow, ours.follow_id)
        assert our_follow is not None and our_follow.uri is not None
        our_uri = our_follow.uri
    poison = follow_of_alice(remote_person.iri, id=our_uri)
    refused_at_the_door = (await post_signed(net, INBOX, poison, remote_person.key)).status_code
    assert (await post_signed(net, INBOX, follow_of_alice(bob.iri), bob.key)).status_code == 202
    await local_instance.runner.run_until_idle("inbox")
    states = {item.actor_uri: (item.state, item.last_error) for item in await items(local_instance)}
    assert states[bob.iri] == ("processed", None)
    if refused_at_the_door == 202:  # or refused at intake, which is just as good
        state, error = states[remote_person.iri]
        assert state == "ignored" and "on this server" in (error or "")
    else:
        assert 400 <= refused_at_the_door < 500
    # Our own follow of rita is untouched: still ours, still pending her answer.
    async with local_instance.ctx.sessions() as session:
        again = await session.get(Follow, ours.follow_id)
    assert again is not None and again.uri == our_uri and again.state == "pending"
    assert await answers_to(local_instance, our_uri) == []


@pytest.mark.parametrize(
    "make_poison",
    [
        pytest.param(
            lambda actor: follow_of_alice(actor, id=f"{actor}/follows/\ud800"), id="surrogate-id"
        ),
        pytest.param(
            lambda actor: {
                "id": f"{actor}#block",
                "type": "Block",
                "actor": actor,
                "object": "https://a.test/users/\ud800",
            },
            id="block-of-a-surrogate",
        ),
        pytest.param(
            lambda actor: {
                "id": f"{actor}/notes/1/activity",
                "type": "Create",
                "actor": actor,
                "to": [ALICE],
                "object": {
                    "id": f"{actor}/notes/1",
                    "type": "Note",
                    "attributedTo": actor,
                    "to": [ALICE],
                    "content": "broken \ud800 text",
                },
            },
            id="surrogate-content",
        ),
        pytest.param(
            lambda actor: follow_of_alice(actor, **{"summary\ud800": "a key that is not text"}),
            id="surrogate-key",
        ),
        pytest.param(
            lambda actor: follow_of_alice(actor, summary="nul \u0000 byte"), id="nul-character"
        ),
    ],
)
async def test_text_that_is_not_storable_unicode_is_refused_at_intake(
    net: FakeNet,
    local_instance: Instance,
    remote_person: RemoteActor,
    bob: RemoteActor,
    make_poison: Any,
) -> None:
    """A lone surrogate is not Unicode text and PostgreSQL cannot store U+0000: refused (400,
    naming the problem) before anything is stored, on both engines; siblings are unaffected."""
    response = await post_signed(net, INBOX, make_poison(remote_person.iri), remote_person.key)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "surrogate" in error or "U+0000" in error, error
    assert (await post_signed(net, INBOX, follow_of_alice(bob.iri), bob.key)).status_code == 202
    await local_instance.runner.run_until_idle("inbox")
    assert [(item.actor_uri, item.state) for item in await items(local_instance)] == [
        (bob.iri, "processed")
    ]


async def test_a_fetched_object_with_a_surrogate_is_ignored_not_retried(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    """Documents we fetch while applying an item are remote input too."""
    note = f"{remote_person.iri}/notes/fetched"
    net.documents[note] = {
        "id": note,
        "type": "Note",
        "attributedTo": remote_person.iri,
        "to": [PUBLIC],
        "content": "fetched \ud800 text",
    }
    create = {"id": f"{note}/create", "type": "Create", "actor": remote_person.iri, "object": note}
    assert (await post_signed(net, INBOX, create, remote_person.key)).status_code == 202
    await local_instance.runner.run_until_idle("inbox")
    [item] = await items(local_instance)
    assert item.state == "ignored" and "surrogate" in (item.last_error or "")
    assert await count(local_instance, Post, Post.uri == note) == 0


async def test_an_item_whose_handler_raises_fails_alone_after_bounded_attempts(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor, bob: RemoteActor
) -> None:
    """Whatever the bug, the item is retried with backoff, then `failed`; siblings complete."""
    registry = build_registry()

    async def broken(delivered: Delivered) -> None:
        raise RuntimeError(f"handler bug on {delivered.activity.id} \ud800")

    registry.add("Juggle", ("*",), broken)
    runner = JobRunner(local_instance.ctx.sessions, dialect=local_instance.ctx.engine.dialect.name)
    runner.register(InboxJob(local_instance.ctx, registry))
    juggle = {"id": f"{remote_person.iri}#juggle", "type": "Juggle", "actor": remote_person.iri}
    juggle["object"] = ALICE
    assert (await post_signed(net, INBOX, juggle, remote_person.key)).status_code == 202
    assert (await post_signed(net, INBOX, follow_of_alice(bob.iri), bob.key)).status_code == 202

    assert await runner.run_until_idle() == 2
    poisoned, sibling = await items(local_instance)
    assert sibling.state == "processed" and sibling.lease_owner is None
    assert poisoned.state == "retrying" and poisoned.attempts == 1
    assert "RuntimeError: handler bug" in (poisoned.last_error or "")
    assert poisoned.next_attempt_at > utcnow() and poisoned.lease_owner is None
    assert await runner.run_once() == 0  # backed off: not hot-looping

    for _ in range(MAX_ATTEMPTS_AFTER_ERROR - 1):
        await make_retries_due(local_instance)
        assert await runner.run_once() == 1
    poisoned, sibling = await items(local_instance)
    assert poisoned.state == "failed" and poisoned.attempts == MAX_ATTEMPTS_AFTER_ERROR
    assert "handler bug" in (poisoned.last_error or "") and poisoned.lease_owner is None
    await make_retries_due(local_instance)
    assert await runner.run_once() == 0  # terminal: never claimed again
    assert await answers_to(local_instance, f"{bob.iri}/follows/1") == ["Accept"]


async def test_re_running_items_that_took_effect_repeats_no_side_effect(
    net: FakeNet, local_instance: Instance, remote_person: RemoteActor
) -> None:
    """A worker may commit an item's effects and die before writing its outcome; the item is
    then applied again. Accepts are not re-sent and edits are not re-recorded."""
    await post_signed(net, INBOX, follow_of_alice(remote_person.iri), remote_person.key)
    await local_instance.runner.run_until_idle("inbox")
    ours = await follows.follow(local_instance.ctx, "alice", remote_person.iri)
    async with local_instance.ctx.sessions() as session:
        our_follow = await session.get(Follow, ours.follow_id)
    assert our_follow is not None
    note = {
        "id": f"{remote_person.iri}/notes/1",
        "type": "Note",
        "attributedTo": remote_person.iri,
        "to": [PUBLIC],
        "content": "<p>first</p>",
        "published": "2024-05-01T10:00:00Z",
    }
    accepted = {
        "id": f"{remote_person.iri}#accept",
        "type": "Accept",
        "actor": remote_person.iri,
        "object": our_follow.uri,  # her Accept makes her posts matter to alice
    }
    create = {"id": f"{note['id']}/create", "type": "Create", "actor": remote_person.iri}
    create["object"] = note
    edited = {**note, "content": "<p>second</p>", "updated": "2024-05-01T11:00:00Z"}
    edit = {"id": f"{note['id']}#edit", "type": "Update", "actor": remote_person.iri}
    edit["object"] = edited
    for activity in (accepted, create, edit):
        assert (await post_signed(net, INBOX, activity, remote_person.key)).status_code == 202
        await local_instance.runner.run_until_idle("inbox")
    assert {item.state for item in await items(local_instance)} == {"processed"}

    async def effects() -> tuple[int, int, int, list[str]]:
        accepts = await answers_to(local_instance, f"{remote_person.iri}/follows/1")
        return (
            await count(local_instance, Delivery),
            await count(local_instance, Post),
            await count(local_instance, PostEdit),
            accepts,
        )

    before = await effects()
    assert before[2] == 1 and before[3] == ["Accept"]
    async with local_instance.ctx.sessions() as session:  # every outcome "lost"
        await session.execute(update(InboxItem).values(state="received", next_attempt_at=utcnow()))
        await session.commit()
    await local_instance.runner.run_until_idle("inbox")
    assert {item.state for item in await items(local_instance)} == {"processed"}
    assert await effects() == before
    async with local_instance.ctx.sessions() as session:
        post = await session.scalar(select(Post).where(Post.uri == note["id"]))
    assert post is not None and post.content_html == "<p>second</p>"
