"""A store held by another writer past the busy timeout answers 503 with Retry-After, never
500, and nothing of the refused request is stored; the same request succeeds once it is free.

On SQLite the other writer holds the file's write lock (BEGIN IMMEDIATE); on PostgreSQL it holds
an EXCLUSIVE lock on the tables the request writes. Both engines, because the lock is theirs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import func, select

from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import InboxItem, OutboxActivity, Post
from tests.api_helpers import api, token_for
from tests.fakenet import FakeNet, Instance
from tests.remote import make_remote_actor, post_signed
from tests.ui_helpers import csrf_of, signed_in

BUSY = {"busy_timeout_seconds": 0.3}
INBOX = "https://a.test/inbox"


@asynccontextmanager
async def other_writer(instance: Instance) -> AsyncIterator[None]:
    """Hold the store's write lock from another connection, as a second process would."""
    settings = instance.config.database
    if settings.url.startswith("sqlite"):
        holder = sqlite3.connect(settings.url.split(":///", 1)[1], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
        return
    dsn = settings.url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn, server_settings={"search_path": settings.schema})
    try:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute(
            "LOCK TABLE posts, outbox_activities, deliveries, inbox_items IN EXCLUSIVE MODE"
        )
        yield
        await transaction.rollback()
    finally:
        await connection.close()


async def _count(instance: Instance, model: type) -> int:
    async with instance.ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_locked_store_answers_503_and_stores_nothing(net: FakeNet) -> None:
    site = await net.add_instance("a.test", database=BUSY)
    await create_user(site.ctx, NewUser(username="alice"))
    token = await token_for(site, "alice")
    rita = make_remote_actor(net, "https://remote.example/users/rita")
    follow = {
        "id": f"{rita.iri}/follows/1",
        "type": "Follow",
        "actor": rita.iri,
        "object": "https://a.test/users/alice",
    }
    # rita's key is cached first, so the locked request below fails at its own write.
    assert (await post_signed(net, INBOX, follow, rita.key)).status_code == 202
    second = {**follow, "id": f"{rita.iri}/follows/2"}

    async with signed_in(net, site, "bob") as bob:
        compose = await bob.get("/compose")
        async with api(net, site, token) as client, other_writer(site):
            status = await client.post("/api/v1/statuses", data={"status": "hello"})
            delivered = await post_signed(net, INBOX, second, rita.key)
            page = await bob.client.post(
                "/compose",
                data={"csrf_token": csrf_of(compose.text), "text": "from the page"},
            )
        for response in (status, delivered, page):
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"].isdigit()
        assert "try again" in status.json()["error"].lower()
        assert "try again" in delivered.json()["error"].lower()
        assert "text/html" in page.headers["Content-Type"] and "Try again" in page.text
        assert await _count(site, Post) == 0
        assert await _count(site, OutboxActivity) == 0
        assert await _count(site, InboxItem) == 1  # only the Follow from before the lock

        # Free again: the same requests go through.
        async with api(net, site, token) as client:
            assert (
                await client.post("/api/v1/statuses", data={"status": "hello"})
            ).status_code == 200
        assert (await post_signed(net, INBOX, second, rita.key)).status_code == 202
        again = await bob.submit("/compose", "/compose", {"text": "from the page"})
        assert again.status_code == 303
    assert await _count(site, Post) == 2
    assert await _count(site, InboxItem) == 2
