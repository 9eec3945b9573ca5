"""Golden JSON: the exact documents other servers receive from us, pinned file by file.

Regenerate the files after an intended change, then review `git diff tests/golden/`:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden_json.py

A normal run fails on any difference and prints a unified diff (golden file, then what we send
now), and fails when a golden file is missing or no longer produced.

How the documents are made. One scenario runs once per test run, through the real code paths:
an instance (a.test) in the fakenet (tests/fakenet.py) with a person, alice, a locked person,
bob, and a group, hikers; and a fake remote server (remote.example) with a person, rita, who
signs her requests for real. rita follows alice, bob and the group; alice sets an avatar and
edits her profile, posts Notes (public, unlisted, followers-only, direct) and an Article, edits
and deletes the Article, follows and unfollows rita, likes, boosts, unlikes and unboosts rita's
post; rita posts to the group and the group announces her post (FEP-1b12); bob rejects rita's
follow request. Every activity is captured as the bytes POSTed to the fake remote inboxes
(`net.received`) by the delivery worker, after it signed and sent them, so what is pinned is the
wire JSON, not a dict on its way there. The actor documents (Person, Group, Application), the
Note and Article objects, a deleted post's Tombstone and a WebFinger answer are pinned as served
by GET at their URLs. `_deliveries.json` pins which inboxes each activity was POSTed to.

Comparison. Each document is dumped canonically (2-space indent, keys sorted, non-ASCII kept,
trailing newline) and compared with its golden file byte for byte. Keys are sorted because JSON
object members carry no order (RFC 8259 §4; JSON-LD reads them as a set) and ours is not stable
anyway: on PostgreSQL the outbox payload is JSONB, which reorders keys before it is sent. Array
order is kept: `@context`, `to`, `cc` and `tag` are compared in the order we send them.

Determinism comes from the source, not from masking: a frozen clock behind `utcnow()` and behind
the id generator (patched inside `fediverse.store.types` and `fediverse.ids`, so every module
that imported `utcnow` or `new_id` sees it), one fixed RSA key for every local actor (RFC 9421
appendix B.1.2's published test key), and numbered media file names. Nothing is masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import functools
import io
import itertools
import json
import os
import types
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization
from PIL import Image
from sqlalchemy import select, update

from fediverse import ids
from fediverse.activitypub.keys import KeyPair, load_private_key
from fediverse.services import actors, follows, interactions, media, posts, profiles
from fediverse.services.actors import NewUser, create_group, create_user
from fediverse.store import types as store_types
from fediverse.store.tables import Actor, Delivery, InboxItem, Post
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance, fakenet
from tests.remote import RemoteActor, make_remote_actor, post_signed
from tests.test_signatures import RFC_RSA_PRIVATE_PEM

T = TypeVar("T")

GOLDEN = Path(__file__).resolve().parent / "golden"
DELIVERIES = "_deliveries"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
AP = {"Accept": "application/activity+json"}
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=1)

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ALICE = "https://a.test/users/alice"
BOB = "https://a.test/users/bob"
HIKERS = "https://a.test/groups/hikers"
RITA = "https://remote.example/users/rita"
RITA_POST = "https://remote.example/users/rita/statuses/1"


def canonical(document: Any) -> str:
    """Dump a document the one way golden files are written."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _golden_key() -> KeyPair:
    """Return the fixed key every local actor gets, so `publicKeyPem` never changes."""
    private = load_private_key(RFC_RSA_PRIVATE_PEM)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private_pem=private_pem, public_pem=public_pem)


