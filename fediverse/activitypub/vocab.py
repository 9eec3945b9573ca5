"""Name the ActivityStreams vocabulary: namespaces, media types and type names.

Every type name is a `StrEnum` member, so `ObjectType.NOTE == "Note"` holds and values can be
compared with raw strings from remote JSON. Code elsewhere uses these constants, never bare
strings (https://www.w3.org/TR/activitystreams-vocabulary/).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "ACTIVITY_JSON",
    "ACTIVITY_TYPES",
    "ACTOR_TYPES",
    "AS_NS",
    "COLLECTION_TYPES",
    "DATA_INTEGRITY_V1",
    "IDENTITY_V1",
    "INTRANSITIVE_ACTIVITY_TYPES",
    "JRD_JSON",
    "LD_JSON",
    "LD_JSON_AS",
    "LINK_TYPES",
    "MULTIKEY_V1",
    "OBJECT_TYPES",
    "POST_LIKE_TYPES",
    "PUBLIC",
    "PUBLIC_ALIASES",
    "SECURITY_V1",
    "ActivityType",
    "ActorType",
    "CollectionType",
    "LinkType",
    "ObjectType",
    "is_public",
]

# Namespaces and context documents.
AS_NS: Final = "https://www.w3.org/ns/activitystreams"
SECURITY_V1: Final = "https://w3id.org/security/v1"
DATA_INTEGRITY_V1: Final = "https://w3id.org/security/data-integrity/v1"
MULTIKEY_V1: Final = "https://w3id.org/security/multikey/v1"
IDENTITY_V1: Final = "https://w3id.org/identity/v1"

# The special collection meaning "everyone"; AS2 §5.6 lets compacted documents say "as:Public"
# or plain "Public", and Pleroma/older Mastodon versions do.
PUBLIC: Final = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES: Final = frozenset({PUBLIC, "as:Public", "Public"})

# Media types.
ACTIVITY_JSON: Final = "application/activity+json"
LD_JSON: Final = "application/ld+json"
LD_JSON_AS: Final = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_JSON: Final = "application/jrd+json"
# What an ActivityPub server must accept as "this is an ActivityStreams document" (AP §3.2).
ACCEPTED_CONTENT_TYPES: Final = frozenset({ACTIVITY_JSON, LD_JSON_AS, LD_JSON})


class ActorType(StrEnum):
    """Name the AS2 actor types."""

    APPLICATION = "Application"
    GROUP = "Group"
    ORGANIZATION = "Organization"
    PERSON = "Person"
    SERVICE = "Service"


class ActivityType(StrEnum):
    """Name the AS2 activity types, plus the extensions other servers send."""

    ACCEPT = "Accept"
    ADD = "Add"
    ANNOUNCE = "Announce"
    ARRIVE = "Arrive"
    BLOCK = "Block"
    CREATE = "Create"
    DELETE = "Delete"
    DISLIKE = "Dislike"
    # Pleroma/Akkoma and Misskey emoji reactions (https://docs.akkoma.dev/stable/development/ap_extensions/).
    EMOJI_REACT = "EmojiReact"
    FLAG = "Flag"
    FOLLOW = "Follow"
    IGNORE = "Ignore"
    INVITE = "Invite"
    JOIN = "Join"
    LEAVE = "Leave"
    LIKE = "Like"
    LISTEN = "Listen"
    # Lemmy locks a post or comment against new replies (https://join-lemmy.org/docs/contributors/05-federation.html).
    LOCK = "Lock"
    MOVE = "Move"
    OFFER = "Offer"
    READ = "Read"
    REJECT = "Reject"
    REMOVE = "Remove"
    TENTATIVE_ACCEPT = "TentativeAccept"
    TENTATIVE_REJECT = "TentativeReject"
    TRAVEL = "Travel"
    UNDO = "Undo"
    UPDATE = "Update"
    VIEW = "View"


class ObjectType(StrEnum):
    """Name the AS2 object types, plus the extensions other servers send."""

    ARTICLE = "Article"
    AUDIO = "Audio"
    # Pleroma chats and Lemmy 0.19 private messages (litepub:ChatMessage).
    CHAT_MESSAGE = "ChatMessage"
    DOCUMENT = "Document"
    # Custom emoji as Mastodon sends them (toot:Emoji).
    EMOJI = "Emoji"
    EVENT = "Event"
    IMAGE = "Image"
    NOTE = "Note"
    PAGE = "Page"
    PLACE = "Place"
    PROFILE = "Profile"
    # Profile metadata fields (schema:PropertyValue), as Mastodon sends them.
    PROPERTY_VALUE = "PropertyValue"
    QUESTION = "Question"
    RELATIONSHIP = "Relationship"
    TOMBSTONE = "Tombstone"
    VIDEO = "Video"


class LinkType(StrEnum):
    """Name the AS2 link types; Hashtag is the Mastodon extension (as:Hashtag)."""

    HASHTAG = "Hashtag"
    LINK = "Link"
    MENTION = "Mention"


class CollectionType(StrEnum):
    """Name the AS2 collection and collection page types."""

    COLLECTION = "Collection"
    COLLECTION_PAGE = "CollectionPage"
    ORDERED_COLLECTION = "OrderedCollection"
    ORDERED_COLLECTION_PAGE = "OrderedCollectionPage"


ACTOR_TYPES: Final[frozenset[str]] = frozenset(ActorType)
ACTIVITY_TYPES: Final[frozenset[str]] = frozenset(ActivityType)
OBJECT_TYPES: Final[frozenset[str]] = frozenset(ObjectType)
LINK_TYPES: Final[frozenset[str]] = frozenset(LinkType)
COLLECTION_TYPES: Final[frozenset[str]] = frozenset(CollectionType)

# Activities that have no `object` (AS2 §2.3, "IntransitiveActivity").
INTRANSITIVE_ACTIVITY_TYPES: Final[frozenset[str]] = frozenset(
    {ActivityType.ARRIVE, ActivityType.TRAVEL}
)

# Objects that are shown as a post: a status, an article, a forum thread, a video, a meetup.
POST_LIKE_TYPES: Final[frozenset[str]] = frozenset(
    {
        ObjectType.ARTICLE,
        ObjectType.AUDIO,
        ObjectType.CHAT_MESSAGE,
        ObjectType.DOCUMENT,
        ObjectType.EVENT,
        ObjectType.IMAGE,
        ObjectType.NOTE,
        ObjectType.PAGE,
        ObjectType.QUESTION,
        ObjectType.VIDEO,
    }
)


def is_public(addresses: object) -> bool:
    """Return whether an addressing value (a string, a list, or parsed ids) includes Public."""
    items = addresses if isinstance(addresses, list | tuple | set | frozenset) else [addresses]
    for item in items:
        if isinstance(item, dict):
            item = item.get("id")
        if isinstance(item, str) and item in PUBLIC_ALIASES:
            return True
    return False
