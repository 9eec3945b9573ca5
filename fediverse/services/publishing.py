"""Read the public face of local actors: their documents and collection pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fediverse.activitypub.collections import (
    build_ordered_collection,
    build_ordered_collection_page,
    page_url,
)
from fediverse.errors import NotFound
from fediverse.services.context import Context
from fediverse.services.visibility import activity_visible_to_anyone
from fediverse.store import actors as actor_queries
from fediverse.store import follows as follow_queries
from fediverse.store import outbox as outbox_queries
from fediverse.store.tables import Actor

PAGE_SIZE = 20
COLLECTIONS = ("outbox", "followers", "following", "featured")


@dataclass(frozen=True)
class CollectionRequest:
    name: str
    page: bool
    max_id: int | None


async def load_local_actor(ctx: Context, kind: str, name: str) -> Actor:
    """Return a local, live actor of `kind` or raise NotFound."""
    async with ctx.sessions() as session:
        actor = await actor_queries.get_local_by_name(session, name, kind=kind)
    if actor is None or actor.deleted_at is not None:
        raise NotFound(f"No {kind.lower()} called {name!r} on this instance.")
    return actor


# Handshake activities name only actors; remote servers dereference them (an Accept may carry
# just the IRI of our Follow), so they are served even though they are not public.
HANDSHAKE_TYPES = frozenset({"Follow", "Accept", "Reject", "Undo"})


async def load_activity(ctx: Context, activity_id: int) -> dict[str, Any]:
    """Return one of our published activities that anyone may read."""
    anyone = activity_visible_to_anyone()
    async with ctx.sessions() as session:
        row = await outbox_queries.get_by_id(session, activity_id)
        readable = row is not None and (
            row.type in HANDSHAKE_TYPES
            or (row.public and await outbox_queries.matches(session, row.id, anyone))
        )
    if row is None or not readable:
        raise NotFound(f"No activity {activity_id} here.")
    payload: dict[str, Any] = row.payload
    return payload


async def render_collection(ctx: Context, actor: Actor, req: CollectionRequest) -> dict[str, Any]:
    """Build a collection head, or one page of it, for a local actor."""
    if req.name not in COLLECTIONS:
        raise NotFound(f"Actors have no collection called {req.name!r}.")
    collection_id = ctx.uris.actor_collection(actor.uri, req.name)
    if req.name == "featured":
        # Pinned posts: small by nature, so served inline as Mastodon does.
        head = build_ordered_collection(collection_id, 0)
        head.pop("first")
        head["orderedItems"] = []
        return head
    async with ctx.sessions() as session:
        if req.name == "outbox":
            anyone = activity_visible_to_anyone()
            total = await outbox_queries.count_public(session, actor.id, readable=anyone)
            rows = (
                await outbox_queries.page_public(
                    session, actor.id, max_id=req.max_id, limit=PAGE_SIZE, readable=anyone
                )
                if req.page
                else []
            )
            items: list[Any] = [payload for _, payload in rows]
            ids = [row_id for row_id, _ in rows]
        else:
            count = (
                follow_queries.count_followers
                if req.name == "followers"
                else follow_queries.count_following
            )
            page_of = (
                follow_queries.page_follower_uris
                if req.name == "followers"
                else follow_queries.page_following_uris
            )
            total = await count(session, actor.id)
            pairs = (
                await page_of(session, actor.id, max_id=req.max_id, limit=PAGE_SIZE)
                if req.page
                else []
            )
            items = [uri for _, uri in pairs]
            ids = [row_id for row_id, _ in pairs]
    if not req.page:
        return build_ordered_collection(collection_id, total)
    page_id = (
        page_url(collection_id, max_id=req.max_id)
        if req.max_id is not None
        else page_url(collection_id)
    )
    next_page = page_url(collection_id, max_id=ids[-1]) if len(ids) == PAGE_SIZE else None
    return build_ordered_collection_page(
        collection_id, page_id=page_id, items=items, next_page=next_page, total_items=total
    )
