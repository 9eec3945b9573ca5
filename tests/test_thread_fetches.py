"""Threads fetch a missing parent from its server at most once per expiry, however many people
look: a failed fetch is remembered (a negative cache in the store), so thirty anonymous views
of a reply to an unreachable post make one signed GET to that third party, not thirty."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import update

from fediverse.activitypub.parse import parse_object
from fediverse.activitypub.vocab import PUBLIC
from fediverse.config import DatabaseSettings
from fediverse.services import remote_actors, remote_posts
from fediverse.store import fetch_attempts
from fediverse.store.engine import create_engine, create_sessionmaker
from fediverse.store.migrate import upgrade
from fediverse.store.tables import FetchAttempt, Post
from fediverse.store.types import utcnow
from tests.api_helpers import api
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance
from tests.remote import make_remote_actor
from tests.ui_helpers import browser

MISSING = "https://third.example/notes/gone"


async def _reply_to_missing_parent(net: FakeNet, site: Instance) -> Post:
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    author = await remote_actors.get_actor(site.ctx, rita.iri)
    doc = parse_object(
        {
            "id": f"{rita.iri}/notes/1",
            "type": "Note",
            "attributedTo": rita.iri,
            "content": "<p>replying to something that is gone</p>",
            "inReplyTo": MISSING,
            "to": [PUBLIC],
            "published": "2024-05-01T12:00:00Z",
        }
    )
    stored = await remote_posts.store_post(site.ctx, doc, author, force=True)
    assert stored is not None
    return stored


def _fetches_of(net: FakeNet, url: str) -> int:
    return sum(1 for r in net.log if r.method == "GET" and r.url.split("#")[0] == url)


async def test_a_missing_parent_is_fetched_once_per_expiry(sqlite_net: FakeNet) -> None:
    net = sqlite_net
    site = await net.add_instance("a.test", federation={"failed_fetch_retry_minutes": 30})
    reply = await _reply_to_missing_parent(net, site)
    net.log.clear()
    async with browser(net, site) as visitor, api(net, site) as client:
        for _ in range(15):
            page = await visitor.get(f"/posts/{reply.id}")
            assert page.status_code == 200 and "something that is gone" in page.text
            context = await client.get(f"/api/v1/statuses/{reply.id}/context")
            assert context.status_code == 200 and context.json()["ancestors"] == []
        # Views at the same moment share the one attempt too.
        await asyncio.gather(*(visitor.get(f"/posts/{reply.id}") for _ in range(5)))
    assert _fetches_of(net, MISSING) == 1

    # The failure is remembered for its expiry only: once it has passed, one more try.
    async with site.ctx.sessions() as session:
        await session.execute(
            update(FetchAttempt)
            .where(FetchAttempt.uri == MISSING)
            .values(not_before=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    async with browser(net, site) as visitor:
        for _ in range(5):
            assert (await visitor.get(f"/posts/{reply.id}")).status_code == 200
    assert _fetches_of(net, MISSING) == 2


async def test_a_parent_that_answers_later_is_stored_and_never_fetched_again(
    sqlite_net: FakeNet,
) -> None:
    net = sqlite_net
    site = await net.add_instance("a.test")
    reply = await _reply_to_missing_parent(net, site)
    net.log.clear()
    author = make_remote_actor(net, "https://third.example/users/tom")
    net.documents[MISSING] = {
        "id": MISSING,
        "type": "Note",
        "attributedTo": author.iri,
        "content": "<p>the parent</p>",
        "to": [PUBLIC],
    }
    async with api(net, site) as client:
        for _ in range(5):
            context = (await client.get(f"/api/v1/statuses/{reply.id}/context")).json()
            assert [status["uri"] for status in context["ancestors"]] == [MISSING]
    assert _fetches_of(net, MISSING) == 1


async def test_one_claim_per_expiry_on_both_engines(database: Database) -> None:
    engine = create_engine(DatabaseSettings(url=database.url, schema=database.schema))
    sessions = create_sessionmaker(engine)
    try:
        await upgrade(engine, schema=database.schema)
        now = utcnow()

        async def claim_at(moment: datetime) -> bool:
            async with sessions() as session:
                won = await fetch_attempts.claim(
                    session, MISSING, now=moment, until=moment + timedelta(minutes=5)
                )
                await session.commit()
                return won

        # Readers racing for the same fetch: exactly one wins.
        assert sorted(await asyncio.gather(*(claim_at(now) for _ in range(4)))) == [
            False,
            False,
            False,
            True,
        ]
        async with sessions() as session:
            await fetch_attempts.record_failure(session, MISSING, "404 " + "x" * 900)
            await session.commit()
            assert await fetch_attempts.waiting(session, MISSING, now=now + timedelta(minutes=4))
            assert not await fetch_attempts.waiting(
                session, MISSING, now=now + timedelta(minutes=6)
            )
        assert not await claim_at(now + timedelta(minutes=4))
        assert await claim_at(now + timedelta(minutes=6))
        async with sessions() as session:
            await fetch_attempts.forget(session, MISSING)
            await session.commit()
            assert not await fetch_attempts.waiting(session, MISSING, now=now)
    finally:
        await engine.dispose()