class FrozenClock:
    """One instant for `utcnow()`, `new_id()` and `id_at()`; it moves only on `tick()`."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def tick(self) -> None:
        # A new millisecond restarts the id sequence, so a step's ids never depend on how many
        # ids the workers of earlier steps took.
        self.now += STEP

    def datetime_class(self) -> type[datetime]:
        clock = self

        class FrozenDatetime(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
                return clock.now if tz is None else clock.now.astimezone(tz)

        return FrozenDatetime

    def time_ns(self) -> int:
        return int(self.now.timestamp() * 1000) * 1_000_000


@contextlib.contextmanager
def frozen_world(clock: FrozenClock) -> Iterator[None]:
    """Make time, ids, keys and media names deterministic where they are made."""
    key = _golden_key()
    media_names = itertools.count(1)
    frozen = clock.datetime_class()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_types, "datetime", frozen)  # utcnow() and every column default
        patch.setattr(ids, "datetime", frozen)  # id_at() clamps remote times to "now"
        patch.setattr(ids, "time", types.SimpleNamespace(time_ns=clock.time_ns))
        # new_id() starts each millisecond's sequence at random; start it at 0.
        patch.setattr(ids, "random", types.SimpleNamespace(randrange=lambda low, _high: low))
        patch.setattr(ids, "_last_ms", 0)
        patch.setattr(ids, "_sequence", 0)
        patch.setattr(ids, "_arrival", 0)
        patch.setattr(actors, "generate_rsa_keypair", lambda: key)
        patch.setattr(
            media,
            "secrets",
            types.SimpleNamespace(token_urlsafe=lambda _n: f"golden-media-{next(media_names):04d}"),
        )
        yield


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (40, 120, 80)).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Scenario:
    """Step the network one action at a time and keep what each action put on the wire."""

    net: FakeNet
    instance: Instance
    clock: FrozenClock
    documents: dict[str, Any] = field(default_factory=dict)
    deliveries: dict[str, list[str]] = field(default_factory=dict)

    async def quietly(self, action: Callable[[], Awaitable[T]]) -> T:
        """Run a set-up action and let the network settle; what it sends is not pinned."""
        self.clock.tick()
        result = await action()
        await self.net.settle()
        await self._all_delivered()
        return result

    async def sent(self, name: str, action: Callable[[], Awaitable[T]]) -> T:
        """Run an action that must put exactly one activity on the wire, and keep it."""
        before = {url: len(bodies) for url, bodies in self.net.received.items()}
        result = await self.quietly(action)
        new = {
            url: bodies[before.get(url, 0) :]
            for url, bodies in self.net.received.items()
            if len(bodies) > before.get(url, 0)
        }
        distinct = {body for bodies in new.values() for body in bodies}
        assert len(distinct) == 1, f"{name}: expected one activity on the wire, got {distinct}"
        self.documents[name] = json.loads(distinct.pop())
        self.deliveries[name] = sorted(url for url, bodies in new.items() for _ in bodies)
        return result

    async def served(
        self,
        name: str,
        path: str,
        *,
        status: int = 200,
        content_type: str = "application/activity+json",
    ) -> None:
        """Keep the document a remote server gets when it fetches `path`."""
        async with self.net.client() as http:
            response = await http.get(self.instance.url(path), headers=AP)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].split(";")[0] == content_type
        self.documents[name] = json.loads(response.content)

    async def from_rita(self, rita: RemoteActor, inbox_path: str, activity: dict[str, Any]) -> None:
        response = await post_signed(self.net, self.instance.url(inbox_path), activity, rita.key)
        assert response.status_code == 202, response.text

    async def _all_delivered(self) -> None:
        async with self.instance.ctx.sessions() as session:
            stuck = (
                await session.execute(
                    select(Delivery.inbox_url, Delivery.state).where(Delivery.state != "sent")
                )
            ).all()
            unprocessed = (
                await session.execute(
                    select(InboxItem.id, InboxItem.state).where(InboxItem.state != "processed")
                )
            ).all()
        assert not stuck, f"deliveries not sent: {stuck}"
        assert not unprocessed, f"inbox items not processed: {unprocessed}"


def _follow_from_rita(number: int, followee: str) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": f"{RITA}#follows/{number}",
        "type": "Follow",
        "actor": RITA,
        "object": followee,
    }


def _rita_posts_to_the_group(published: datetime) -> dict[str, Any]:
    """A Mastodon-shaped Create by rita, addressed to the group by mention and cc (FEP-1b12)."""
    note = {
        "id": RITA_POST,
        "type": "Note",
        "attributedTo": RITA,
        "content": '<p><span class="h-card"><a href="https://a.test/groups/hikers" '
        'class="u-url mention">@<span>hikers</span></a></span> Ridge walk on Sunday?</p>',
        "published": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": [PUBLIC],
        "cc": [f"{RITA}/followers", HIKERS],
        "tag": [{"type": "Mention", "href": HIKERS, "name": "@hikers@a.test"}],
    }
    return {
        "@context": AS_CONTEXT,
        "id": f"{RITA_POST}/activity",
        "type": "Create",
        "actor": RITA,
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }


async def _lock(instance: Instance, uri: str) -> None:
    """Make a local person approve followers by hand (no service sets it yet)."""
    async with instance.ctx.sessions() as session:
        await session.execute(
            update(Actor).where(Actor.uri == uri).values(manually_approves_followers=True)
        )
        await session.commit()


async def _run_scenario(tmp_path: Path) -> dict[str, Any]:
    """Run the whole scenario; return every pinned document by golden-file name."""
    clock = FrozenClock(START)
    with frozen_world(clock):
        async with fakenet(tmp_path, Database("sqlite", "")) as net:
            instance = await net.add_instance(
                "a.test", media={"directory": str(tmp_path / "media")}
            )
            ctx = instance.ctx
            step = Scenario(net, instance, clock)
            rita = make_remote_actor(net, RITA, name="Rita Remote")
            await create_user(ctx, NewUser(username="alice", display_name="Alice"))
            await create_user(ctx, NewUser(username="bob"))
            await _lock(instance, BOB)
            await create_group(
                ctx,
                "hikers",
                owner_username="alice",
                title="Hikers",
                summary_html="<p>Walks every Saturday.</p>",
            )

            # Follows from a remote server: accepted at once, or held for a locked account.
            await step.sent(
                "accept",
                lambda: step.from_rita(rita, "/users/alice/inbox", _follow_from_rita(1, ALICE)),
            )
            await step.quietly(
                lambda: step.from_rita(rita, "/groups/hikers/inbox", _follow_from_rita(2, HIKERS))
            )
            await step.quietly(
                lambda: step.from_rita(rita, "/users/bob/inbox", _follow_from_rita(3, BOB))
            )
            await step.sent(
                "reject", lambda: follows.answer_request(ctx, "bob", RITA, approve=False)
            )

            # The profile, sent as Update and served as the actor documents.
            await step.quietly(lambda: profiles.set_image(ctx, "alice", "avatar", _png()))
            profile = profiles.ProfileData(
                display_name="Alice Example",
                headline="Trail runner & map maker",
                role="Cartographer",
                industry="Geospatial",
                company="Contour Works",
                city="Lyon",
                bio="Maps, mountains and <b>markup</b>.\n\nSay hello!",
                skills=["GIS", "machine learning"],
                interests=["hiking"],
                hobbies=["bouldering"],
                links=[("Site", "https://alice.example/"), ("", "https://maps.example/alice")],
            )
            await step.sent("update-actor", lambda: profiles.update_profile(ctx, "alice", profile))
            await step.served("actor-person", "/users/alice")
            await step.served("actor-group", "/groups/hikers")
            await step.served("actor-application", "/actor")
            await step.served(
                "webfinger",
                "/.well-known/webfinger?resource=acct:alice@a.test",
                content_type="application/jrd+json",
            )

            # Notes in every visibility; the public one is also fetched.
            note = await step.sent(
                "create-note",
                lambda: posts.create_post(
                    ctx,
                    "alice",
                    posts.NewPost(
                        "Hello @rita@remote.example! First walk of the year on Saturday. #Hiking",
                        language="en",
                    ),
                ),
            )
            await step.served("note", f"/objects/{note.post.id}")
            for visibility in ("unlisted", "followers", "direct"):
                new = posts.NewPost(
                    f"@rita@remote.example this note is {visibility}.", visibility=visibility
                )
                await step.sent(
                    f"create-note-{visibility}",
                    functools.partial(posts.create_post, ctx, "alice", new),
                )

            # An Article: posted, fetched, edited, deleted, then served as a Tombstone.
            article = await step.sent(
                "create-article",
                lambda: posts.create_post(
                    ctx,
                    "alice",
                    posts.NewPost(
                        "## Day one\n\nWe walked **12 km** along the ridge. #Hiking",
                        kind="Article",
                        title="Trail notes",
                        language="en",
                    ),
                ),
            )
            await step.served("article", f"/objects/{article.post.id}")
            await step.sent(
                "update-article",
                lambda: posts.edit_post(
                    ctx,
                    "alice",
                    article.post.id,
                    text="## Day one\n\nWe walked **14 km** along the ridge. #Hiking",
                    title="Trail notes (corrected)",
                ),
            )
            await step.sent(
                "delete-article", lambda: posts.delete_post(ctx, "alice", article.post.id)
            )
            await step.served("tombstone", f"/objects/{article.post.id}", status=410)

            # Following a remote person, and a group sharing a member's post (FEP-1b12).
            await step.sent("follow", lambda: follows.follow(ctx, "alice", RITA))
            await step.sent(
                "announce-group",
                lambda: step.from_rita(
                    rita, "/groups/hikers/inbox", _rita_posts_to_the_group(clock.now)
                ),
            )
            async with ctx.sessions() as session:
                ritas_post = await session.scalar(select(Post.id).where(Post.uri == RITA_POST))
            assert ritas_post is not None

            # Likes and boosts of the remote post, and taking each back.
            await step.sent("like", lambda: interactions.like(ctx, "alice", ritas_post))
            await step.sent("announce", lambda: interactions.boost(ctx, "alice", ritas_post))
            await step.sent("undo-like", lambda: interactions.unlike(ctx, "alice", ritas_post))
            await step.sent("undo-announce", lambda: interactions.unboost(ctx, "alice", ritas_post))
            await step.sent("undo-follow", lambda: follows.unfollow(ctx, "alice", RITA))
            return {**step.documents, DELIVERIES: step.deliveries}


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Run the scenario once; return each canonical document by golden-file name."""
    documents = asyncio.run(_run_scenario(tmp_path_factory.mktemp("golden")))
    texts = {name: canonical(document) for name, document in documents.items()}
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        for stale in set(_golden_names()) - set(texts):
            (GOLDEN / f"{stale}.json").unlink()
        for name, text in texts.items():
            (GOLDEN / f"{name}.json").write_text(text, encoding="utf-8")
    return texts


