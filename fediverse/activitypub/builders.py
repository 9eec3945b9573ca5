"""Pure builders of the activities we send. Ids and addressing are passed in; nothing is looked up.

Each returns a complete, compacted ActivityStreams document with our `@context`.
"""

from __future__ import annotations

from typing import Any

from fediverse.activitypub.jsonld import ACTIVITY_CONTEXT
from fediverse.activitypub.vocab import PUBLIC


def _activity(
    activity_type: str,
    activity_id: str,
    actor: str,
    obj: str | dict[str, Any],
    *,
    to: list[str] | None = None,
    cc: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": ACTIVITY_CONTEXT,
        "id": activity_id,
        "type": activity_type,
        "actor": actor,
        "object": obj,
    }
    if to:
        doc["to"] = to
    if cc:
        doc["cc"] = cc
    doc.update(extra)
    return doc


def _embedded(doc: dict[str, Any]) -> dict[str, Any]:
    """Return an activity ready to be embedded in another (no nested `@context`)."""
    return {key: value for key, value in doc.items() if key != "@context"}


def build_follow(activity_id: str, actor: str, followee: str) -> dict[str, Any]:
    """Build `Follow`; addressed to the followee, as Mastodon expects."""
    return _activity("Follow", activity_id, actor, followee, to=[followee])


def build_accept(activity_id: str, actor: str, accepted: dict[str, Any]) -> dict[str, Any]:
    """Build `Accept` of an activity, embedding it (Mastodon and Lemmy match on the embed)."""
    follower = accepted.get("actor")
    to = [follower] if isinstance(follower, str) else None
    return _activity("Accept", activity_id, actor, _embedded(accepted), to=to)


def build_reject(activity_id: str, actor: str, rejected: dict[str, Any]) -> dict[str, Any]:
    """Build `Reject` of an activity, embedding it."""
    follower = rejected.get("actor")
    to = [follower] if isinstance(follower, str) else None
    return _activity("Reject", activity_id, actor, _embedded(rejected), to=to)


def build_undo(activity_id: str, actor: str, undone: dict[str, Any]) -> dict[str, Any]:
    """Build `Undo` of one of our earlier activities, embedding it with its addressing."""
    return _activity(
        "Undo", activity_id, actor, _embedded(undone), to=undone.get("to"), cc=undone.get("cc")
    )


def build_update_actor(
    activity_id: str, actor_doc: dict[str, Any], *, followers: str | None
) -> dict[str, Any]:
    """Build `Update` of an actor's own document, public and to its followers."""
    return _activity(
        "Update",
        activity_id,
        actor_doc["id"],
        _embedded(actor_doc),
        to=[PUBLIC],
        cc=[followers] if followers else None,
    )


def build_delete_actor(activity_id: str, actor: str, *, followers: str | None) -> dict[str, Any]:
    """Build `Delete` of the actor itself (account removal)."""
    return _activity(
        "Delete", activity_id, actor, actor, to=[PUBLIC], cc=[followers] if followers else None
    )


def build_create(
    activity_id: str, actor: str, obj: dict[str, Any], *, to: list[str], cc: list[str]
) -> dict[str, Any]:
    """Build `Create` of a post, with the post's own addressing and publication time."""
    extra = {"published": obj["published"]} if "published" in obj else {}
    return _activity("Create", activity_id, actor, _embedded(obj), to=to, cc=cc, **extra)


def build_update(
    activity_id: str, actor: str, obj: dict[str, Any], *, to: list[str], cc: list[str]
) -> dict[str, Any]:
    """Build `Update` of an edited post."""
    return _activity("Update", activity_id, actor, _embedded(obj), to=to, cc=cc)


def build_like(
    activity_id: str, actor: str, post: str, *, to: list[str], cc: list[str] | None = None
) -> dict[str, Any]:
    return _activity("Like", activity_id, actor, post, to=to, cc=cc)


def build_announce(
    activity_id: str, actor: str, post: str, *, to: list[str], cc: list[str], published: str
) -> dict[str, Any]:
    """Build `Announce` (a boost) of a post, public and to the booster's followers."""
    return _activity("Announce", activity_id, actor, post, to=to, cc=cc, published=published)


def build_delete(
    activity_id: str, actor: str, tombstone: dict[str, Any], *, to: list[str], cc: list[str]
) -> dict[str, Any]:
    """Build `Delete` of a post, carrying its Tombstone and the post's addressing."""
    return _activity("Delete", activity_id, actor, _embedded(tombstone), to=to, cc=cc)


def build_block(activity_id: str, actor: str, blocked: str) -> dict[str, Any]:
    return _activity("Block", activity_id, actor, blocked, to=[blocked])
