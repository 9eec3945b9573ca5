"""Activities we understand but keep nothing of yet: acknowledged, recorded as `ignored`.

Each entry says why. When a feature starts storing one of these (posts, likes, boosts, reports),
its family module takes the key over and the entry is removed here; registering both raises.
"""

from __future__ import annotations

from fediverse.inbox.registry import ANY, Delivered, Handler, HandlerRegistry, Ignored

NOT_STORED_YET: dict[tuple[str, str], str] = {
    ("Dislike", ANY): "dislikes are not counted",
    ("EmojiReact", ANY): "reactions are not counted yet",
    ("Flag", ANY): "reports go to the moderation console, which does not exist yet",
    ("Add", ANY): "featured collections are not mirrored",
    ("Remove", ANY): "featured collections are not mirrored",
    ("Move", ANY): "account moves are not followed yet",
}


def _ignore(reason: str) -> Handler:
    async def handler(delivered: Delivered) -> None:
        raise Ignored(f"{delivered.activity.type}: {reason}")

    return handler


def register(registry: HandlerRegistry) -> None:
    for (activity_type, object_type), reason in NOT_STORED_YET.items():
        registry.add(activity_type, (object_type,), _ignore(reason))