def _golden_names() -> list[str]:
    return sorted(path.stem for path in GOLDEN.glob("*.json"))


def _diff(name: str, expected: str, actual: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        fromfile=f"tests/golden/{name}.json",
        tofile=f"{name} as sent now",
    )
    return "".join(lines)


@pytest.mark.parametrize("name", _golden_names())
def test_document_matches_its_golden_file(produced: dict[str, str], name: str) -> None:
    """What we send or serve is byte for byte the reviewed golden document."""
    if UPDATE and name not in produced:
        pytest.skip(f"tests/golden/{name}.json was deleted: the scenario no longer produces it")
    assert name in produced, (
        f"tests/golden/{name}.json is no longer produced; if that is intended, regenerate "
        "with UPDATE_GOLDEN=1 (which deletes it)"
    )
    expected = (GOLDEN / f"{name}.json").read_text(encoding="utf-8")
    actual = produced[name]
    assert actual == expected, (
        f"{name} changed: what other servers receive would change. If intended, regenerate "
        f"with UPDATE_GOLDEN=1 and review the diff.\n{_diff(name, expected, actual)}"
    )


def test_every_produced_document_has_a_golden_file(produced: dict[str, str]) -> None:
    """A new builder or scenario step cannot slip in without a reviewed golden file."""
    missing = sorted(set(produced) - set(_golden_names()))
    assert not missing, f"no golden file for {missing}; run with UPDATE_GOLDEN=1 and review"


def test_the_scenario_pins_every_builder(produced: dict[str, str]) -> None:
    """Each activity type we build is on the wire at least once, with our full @context."""
    sent_types = {json.loads(produced[name])["type"] for name in json.loads(produced[DELIVERIES])}
    assert sent_types == {
        "Accept",
        "Reject",
        "Follow",
        "Create",
        "Update",
        "Delete",
        "Like",
        "Announce",
        "Undo",
    }
    served_types = {
        json.loads(produced[name])["type"]
        for name in ("actor-person", "actor-group", "actor-application", "note", "article")
    }
    assert served_types == {"Person", "Group", "Application", "Note", "Article"}
