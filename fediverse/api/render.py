"""Gather what the entity builders need (counts, reply authors, reach) in a few queries, then
build the JSON. Routes hand over rows or timeline entries; this module turns them into entities.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fediverse.api import entities
from fediverse.errors import NotFound
from fediverse.services import directory, reach, timelines
from fediverse.services.oauth import Grant
from fediverse.services.timelines import TimelineEntry
from fediverse.store.tables import Actor, Post
from fediverse.web import current_context

log = logging.getLogger(__name__)


async def accounts(actors: Sequence[Actor]) -> list[dict[str, Any]]:
    """Build Accounts, with their counts, in order."""
    ctx = current_context()
    stats = await directory.account_stats(ctx, [actor.id for actor in actors])
    return [
        entities.account_json(actor, stats.get(actor.id, directory.AccountStats()), ctx.uris)
        for actor in actors
    ]


async def account(actor: Actor) -> dict[str, Any]:
    return (await accounts([actor]))[0]


async def relationships(viewer: Grant, target_ids: Sequence[int]) -> list[dict[str, Any]]:
    found = await directory.relationships(current_context(), viewer.actor.id, target_ids)
    return [entities.relationship_json(target, found[target]) for target in target_ids]


async def relationship(viewer: Grant, target_id: int) -> dict[str, Any]:
    return (await relationships(viewer, [target_id]))[0]


async def _reach_of(post: Post) -> dict[str, Any] | None:
    try:
        receipt = await reach.reach_for_post(current_context(), str(post.id))
    except NotFound:
        # Nothing was published for it (a post made before the delivery engine existed).
        return None
    return receipt.to_json()


async def statuses(
    entries: Sequence[TimelineEntry],
    viewer: Grant | None,
    *,
    source_text: bool = False,
) -> list[dict[str, Any]]:
    """Build Statuses for timeline entries (boosts wrap the boosted status).

    The author's own local posts carry `reach`; `source_text` adds `text` (for delete).
    """
    ctx = current_context()
    actors = {e.author.id: e.author for e in entries}
    actors.update({e.boost_of_author.id: e.boost_of_author for e in entries if e.boost_of_author})
    stats = await directory.account_stats(ctx, list(actors))
    account_docs = {
        actor_id: entities.account_json(actor, stats[actor_id], ctx.uris)
        for actor_id, actor in actors.items()
    }
    parents = await directory.reply_authors(
        ctx, [e.shown.in_reply_to_id for e in entries if e.shown.in_reply_to_id is not None]
    )
    viewer_id = viewer.actor.id if viewer is not None else None
    documents = []
    for entry in entries:
        shown = entry.shown
        author_id = entry.boost_of_author.id if entry.boost_of_author else entry.author.id
        flags = (
            {"favourited": entry.favourited, "reblogged": entry.reblogged}
            if viewer is not None
            else None
        )
        inner = entities.status_json(
            shown,
            account_docs[author_id],
            ctx.uris,
            mentions=entry.mentions,
            tags=entry.tags,
            in_reply_to_account_id=parents.get(shown.in_reply_to_id or 0),
            viewer_flags=flags,
            text=(shown.source or "") if source_text else None,
        )
        if shown.local and shown.author_id == viewer_id:
            found = await _reach_of(shown)
            if found is not None:
                inner["reach"] = found
        if entry.boost_of is None:
            documents.append(inner)
            continue
        documents.append(
            entities.status_json(
                entry.post,
                account_docs[entry.author.id],
                ctx.uris,
                reblog=inner,
                viewer_flags=flags,
            )
        )
    return documents


async def status_of(
    post: Post, viewer: Grant | None, *, source_text: bool = False
) -> dict[str, Any]:
    """Build the Status of one post (its author, flags and extras loaded)."""
    viewer_id = viewer.actor.id if viewer is not None else None
    entries = await timelines.entries_for(current_context(), [post], viewer_id)
    return (await statuses(entries, viewer, source_text=source_text))[0]


async def statuses_of(posts: Sequence[Post], viewer: Grant | None) -> list[dict[str, Any]]:
    viewer_id = viewer.actor.id if viewer is not None else None
    entries = await timelines.entries_for(current_context(), posts, viewer_id)
    return await statuses(entries, viewer)
