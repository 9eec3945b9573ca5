"""Origin checks: an activity's actor may only create, change or remove what it owns.

Run once at the inbox edge, after the signature proved who the actor is and before anything is
stored. Cross-origin embeds that are legitimate (Announce, Accept of our own Follow) are checked
by what they mean, not by host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fediverse.activitypub.jsonld import id_of

# Activities whose embedded object must come from the actor's own server.
_SAME_ORIGIN_OBJECT = frozenset({"Create", "Update", "Delete"})
# Activities that wrap one of the actor's own earlier activities.
_OWN_ACTIVITY = frozenset({"Undo"})


def host_of(iri: str | None) -> str:
    return (urlsplit(iri).netloc.lower() if iri else "") or ""


def origin_problem(activity_type: str, actor: str, obj: Any) -> str | None:
    """Return why `actor` may not send this activity about `obj`, or None when it may."""
    if activity_type in _SAME_ORIGIN_OBJECT:
        object_id = id_of(obj)
        if object_id is not None and host_of(object_id) != host_of(actor):
            return f"{actor} may not {activity_type.lower()} {object_id}, which another server owns"
        if isinstance(obj, dict) and activity_type != "Delete":
            author = id_of(obj.get("attributedTo")) if "attributedTo" in obj else None
            if author is not None and host_of(author) != host_of(actor):
                return f"{actor} may not {activity_type.lower()} an object attributed to {author}"
    if activity_type in _OWN_ACTIVITY and isinstance(obj, dict):
        inner_actor = id_of(obj.get("actor"))
        if inner_actor is not None and inner_actor != actor:
            return f"{actor} may not undo an activity of {inner_actor}"
    return None
