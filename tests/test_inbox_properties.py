"""Property: no remote document, however odd, gets a 500, jams the inbox or repeats an effect.

Hypothesis generates ActivityStreams-like documents (real activity types with ids, actors and
objects of every shape: IRIs on the sender's server, on ours and on others, embedded objects and
activities, lists, numbers, text with lone surrogates, U+0000 and markup) and signs them as two
remote people. Each goes through a real inbox POST and the real worker. For every document:

- the inbox answers without a server error (a refusal is a 4xx naming the problem);
- the worker leaves no item leased and none active once retries are waited out (bounded);
- applying an item a second time (a worker that committed its effects and lost its outcome
  write) changes nothing: no second Accept, edit, like, notification or delivery.

The seed is fixed and the number of examples bounded, so the run is the same every time and
takes a few seconds.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from fediverse.inbox.handlers import build_registry
from fediverse.inbox.job import MAX_ATTEMPTS, InboxJob
from fediverse.inbox.states import InboxStates
from fediverse.jobs.runner import JobRunner, ReportOutcome
from fediverse.services import follows, posts
from fediverse.services.actors import NewUser, create_user
from fediverse.services.context import Context
from fediverse.store.tables import (
    ActorBlock,
    Delivery,
    Follow,
    InboxItem,
    Like,
    Mention,
    Notification,
    OutboxActivity,
    Post,
    PostEdit,
    PostTag,
)
from fediverse.store.types import utcnow
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance, fakenet
from tests.remote import RemoteActor, make_remote_actor, post_signed

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
RITA = "https://remote.example/users/rita"
ALICE_IRI = "https://a.test/users/alice"
OLGA = "https://other.example/users/olga"
INBOXES = (
    "https://a.test/inbox",
    "https://a.test/users/alice/inbox",
    "https://a.test/users/x/inbox",
)
# Placeholders for what only exists once the instance is set up.
SELF, FRESH, ALICE, ALICE_POST, OUR_FOLLOW, RITA_FOLLOW = (
    "{self}",
    "{fresh}",
    "{alice}",
    "{alice_post}",
    "{our_follow}",
    "{rita_follow}",
)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draw from one of the strategies, each in proportion to its weight (`one_of` would
    fold identical ones together and favour the first)."""
    picks = [index for index, (weight, _) in enumerate(choices) for _ in range(weight)]
    return st.sampled_from(picks).flatmap(lambda index: choices[index][1])


# Text of every kind, and the kinds that broke things before.
ODD = ["\ud800", "\udfff", "\x00", "\u202e", "\ufeff", "<script>alert(1)</script>", "{", "é"]
plain_texts = st.text(max_size=20)
texts = weighted(
    (3, plain_texts),
    (1, st.builds(lambda a, b, c: a + b + c, plain_texts, st.sampled_from(ODD), plain_texts)),
)
odd_values = st.one_of(st.none(), st.integers(-3, 3), texts, st.just({}), st.just([]))


