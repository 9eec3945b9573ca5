"""Origin checks: an activity's actor may only name, create, change or remove what it owns.

Run once at the inbox edge, after the signature proved who the actor is and before anything is
stored. Ids are keys here (the inbox deduplicates by activity id; posts, likes, boosts and
follows are stored under theirs), so an id is only believed from its own server: otherwise one
server could claim another's predictable ids first (`<note>#delete`, a future note's URI) and
make the real activity a "duplicate". Cross-origin embeds that are legitimate (an Announce of
someone else's post, an Accept of our own Follow) are checked by what they mean, not by host,
and what they embed is never stored under its id: it is fetched from its own server.
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
    """Return the lower-cased authority (host[:port]) of an IRI, or "" if it has none.

    Never raises: an unparseable IRI (`http://[::1`) has no host, so it matches no origin.
    """
    if not iri:
        return ""
    try:
        parts = urlsplit(iri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return ""
    return parts.netloc.lower()


def same_origin(iri: str | None, other: str | None) -> bool:
    """Tell whether two IRIs are on the same server (an unparseable one is on none)."""
    host = host_of(iri)
    return host != "" and host == host_of(other)


def origin_problem(activity_id: str, activity_type: str, actor: str, obj: Any) -> str | None:
    """Return why `actor` may not send this activity, as a sentence, or None when it may."""
    if not same_origin(activity_id, actor):
        return (
            f"The activity id {activity_id} is not on the server of its actor {actor}; "
            "an activity's id must be on its actor's own server."
        )
    if activity_type in _SAME_ORIGIN_OBJECT:
        object_id = id_of(obj)
        if object_id is not None and not same_origin(object_id, actor):
            return (
                f"The actor {actor} may not {activity_type.lower()} {object_id}, "
                "which another server owns."
            )
        if isinstance(obj, dict) and activity_type != "Delete":
            author = id_of(obj.get("attributedTo")) if "attributedTo" in obj else None
            if author is not None and not same_origin(author, actor):
                where = "who is on another server" if host_of(author) else "not a valid IRI"
                return (
                    f"The actor {actor} may not {activity_type.lower()} an object attributed "
                    f"to {author}, {where}."
                )
    if activity_type in _OWN_ACTIVITY and isinstance(obj, dict):
        inner_actor = id_of(obj.get("actor"))
        if inner_actor is not None and inner_actor != actor:
            return f"The actor {actor} may not undo an activity of {inner_actor}."
    return None
