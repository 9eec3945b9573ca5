"""Update of an actor (refresh our copy) and Delete of an actor (forget it)."""

from __future__ import annotations

from fediverse.activitypub.parse import ParseError, parse_actor
from fediverse.activitypub.vocab import ACTOR_TYPES
from fediverse.inbox.handlers.posts import delete_object
from fediverse.inbox.registry import ANY, Delivered, HandlerRegistry, Ignored
from fediverse.services import follows, remote_actors
from fediverse.services.remote_posts import STORED_TYPES


async def handle_update_actor(delivered: Delivered) -> None:
    activity = delivered.activity
    if activity.object_id != activity.actor:
        raise Ignored("an actor may only update itself")
    if isinstance(activity.object, dict):
        try:
            document = parse_actor(activity.object)
            await remote_actors.store_actor_document(delivered.ctx, document)
        except (ParseError, remote_actors.RemoteActorError) as exc:
            # The cached copy stays as it was: an unusable document replaces nothing.
            raise Ignored(f"unusable actor in Update: {exc}") from exc
    else:
        await remote_actors.get_actor(delivered.ctx, activity.actor, refresh=True)


async def handle_delete(delivered: Delivered) -> None:
    activity = delivered.activity
    if activity.object_id == activity.actor:
        await follows.remove_actor(delivered.ctx, activity.actor)
        return
    if activity.object_id is None:
        raise Ignored("Delete without an object")
    await delete_object(delivered, activity.object_id)


def register(registry: HandlerRegistry) -> None:
    registry.add("Update", ACTOR_TYPES, handle_update_actor)
    registry.add("Delete", (ANY, *ACTOR_TYPES, "Tombstone", *sorted(STORED_TYPES)), handle_delete)
