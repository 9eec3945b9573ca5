"""Follow, Accept/Reject of our follows, Undo of a follow, Block and Undo of a block."""

from __future__ import annotations

from fediverse.activitypub.vocab import ACTOR_TYPES
from fediverse.inbox.registry import ANY, Delivered, HandlerRegistry, Ignored
from fediverse.services import follows


async def handle_follow(delivered: Delivered) -> None:
    target = delivered.activity.object_id
    if target is None:
        raise Ignored("Follow without an object")
    if not delivered.ctx.uris.is_local(target):
        raise Ignored(f"Follow of {target}, which is not ours")
    await follows.receive_follow(delivered.ctx, delivered.actor, target, delivered.activity.id)


async def handle_accept(delivered: Delivered) -> None:
    if not await follows.receive_accept(delivered.ctx, delivered.actor, delivered.activity.object):
        raise Ignored("Accept of a follow we do not have")


async def handle_reject(delivered: Delivered) -> None:
    if not await follows.receive_reject(delivered.ctx, delivered.actor, delivered.activity.object):
        raise Ignored("Reject of a follow we do not have")


async def handle_undo_follow(delivered: Delivered) -> None:
    if not await follows.receive_undo_follow(
        delivered.ctx, delivered.actor, delivered.activity.object
    ):
        raise Ignored("Undo of a follow we do not have")


async def handle_block(delivered: Delivered) -> None:
    target = delivered.activity.object_id
    if target is None or not await follows.receive_block(
        delivered.ctx, delivered.actor, target, delivered.activity.id
    ):
        raise Ignored("Block of someone who is not ours")


async def handle_undo_block(delivered: Delivered) -> None:
    if not await follows.receive_undo_block(
        delivered.ctx, delivered.actor, delivered.activity.object
    ):
        raise Ignored("Undo of a block we do not have")


def register(registry: HandlerRegistry) -> None:
    registry.add("Follow", (ANY, *ACTOR_TYPES), handle_follow)
    # Accept/Reject name our Follow by IRI or embed it.
    registry.add("Accept", (ANY, "Follow"), handle_accept)
    registry.add("Reject", (ANY, "Follow"), handle_reject)
    registry.add("Undo", ("Follow",), handle_undo_follow)
    registry.add("Block", (ANY, *ACTOR_TYPES), handle_block)
    registry.add("Undo", ("Block",), handle_undo_block)
