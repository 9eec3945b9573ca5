"""Like, Announce (boosts, and group announces per FEP-1b12) and their Undo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fediverse.activitypub.jsonld import id_of
from fediverse.errors import FediverseError
from fediverse.inbox.registry import ANY, Delivered, HandlerRegistry, Ignored
from fediverse.services import received_interactions
from fediverse.store.tables import Like, Post


def _announced_object(obj: Any) -> str | None:
    """Return the IRI of what an Announce shares; Lemmy and FEP-1b12 groups announce the
    Create activity itself, whose object is the post."""
    if isinstance(obj, dict) and obj.get("type") in ("Create", "Update") and "object" in obj:
        return id_of(obj.get("object"))
    return id_of(obj)


async def handle_like(delivered: Delivered) -> None:
    target = delivered.activity.object_id
    if target is None or not await received_interactions.receive_like(
        delivered.ctx, delivered.actor, target, delivered.activity.id
    ):
        raise Ignored("Like of a post we do not have")


async def handle_announce(delivered: Delivered) -> None:
    target = _announced_object(delivered.activity.object)
    if target is None:
        raise Ignored("Announce without an object")
    try:
        stored = await received_interactions.receive_announce(
            delivered.ctx, delivered.actor, target, delivered.activity
        )
    except FediverseError as exc:
        raise Ignored(f"Announce of {target}: {exc.message}") from exc
    if not stored:
        raise Ignored("nobody here follows the booster")


async def handle_undo(delivered: Delivered) -> None:
    """Undo of a Like or an Announce, named by id or embedded."""
    obj = delivered.activity.object
    undone_id = id_of(obj)
    undone_type = obj.get("type") if isinstance(obj, dict) else None
    ctx, actor = delivered.ctx, delivered.actor
    async with ctx.sessions() as session:
        like = (
            await session.scalar(select(Like).where(Like.uri == undone_id)) if undone_id else None
        )
        boost = (
            await session.scalar(select(Post).where(Post.uri == undone_id)) if undone_id else None
        )
    if undone_type == "Like" or like is not None:
        target = id_of(obj.get("object")) if isinstance(obj, dict) else None
        if await received_interactions.undo_like(ctx, actor, undone_id, target):
            return
    is_announce = undone_type == "Announce" or boost is not None
    if (
        is_announce
        and undone_id
        and await received_interactions.undo_announce(ctx, actor, undone_id)
    ):
        return
    raise Ignored("Undo of something we do not have")


def register(registry: HandlerRegistry) -> None:
    registry.add("Like", (ANY,), handle_like)
    registry.add("Announce", (ANY,), handle_announce)
    registry.add("Undo", (ANY, "Like", "Announce"), handle_undo)