def mostly(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Draw from `value` most of the time, else an odd value: most documents get past the
    parser and reach the handlers, some do not."""
    return weighted((7, value), (1, odd_values))


# Few path letters, so ids collide across documents and examples (redeliveries, reuse).
paths = st.text(alphabet="ab1/#", max_size=4)
hosts = st.sampled_from(["remote.example", "other.example", "a.test", "elsewhere.example"])
any_iri = st.builds(lambda host, path: f"https://{host}/{path}", hosts, paths)
own_iri = st.builds(lambda path: f"{SELF}/{path}", paths)
odd_iri = st.builds(lambda odd: f"{SELF}/{odd}", st.sampled_from(["\ud800", "\udfff", "\x00"]))
known = st.sampled_from([ALICE, ALICE_POST, OUR_FOLLOW, RITA_FOLLOW, SELF, f"{SELF}/followers"])
iris = weighted((4, own_iri), (4, known), (2, any_iri), (1, odd_iri))
addresses = weighted(
    (4, st.lists(st.sampled_from([PUBLIC, "as:Public", ALICE, f"{SELF}/followers", RITA]))),
    (1, st.sampled_from([PUBLIC, ALICE])),
    (1, odd_values),
)
ACTIVITY_TYPES = "Follow Undo Like Announce Create Update Delete Block Accept Reject Add Remove"
activity_types = st.sampled_from([*ACTIVITY_TYPES.split(), "Flag", "Move", "EmojiReact", "Juggle"])
object_types = st.sampled_from(
    ["Note", "Article", "Page", "Question", "Event", "Tombstone", "Person", "Image", "Follow"]
)
dates = st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", "yesterday", 7, None])
embedded_posts = st.fixed_dictionaries(
    {
        "id": mostly(weighted((3, st.just(f"{SELF}/objects/{FRESH}")), (2, own_iri), (1, any_iri))),
        "type": mostly(object_types),
        "attributedTo": mostly(weighted((3, st.just(SELF)), (1, iris))),
    },
    optional={
        "content": texts,
        "to": addresses,
        "cc": addresses,
        "inReplyTo": weighted((1, st.just(ALICE_POST)), (1, iris)),
        "published": dates,
        "updated": dates,
        "summary": texts,
        "name": texts,
        "tag": st.lists(st.fixed_dictionaries({"type": st.just("Mention"), "href": iris})),
    },
)
embedded_activities = st.fixed_dictionaries(
    {
        "id": mostly(iris),
        "type": mostly(activity_types),
        "actor": mostly(weighted((3, st.just(SELF)), (1, st.just(ALICE)), (1, iris))),
        "object": mostly(iris),
    }
)
objects = mostly(
    weighted(
        (4, known),  # what an activity here is most often about: alice, her post, a follow
        (2, iris),
        (3, embedded_posts),
        (2, embedded_activities),
        (1, st.lists(iris, min_size=1, max_size=2)),
    )
)
documents = st.fixed_dictionaries(
    {
        "id": mostly(
            weighted(
                (6, st.just(f"{SELF}/activities/{FRESH}")),
                (2, own_iri),  # may repeat an earlier id: a redelivery, or a reuse
                (1, any_iri),
                (1, odd_iri),
                (1, st.builds(lambda i: {"id": i}, iris)),
            )
        ),
        "type": mostly(
            weighted((6, activity_types), (1, st.lists(activity_types, min_size=1, max_size=2)))
        ),
        "actor": weighted((8, st.just(SELF)), (1, st.sampled_from([{"id": SELF}, [SELF], OLGA]))),
        "object": objects,
    },
    optional={
        "@context": weighted(
            (6, st.just("https://www.w3.org/ns/activitystreams")),
            (1, st.sampled_from([["https://www.w3.org/ns/activitystreams"], {"\ud800": "x"}, 3])),
        ),
        "to": addresses,
        "cc": addresses,
        "content": texts,
        "published": dates,
        "target": iris,
    },
)
batches = st.lists(
    st.tuples(
        st.sampled_from([0, 1]),
        weighted((6, st.sampled_from(INBOXES[:2])), (1, st.just(INBOXES[2]))),
        documents,
    ),
    min_size=1,
    max_size=4,
)


def fill_in(value: Any, names: dict[str, str]) -> Any:
    """Replace the placeholders in every string of a generated document."""
    if isinstance(value, str):
        for placeholder, real in names.items():
            value = value.replace(placeholder, real)
        return value
    if isinstance(value, list):
        return [fill_in(item, names) for item in value]
    if isinstance(value, dict):
        return {fill_in(key, names): fill_in(item, names) for key, item in value.items()}
    return value


EFFECT_TABLES = (
    Delivery,
    OutboxActivity,
    Post,
    PostEdit,
    Like,
    Follow,
    ActorBlock,
    Notification,
    Mention,
    PostTag,
)


async def effects(ctx: Context) -> tuple[int, ...]:
    """Count everything applying an activity can leave behind."""
    async with ctx.sessions() as session:
        counts = [
            int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in EFFECT_TABLES
        ]
        counters = await session.execute(
            select(
                func.coalesce(func.sum(Post.likes_count), 0),
                func.coalesce(func.sum(Post.boosts_count), 0),
                func.coalesce(func.sum(Post.replies_count), 0),
            )
        )
        accepted = await session.scalar(
            select(func.count()).select_from(Follow).where(Follow.state == "accepted")
        )
    return (*counts, *counters.one(), int(accepted or 0))


class TwiceApplyingInboxJob(InboxJob):
    """The real inbox job, applying every item a second time at once, as a worker does that
    committed an item's effects and lost its outcome write; it records any effect that
    the second application added."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx, build_registry())
        self.repeated: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []

    async def handle_each(self, rows: Sequence[InboxItem], report: ReportOutcome) -> None:
        ctx = dataclasses.replace(self.ctx, http=self.http)
        for item in rows:  # one at a time, so each item's effects can be told apart
            outcome = await self.apply_item(ctx, item)
            before = await effects(ctx)
            await self.apply_item(ctx, item)
            after = await effects(ctx)
            if after != before:
                self.repeated.append((item.activity_uri, before, after))
            report(item.id, outcome)


@dataclasses.dataclass(repr=False)  # a failing example prints the world; keep that short
class World:
    net: FakeNet
    instance: Instance
    senders: list[RemoteActor]
    names: dict[str, str]
    inbox_job: TwiceApplyingInboxJob
    runner: JobRunner
    documents: int = 0

    def __repr__(self) -> str:
        return f"World(a.test, {self.documents} documents so far)"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """One instance shared by every example: alice with a post, rita who follows her and whom
    she follows, and olga, a stranger. SQLite only: this is about handling, not storage."""
    database = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
    async with fakenet(tmp_path, database) as net:
        instance = await net.add_instance("a.test")
        await create_user(instance.ctx, NewUser(username="alice"))
        post = await posts.create_post(instance.ctx, "alice", posts.NewPost("hello #world"))
        rita = make_remote_actor(net, RITA)
        olga = make_remote_actor(net, OLGA)
        rita_follow = f"{RITA}/follows/1"
        follow = {"id": rita_follow, "type": "Follow", "actor": RITA, "object": ALICE_IRI}
        assert (await post_signed(net, INBOXES[0], follow, rita.key)).status_code == 202
        ours = await follows.follow(instance.ctx, "alice", RITA)
        async with instance.ctx.sessions() as session:
            our_follow = await session.scalar(select(Follow.uri).where(Follow.id == ours.follow_id))
        accept = {"id": f"{RITA}#accept", "type": "Accept", "actor": RITA, "object": our_follow}
        assert (await post_signed(net, INBOXES[0], accept, rita.key)).status_code == 202
        await net.settle()
        inbox_job = TwiceApplyingInboxJob(instance.ctx)
        runner = JobRunner(instance.ctx.sessions, dialect="sqlite")
        runner.register(inbox_job)
        names = {
            ALICE: ALICE_IRI,
            ALICE_POST: post.post.uri,
            OUR_FOLLOW: str(our_follow),
            RITA_FOLLOW: rita_follow,
        }
        yield World(net, instance, [rita, olga], names, inbox_job, runner)


async def drain(world: World) -> None:
    """Run the worker until nothing is active, waiting out each backoff at once; an item still
    active after MAX_ATTEMPTS rounds would be one retried forever."""
    for _ in range(MAX_ATTEMPTS + 1):
        await world.runner.run_until_idle()
        await world.instance.runner.run_until_idle("deliveries")
        async with world.instance.ctx.sessions() as session:
            active = await session.scalar(
                select(func.count())
                .select_from(InboxItem)
                .where(InboxItem.state.in_(InboxStates.active()))
            )
            if not active:
                return
            await session.execute(
                update(InboxItem)
                .where(InboxItem.state.in_(InboxStates.active()))
                .values(next_attempt_at=utcnow())
            )
            await session.commit()
    raise AssertionError("inbox items are still active after the bounded number of attempts")


@seed(20240609)
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    # One instance serves every example on purpose: setting one up costs more than an example.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=batches)
async def test_generated_activities_never_500_jam_or_repeat_effects(
    world: World, batch: list[tuple[int, str, dict[str, Any]]]
) -> None:
    world.inbox_job.repeated.clear()  # examples share the instance, not their findings
    for sender_index, inbox, generated in batch:
        sender = world.senders[sender_index]
        world.documents += 1
        fresh = str(world.documents)  # an id no earlier document had
        document = fill_in(generated, {**world.names, SELF: sender.iri, FRESH: fresh})
        response = await post_signed(world.net, inbox, document, sender.key)
        assert response.status_code < 500, (document, response.text)
        if response.status_code >= 400:
            assert response.json()["error"], document
    await drain(world)
    async with world.instance.ctx.sessions() as session:
        leased = await session.scalar(
            select(func.count()).select_from(InboxItem).where(InboxItem.lease_owner.is_not(None))
        )
    assert leased == 0
    assert world.inbox_job.repeated == [], json.dumps(world.inbox_job.repeated)
