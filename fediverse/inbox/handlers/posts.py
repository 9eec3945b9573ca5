"""Create, Update and Delete of posts (Note, Article, Page, Question, Video, ...)."""

from __future__ import annotations

from fediverse.inbox.registry import ANY, Delivered, HandlerRegistry, Ignored
from fediverse.services import remote_posts


async def handle_create(delivered: Delivered) -> None:
    activity = delivered.activity
    doc = remote_posts.parse_embedded(activity.object)
    if doc is None:
        if activity.object_id is None:
            raise Ignored("Create without an object")
        # Only an IRI: fetch it from its server, which also proves it exists.
        await remote_posts.fetch_post(delivered.ctx, activity.object_id)
        return
    if doc.type not in remote_posts.STORED_TYPES:
        raise Ignored(f"Create of a {doc.type}, which we do not store")
    if doc.attributed_to != activity.actor:
        raise Ignored(f"{activity.actor} may not create a post attributed to {doc.attributed_to}")
    stored = await remote_posts.store_post(delivered.ctx, doc, delivered.actor)
    if stored is None:
        raise Ignored("nobody here follows the author or is addressed")


async def handle_update(delivered: Delivered) -> None:
    doc = remote_posts.parse_embedded(delivered.activity.object)
    if doc is None or doc.type not in remote_posts.STORED_TYPES:
        raise Ignored("Update of something that is not a stored post")
    if not await remote_posts.apply_update(delivered.ctx, doc, delivered.actor):
        raise Ignored(f"Update of {doc.id}, which we do not have")


async def delete_object(delivered: Delivered, object_id: str) -> None:
    if not await remote_posts.apply_delete(delivered.ctx, delivered.actor, object_id):
        raise Ignored(f"Delete of {object_id}, which we do not have")


def register(registry: HandlerRegistry) -> None:
    registry.add("Create", (ANY,), handle_create)
    registry.add("Update", (ANY, *sorted(remote_posts.STORED_TYPES)), handle_update)
