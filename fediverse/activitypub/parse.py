"""Parse remote ActivityStreams JSON into typed, frozen documents.

Tolerant of what real servers send (a string where a list was expected, Links for IRIs,
`contentMap` without `content`, PeerTube's list of authors), strict about what matters:
ids, actors and inboxes must be absolute http(s) IRIs, or `ParseError` says why not.

Bounds: a document nested deeper than `MAX_DEPTH` or with more than `MAX_NODES` values is
rejected; so is an addressing field (`to`, `cc`, `audience`...) with more than
`MAX_ADDRESSEES` entries, because cutting it would silently change who may see a post. Tags,
attachments and collection items are decorative or paged, so extra ones are dropped instead.

All HTML leaves here sanitised (`sanitize.sanitize_html`); all datetimes are aware, in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from fediverse.activitypub.decoding import MAX_JSON_DEPTH
from fediverse.activitypub.jsonld import (
    as_list,
    bool_of,
    conversation_of,
    datetime_of,
    first,
    float_of,
    id_of,
    ids_of,
    image_url_of,
    int_of,
    iri_of,
    iris_of,
    is_absolute_iri,
    language_of,
    string_of,
    text_of,
    types_of,
    url_of,
)
from fediverse.activitypub.sanitize import content_to_html, html_to_text, sanitize_html
from fediverse.activitypub.vocab import (
    ACTIVITY_TYPES,
    ACTOR_TYPES,
    AS_NS,
    COLLECTION_TYPES,
    INTRANSITIVE_ACTIVITY_TYPES,
    POST_LIKE_TYPES,
    PUBLIC,
    PUBLIC_ALIASES,
    ActorType,
    LinkType,
    ObjectType,
)

__all__ = [
    "MAX_ADDRESSEES",
    "MAX_ATTACHMENTS",
    "MAX_COLLECTION_ITEMS",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_TAGS",
    "ActivityDoc",
    "ActorDoc",
    "AttachmentDoc",
    "CollectionDoc",
    "EmojiDoc",
    "EventDoc",
    "MentionDoc",
    "ObjectDoc",
    "ParseError",
    "PlaceDoc",
    "PropertyValueDoc",
    "PublicKeyDoc",
    "parse_activity",
    "parse_actor",
    "parse_collection",
    "parse_document",
    "parse_object",
]

MAX_DEPTH: Final = MAX_JSON_DEPTH
MAX_NODES: Final = 100_000
MAX_ADDRESSEES: Final = 10_000
MAX_TAGS: Final = 1_000
MAX_ATTACHMENTS: Final = 64
MAX_COLLECTION_ITEMS: Final = 10_000
_MAX_KEYS: Final = 16
_MAX_PEM_CHARS: Final = 16_384

_AUTHOR_TYPES: Final = ACTOR_TYPES - {ActorType.GROUP}
# FEP-044f `quote`, Akkoma/Pleroma `quoteUrl`, Fedibird `quoteUri`, Misskey `_misskey_quote`.
_QUOTE_KEYS: Final = ("quote", "quoteUrl", "quoteUri", "_misskey_quote")


class ParseError(ValueError):
    """Signal a remote document we cannot use, with the reason."""


@dataclass(frozen=True, slots=True)
class PublicKeyDoc:
    """Describe a key an actor publishes: `publicKey` (PEM) or a FEP-521a Multikey (multibase)."""

    id: str
    owner: str
    pem: str | None = None
    multibase: str | None = None


@dataclass(frozen=True, slots=True)
class PropertyValueDoc:
    """Describe a profile field (schema:PropertyValue): plain-text name, sanitised HTML value."""

    name: str
    value_html: str


@dataclass(frozen=True, slots=True)
class MentionDoc:
    """Describe a Mention tag: who is mentioned and, if given, the handle shown."""

    href: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class EmojiDoc:
    """Describe a custom emoji tag: its `:shortcode:` name and image URL."""

    name: str
    icon_url: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class AttachmentDoc:
    """Describe a media or link attachment of a post."""

    type: str
    url: str
    media_type: str | None = None
    name: str | None = None
    blurhash: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class PlaceDoc:
    """Describe where an event happens: an AS2 Place with a schema.org PostalAddress."""

    id: str | None = None
    name: str | None = None
    street_address: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class EventDoc:
    """Describe an Event's meetup fields (https://docs.joinmobilizon.org/contribute/activity_pub/)."""

    start_time: datetime
    end_time: datetime | None = None
    timezone: str | None = None
    location: PlaceDoc | None = None
    join_mode: str | None = None
    # None means no limit: Mobilizon sends 0 for "unlimited".
    maximum_attendee_capacity: int | None = None
    remaining_attendee_capacity: int | None = None
    participant_count: int | None = None
    is_online: bool = False
    status: str | None = None
    anonymous_participation_enabled: bool | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class ActorDoc:
    """Describe an actor: a Person, Group, Application, Service or Organization."""

    id: str
    type: str
    inbox: str
    preferred_username: str | None = None
    name: str | None = None
    summary_html: str = ""
    url: str | None = None
    outbox: str | None = None
    shared_inbox: str | None = None
    followers: str | None = None
    following: str | None = None
    featured: str | None = None
    icon_url: str | None = None
    image_url: str | None = None
    public_keys: tuple[PublicKeyDoc, ...] = ()
    manually_approves_followers: bool = False
    discoverable: bool | None = None
    indexable: bool | None = None
    published: datetime | None = None
    attachments: tuple[PropertyValueDoc, ...] = ()
    hashtags: tuple[str, ...] = ()
    emojis: tuple[EmojiDoc, ...] = ()
    moved_to: str | None = None
    also_known_as: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ObjectDoc:
    """Describe a post-like object (Note, Article, Page, Event, Video...) or a Tombstone."""

    id: str
    type: str
    attributed_to: str | None = None
    attributed_to_all: tuple[str, ...] = ()
    content_html: str = ""
    name: str | None = None
    summary: str | None = None
    sensitive: bool = False
    in_reply_to: str | None = None
    url: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    mentions: tuple[MentionDoc, ...] = ()
    hashtags: tuple[str, ...] = ()
    emojis: tuple[EmojiDoc, ...] = ()
    attachments: tuple[AttachmentDoc, ...] = ()
    language: str | None = None
    conversation: str | None = None
    quote_url: str | None = None
    event: EventDoc | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ActivityDoc:
    """Describe an activity; its `object` is an IRI or the embedded document, kept raw."""

    id: str
    type: str
    actor: str
    object: str | dict[str, Any] | None = None
    object_id: str | None = None
    object_type: str | None = None
    object_ids: tuple[str, ...] = ()
    target: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    published: datetime | None = None
    summary: str | None = None
    content: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class CollectionDoc:
    """Describe a collection or collection page; items are IRIs or raw embedded objects."""

    id: str | None
    type: str
    total_items: int | None = None
    first: str | None = None
    first_page: CollectionDoc | None = None
    next: str | None = None
    part_of: str | None = None
    items: tuple[str | dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def parse_document(doc: Any) -> ActorDoc | ActivityDoc | ObjectDoc | CollectionDoc:
    """Parse any top-level document, choosing the parser by its `type`."""
    types = _prepare(doc)
    if ACTOR_TYPES.intersection(types):
        return _actor(doc, types)
    if COLLECTION_TYPES.intersection(types):
        return _collection(doc, types, require_id=True)
    if ACTIVITY_TYPES.intersection(types):
        return _activity(doc, types)
    if POST_LIKE_TYPES.intersection(types) or ObjectType.TOMBSTONE in types:
        return _object(doc, types)
    if "actor" in doc and "object" in doc:  # an extension activity (Lemmy's Warn, Resolve...)
        return _activity(doc, types)
    raise ParseError(f"unsupported type {types[0]!r}")


def parse_actor(doc: Any) -> ActorDoc:
    """Parse an actor document; it needs an id, an actor type and an inbox."""
    return _actor(doc, _prepare(doc))


def parse_activity(doc: Any) -> ActivityDoc:
    """Parse an activity; it needs an id, an actor and (unless intransitive) an object."""
    return _activity(doc, _prepare(doc))


def parse_object(doc: Any) -> ObjectDoc:
    """Parse a post-like object or Tombstone; posts need an author (`attributedTo`)."""
    return _object(doc, _prepare(doc))


def parse_collection(doc: Any) -> CollectionDoc:
    """Parse a Collection, OrderedCollection or one of their pages."""
    return _collection(doc, _prepare(doc), require_id=True)


def _prepare(doc: Any) -> list[str]:
    """Check a document's shape and size; return its types."""
    if not isinstance(doc, dict):
        if isinstance(doc, list) and any(_is_expanded(entry) for entry in doc[:16]):
            raise ParseError(_EXPANDED_FORM)
        raise ParseError("document must be a JSON object")
    _check_bounds(doc)
    if _is_expanded(doc):
        raise ParseError(_EXPANDED_FORM)
    types = types_of(doc)
    if not types:
        raise ParseError("document has no 'type'")
    return types


# AS2 Core section 2.1: documents are exchanged compacted against the ActivityStreams context.
_EXPANDED_FORM = (
    "document is in expanded JSON-LD form (its keys are full IRIs such as "
    f"'{AS_NS}#actor'); send it compacted with the ActivityStreams context (AS2 Core 2.1)"
)


def _is_expanded(doc: Any) -> bool:
    """Tell whether a node spells its properties as full ActivityStreams IRIs."""
    return isinstance(doc, dict) and any(
        isinstance(key, str) and key.startswith(AS_NS + "#") for key in doc
    )


def _check_bounds(doc: dict[str, Any]) -> None:
    """Reject documents nested too deep or too large to be worth reading (iteratively)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise ParseError(f"document is nested deeper than {MAX_DEPTH} levels")
        if nodes > MAX_NODES:
            raise ParseError(f"document has more than {MAX_NODES} values")
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)


def _actor(doc: dict[str, Any], types: list[str]) -> ActorDoc:
    """Build an ActorDoc from a checked document."""
    kind = next((name for name in types if name in ACTOR_TYPES), None)
    if kind is None:
        raise ParseError(f"'type' must be an actor type, not {types[0]!r}")
    actor_id = _require_iri(doc, "id")
    if doc.get("inbox") is None:
        raise ParseError("actor has no inbox")
    endpoints = doc.get("endpoints")
    shared_inbox = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    summary = text_of(doc.get("summary"), doc.get("summaryMap"))
    _, hashtags, emojis = _tags(doc)
    return ActorDoc(
        id=actor_id,
        type=kind,
        inbox=_require_iri(doc, "inbox"),
        preferred_username=string_of(doc.get("preferredUsername")),
        name=_plain(doc.get("name"), doc.get("nameMap")),
        summary_html=content_to_html(summary, _guess_summary_type(summary)),
        url=url_of(doc.get("url")),
        outbox=iri_of(doc.get("outbox")),
        # Discourse puts sharedInbox on the actor itself rather than under endpoints.
        shared_inbox=iri_of(shared_inbox) or iri_of(doc.get("sharedInbox")),
        followers=iri_of(doc.get("followers")),
        following=iri_of(doc.get("following")),
        featured=iri_of(doc.get("featured")),
        icon_url=image_url_of(doc.get("icon")),
        image_url=image_url_of(doc.get("image")),
        public_keys=_public_keys(doc, actor_id),
        manually_approves_followers=doc.get("manuallyApprovesFollowers") is True,
        discoverable=bool_of(doc.get("discoverable")),
        indexable=bool_of(doc.get("indexable")),
        published=datetime_of(doc.get("published")),
        attachments=_property_values(doc),
        hashtags=hashtags,
        emojis=emojis,
        moved_to=iri_of(doc.get("movedTo")),
        also_known_as=iris_of(doc.get("alsoKnownAs")),
        raw=doc,
    )


def _activity(doc: dict[str, Any], types: list[str]) -> ActivityDoc:
    """Build an ActivityDoc from a checked document."""
    kind = next((name for name in types if name in ACTIVITY_TYPES), types[0])
    activity_id = _require_iri(doc, "id")
    actor = _actor_id(doc.get("actor"))
    objects = [item for item in as_list(doc.get("object")) if isinstance(item, str | dict)]
    embedded = objects[0] if objects else None
    if embedded is None and kind not in INTRANSITIVE_ACTIVITY_TYPES:
        raise ParseError("activity has no object")
    if isinstance(embedded, str):
        embedded = iri_of(embedded)
        if embedded is None:
            raise ParseError("'object' must be an absolute https or http IRI")
    elif embedded is not None and (named := id_of(embedded)) and iri_of(embedded) is None:
        # An id that is there but unusable would otherwise read as "no id" and slip past the
        # origin checks that compare hosts.
        raise ParseError(f"the object's id {_clip(named)} is not an absolute https or http IRI")
    object_types = types_of(embedded) if isinstance(embedded, dict) else []
    return ActivityDoc(
        id=activity_id,
        type=kind,
        actor=actor,
        object=embedded,
        object_id=iri_of(embedded),
        object_type=object_types[0] if object_types else None,
        object_ids=iris_of(objects),
        target=iri_of(first(doc.get("target"))),
        to=_addresses(doc, "to"),
        cc=_addresses(doc, "cc"),
        audience=_addresses(doc, "audience"),
        published=datetime_of(doc.get("published")),
        summary=_plain(doc.get("summary"), doc.get("summaryMap")),
        content=_plain(doc.get("content"), doc.get("contentMap")),
        raw=doc,
    )


def _object(doc: dict[str, Any], types: list[str]) -> ObjectDoc:
    """Build an ObjectDoc from a checked document."""
    kind = next((name for name in types if name in POST_LIKE_TYPES), types[0])
    if kind in ACTOR_TYPES or kind in ACTIVITY_TYPES or kind in COLLECTION_TYPES:
        raise ParseError(f"'type' must be an object type, not {kind!r}")
    object_id = _require_iri(doc, "id")
    authors, primary = _authors(doc.get("attributedTo"))
    # Pleroma and Mobilizon also name the creating actor in `actor`.
    primary = primary or iri_of(first(doc.get("actor")))
    if primary is None and kind != ObjectType.TOMBSTONE:
        raise ParseError("object has no attributedTo")
    mentions, hashtags, emojis = _tags(doc)
    return ObjectDoc(
        id=object_id,
        type=kind,
        attributed_to=primary,
        attributed_to_all=authors,
        content_html=_content_html(doc),
        name=_plain(doc.get("name"), doc.get("nameMap")),
        summary=_plain(doc.get("summary"), doc.get("summaryMap")),
        sensitive=doc.get("sensitive") is True,
        in_reply_to=iri_of(first(doc.get("inReplyTo"))),
        url=url_of(doc.get("url")),
        published=datetime_of(doc.get("published")),
        updated=datetime_of(doc.get("updated")),
        to=_addresses(doc, "to"),
        cc=_addresses(doc, "cc"),
        audience=_addresses(doc, "audience"),
        mentions=mentions,
        hashtags=hashtags,
        emojis=emojis,
        attachments=_attachments(doc),
        language=language_of(doc),
        conversation=conversation_of(doc),
        quote_url=next(filter(None, (iri_of(doc.get(key)) for key in _QUOTE_KEYS)), None),
        event=_event(doc) if kind == ObjectType.EVENT else None,
        raw=doc,
    )


def _collection(doc: dict[str, Any], types: list[str], *, require_id: bool) -> CollectionDoc:
    """Build a CollectionDoc; embedded first pages may lack an id (Mastodon's replies do)."""
    kind = next((name for name in types if name in COLLECTION_TYPES), None)
    if kind is None:
        raise ParseError(f"'type' must be a collection type, not {types[0]!r}")
    first_raw = doc.get("first")
    first_page = None
    if isinstance(first_raw, dict) and COLLECTION_TYPES.intersection(types_of(first_raw)):
        first_page = _collection(first_raw, types_of(first_raw), require_id=False)
    raw_items = doc["orderedItems"] if "orderedItems" in doc else doc.get("items")
    items: list[str | dict[str, Any]] = []
    for item in as_list(raw_items)[:MAX_COLLECTION_ITEMS]:
        if isinstance(item, dict):
            items.append(item)
        elif (iri := iri_of(item)) is not None:
            items.append(iri)
    return CollectionDoc(
        id=_require_iri(doc, "id") if require_id else iri_of(doc.get("id")),
        type=kind,
        total_items=int_of(doc.get("totalItems")),
        first=iri_of(first_raw),
        first_page=first_page,
        next=iri_of(doc.get("next")),
        part_of=iri_of(doc.get("partOf")),
        items=tuple(items),
        raw=doc,
    )


def _clip(text: str, limit: int = 200) -> str:
    """Quote a remote value for an error message, cut to a readable length."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _require_iri(doc: dict[str, Any], key: str) -> str:
    """Return `doc[key]` as an IRI, or raise saying it is missing or malformed."""
    value = doc.get(key)
    if value is None and key == "id":
        value = doc.get("@id")  # the JSON-LD keyword that the AS2 context aliases as `id`
    if value is None:
        raise ParseError(f"document has no {key!r}")
    iri = id_of(value)
    if not is_absolute_iri(iri):
        raise ParseError(f"{key!r} must be an absolute https or http IRI")
    assert iri is not None
    return iri


def _actor_id(value: Any) -> str:
    """Return the activity's actor: the first person-like entry if `actor` is a list."""
    entries = as_list(value)
    preferred = [e for e in entries if _AUTHOR_TYPES.intersection(types_of(e))]
    for entry in [*preferred, *entries]:
        if (iri := iri_of(entry)) is not None:
            return iri
    if not entries:
        raise ParseError("activity has no actor")
    raise ParseError("'actor' must be an absolute https or http IRI")


def _authors(value: Any) -> tuple[tuple[str, ...], str | None]:
    """Return every author IRI and the primary one: a person before a group (PeerTube)."""
    entries = as_list(value)
    authors = iris_of(entries)
    people = [iri_of(e) for e in entries if _AUTHOR_TYPES.intersection(types_of(e))]
    primary = next(filter(None, people), authors[0] if authors else None)
    return authors, primary


def _addresses(doc: dict[str, Any], key: str) -> tuple[str, ...]:
    """Return an addressing field's IRIs, with Public's aliases spelled out in full."""
    entries = as_list(doc.get(key))
    if len(entries) > MAX_ADDRESSEES:
        raise ParseError(f"{key!r} has more than {MAX_ADDRESSEES} addressees")
    ids = (PUBLIC if iri in PUBLIC_ALIASES else iri for iri in ids_of(entries))
    return tuple(dict.fromkeys(iri for iri in ids if is_absolute_iri(iri)))


def _plain(value: Any, lang_map: Any = None) -> str | None:
    """Return a natural-language value as plain text (markup removed, entities decoded)."""
    return html_to_text(text_of(value, lang_map) or "") or None


def _guess_summary_type(summary: str | None) -> str | None:
    """Return text/plain for a bio that is plain text: PeerTube and lotide send those."""
    # An HTML bio has tags; a plain one has raw line breaks and no "<" at all.
    return "text/plain" if summary and "\n" in summary and "<" not in summary else None


def _content_html(doc: dict[str, Any]) -> str:
    """Return an object's content as sanitised HTML, falling back to its `source`."""
    content = text_of(doc.get("content"), doc.get("contentMap"))
    if content is not None:
        return content_to_html(content, doc.get("mediaType"))
    source = doc.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        return content_to_html(source["content"], source.get("mediaType") or "text/plain")
    return ""


def _public_keys(doc: dict[str, Any], actor_id: str) -> tuple[PublicKeyDoc, ...]:
    """Return the actor's RSA keys (`publicKey`) and FEP-521a keys (`assertionMethod`)."""
    keys: list[PublicKeyDoc] = []
    for entry in as_list(doc.get("publicKey"))[:_MAX_KEYS]:
        pem = entry.get("publicKeyPem") if isinstance(entry, dict) else None
        key_id = iri_of(entry.get("id")) if isinstance(entry, dict) else None
        if key_id and isinstance(pem, str) and 0 < len(pem) <= _MAX_PEM_CHARS:
            keys.append(PublicKeyDoc(key_id, iri_of(entry.get("owner")) or actor_id, pem=pem))
    for entry in as_list(doc.get("assertionMethod"))[:_MAX_KEYS]:
        multibase = entry.get("publicKeyMultibase") if isinstance(entry, dict) else None
        key_id = iri_of(entry.get("id")) if isinstance(entry, dict) else None
        if key_id and isinstance(multibase, str) and 0 < len(multibase) <= _MAX_PEM_CHARS:
            owner = iri_of(entry.get("controller")) or actor_id
            keys.append(PublicKeyDoc(key_id, owner, multibase=multibase))
    return tuple(keys)


def _property_values(doc: dict[str, Any]) -> tuple[PropertyValueDoc, ...]:
    """Return an actor's profile fields."""
    fields = []
    for entry in as_list(doc.get("attachment"))[:MAX_ATTACHMENTS]:
        if ObjectType.PROPERTY_VALUE in types_of(entry):
            name = _plain(entry.get("name"), entry.get("nameMap"))
            value = text_of(entry.get("value"))
            if name and value is not None:
                fields.append(PropertyValueDoc(name, sanitize_html(value)))
    return tuple(fields)


def _tags(
    doc: dict[str, Any],
) -> tuple[tuple[MentionDoc, ...], tuple[str, ...], tuple[EmojiDoc, ...]]:
    """Return the mentions, hashtag names (without '#') and custom emojis of `tag`."""
    mentions: dict[str, MentionDoc] = {}
    hashtags: dict[str, None] = {}
    emojis: list[EmojiDoc] = []
    for entry in as_list(doc.get("tag"))[:MAX_TAGS]:
        types = types_of(entry)
        name = string_of(entry.get("name")) if isinstance(entry, dict) else None
        if LinkType.MENTION in types and (href := iri_of(entry.get("href"))) is not None:
            mentions.setdefault(href, MentionDoc(href, name))
        elif LinkType.HASHTAG in types and name and name.lstrip("#"):
            hashtags.setdefault(name.lstrip("#"), None)
        elif ObjectType.EMOJI in types and name:
            icon = entry.get("icon")
            icon_url = url_of(icon.get("url")) if isinstance(icon, dict) else None
            if icon_url is not None:
                emojis.append(EmojiDoc(name, icon_url, iri_of(entry.get("id"))))
    return tuple(mentions.values()), tuple(hashtags), tuple(emojis)


def _attachments(doc: dict[str, Any]) -> tuple[AttachmentDoc, ...]:
    """Return an object's media and link attachments (those with a usable URL)."""
    attachments = []
    for entry in as_list(doc.get("attachment"))[:MAX_ATTACHMENTS]:
        if not isinstance(entry, dict):
            if (url := iri_of(entry)) is not None:
                attachments.append(AttachmentDoc(LinkType.LINK.value, url))
            continue
        types = types_of(entry) or [ObjectType.DOCUMENT.value]
        url = url_of(entry.get("url")) or iri_of(entry.get("href"))
        if url is None or ObjectType.PROPERTY_VALUE in types:
            continue
        media_type = entry.get("mediaType")
        link = first(entry.get("url"))
        if not isinstance(media_type, str) and isinstance(link, dict):
            media_type = link.get("mediaType")
        attachments.append(
            AttachmentDoc(
                type=types[0],
                url=url,
                media_type=media_type if isinstance(media_type, str) else None,
                name=_plain(entry.get("name"), entry.get("nameMap")),
                blurhash=string_of(entry.get("blurhash")),
                width=int_of(entry.get("width")),
                height=int_of(entry.get("height")),
            )
        )
    return tuple(attachments)


def _event(doc: dict[str, Any]) -> EventDoc:
    """Return the meetup fields of an Event; it must say when it starts."""
    start_time = datetime_of(doc.get("startTime"))
    if start_time is None:
        raise ParseError("event has no startTime")
    capacity = int_of(doc.get("maximumAttendeeCapacity"))
    status = string_of(doc.get("ical:status")) or string_of(doc.get("status"))
    join_mode = string_of(doc.get("joinMode"))
    return EventDoc(
        start_time=start_time,
        end_time=datetime_of(doc.get("endTime")),
        timezone=string_of(doc.get("timezone")),
        location=_place(first(doc.get("location"))),
        join_mode=join_mode.lower() if join_mode else None,
        maximum_attendee_capacity=capacity or None,
        remaining_attendee_capacity=int_of(doc.get("remainingAttendeeCapacity")),
        participant_count=int_of(doc.get("participantCount")),
        is_online=doc.get("isOnline") is True,
        status=status.upper() if status else None,
        anonymous_participation_enabled=bool_of(doc.get("anonymousParticipationEnabled")),
        category=string_of(doc.get("category")),
    )


def _place(value: Any) -> PlaceDoc | None:
    """Return a Place with its postal address; a bare string is taken as its name."""
    if isinstance(value, str):
        return PlaceDoc(name=_plain(value))
    if not isinstance(value, dict):
        return None
    address = value.get("address")
    parts = address if isinstance(address, dict) else {}
    return PlaceDoc(
        id=iri_of(value.get("id")),
        name=_plain(value.get("name"), value.get("nameMap")),
        street_address=string_of(address) or string_of(parts.get("streetAddress")),
        locality=string_of(parts.get("addressLocality")),
        region=string_of(parts.get("addressRegion")),
        postal_code=string_of(parts.get("postalCode")),
        country=string_of(parts.get("addressCountry")),
        latitude=float_of(value.get("latitude"), 90.0),
        longitude=float_of(value.get("longitude"), 180.0),
    )
