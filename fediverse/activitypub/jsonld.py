"""Read compacted ActivityStreams JSON-LD the way every major server does, and ship its contexts.

We do not run JSON-LD expansion: Mastodon, Pleroma, Lemmy and friends all interpret the
compacted AS2 form directly (AS2 Core §2.1 allows it), and so do we. The helpers below are
what the parsers use to read remote values without ever raising on odd shapes (a string
where a list was expected, a Link where an IRI was, numbers, nulls, nested lists): the
`*_of` readers return None (or an empty result) for anything they cannot use.

The context documents we might need are bundled in `contexts/` and served by
`load_context`; nothing here touches the network.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

from fediverse.activitypub.vocab import (
    AS_NS,
    DATA_INTEGRITY_V1,
    IDENTITY_V1,
    MULTIKEY_V1,
    SECURITY_V1,
    LinkType,
)

__all__ = [
    "ACTIVITY_CONTEXT",
    "EXTENSION_TERMS",
    "KNOWN_CONTEXTS",
    "MAX_IRI_CHARS",
    "UnknownContextError",
    "as_list",
    "bool_of",
    "conversation_of",
    "datetime_of",
    "first",
    "float_of",
    "has_context_term",
    "id_of",
    "ids_of",
    "image_url_of",
    "int_of",
    "iri_of",
    "iris_of",
    "is_absolute_iri",
    "language_of",
    "load_context",
    "string_of",
    "text_of",
    "types_of",
    "url_of",
]

# Terms other servers need to read our documents: Mastodon's profile and post extensions,
# schema.org profile fields, FEP-1b12 group terms as Lemmy names them, and Mobilizon's event
# extensions (https://docs.joinmobilizon.org/contribute/activity_pub/). Unlike Mobilizon we
# leave `location` to AS2 (as:location), so JSON-LD processors still find an Event's Place.
EXTENSION_TERMS: Final[dict[str, Any]] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "Emoji": "toot:Emoji",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "lemmy": "https://join-lemmy.org/ns#",
    "moderators": {"@id": "lemmy:moderators", "@type": "@id"},
    "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
    "pt": "https://joinpeertube.org/ns#",
    "commentsEnabled": {"@id": "pt:commentsEnabled", "@type": "schema:Boolean"},
    "mz": "https://joinmobilizon.org/ns#",
    "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    "participantCount": {"@id": "mz:participantCount", "@type": "schema:Integer"},
    "maximumAttendeeCapacity": "schema:maximumAttendeeCapacity",
    "remainingAttendeeCapacity": "schema:remainingAttendeeCapacity",
    "timezone": {"@id": "mz:timezone", "@type": "schema:Text"},
    "isOnline": {"@id": "mz:isOnline", "@type": "schema:Boolean"},
    "anonymousParticipationEnabled": {
        "@id": "mz:anonymousParticipationEnabled",
        "@type": "schema:Boolean",
    },
    "participationMessage": {"@id": "mz:participationMessage", "@type": "schema:Text"},
    "members": {"@id": "mz:members", "@type": "@id"},
    "memberCount": {"@id": "mz:memberCount", "@type": "schema:Integer"},
    "events": {"@id": "mz:events", "@type": "@id"},
    "category": "schema:category",
    "inLanguage": "schema:inLanguage",
    "address": {"@id": "schema:address", "@type": "schema:PostalAddress"},
    "PostalAddress": "schema:PostalAddress",
    "streetAddress": "schema:streetAddress",
    "addressLocality": "schema:addressLocality",
    "addressRegion": "schema:addressRegion",
    "postalCode": "schema:postalCode",
    "addressCountry": "schema:addressCountry",
    "ical": "http://www.w3.org/2002/12/cal/ical#",
    "status": "ical:status",
}

# The `@context` of every document we publish. Treat it as read-only: builders embed it as is.
ACTIVITY_CONTEXT: Final[list[Any]] = [AS_NS, SECURITY_V1, EXTENSION_TERMS]

# URL -> bundled file. Servers spell the AS2 context several ways (with .jsonld, over http).
KNOWN_CONTEXTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        AS_NS: "activitystreams.json",
        AS_NS + ".jsonld": "activitystreams.json",
        "http://www.w3.org/ns/activitystreams": "activitystreams.json",
        SECURITY_V1: "security-v1.json",
        DATA_INTEGRITY_V1: "security-data-integrity-v1.json",
        MULTIKEY_V1: "security-multikey-v1.json",
        IDENTITY_V1: "identity-v1.json",
    }
)

# The store keeps IRIs in 2,048-character columns; a longer one is refused here, not by the
# database (PostgreSQL would raise where SQLite silently keeps it).
MAX_IRI_CHARS: Final = 2_048
_IRI_FORBIDDEN = re.compile(r"[\x00-\x20\x7f<>\"{}|\\^`]")
_AS_PREFIXES: Final = (AS_NS + "#", "as:")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,4}")  # BCP 47, loosely
# Longest language tag kept: a language, script and region ("zh-Hant-TW") fit; private-use and
# extension subtags beyond it are dropped whole, never cut in the middle.
MAX_LANGUAGE_CHARS = 16
_LINK_TYPE_NAMES: Final = frozenset(LinkType)


class UnknownContextError(LookupError):
    """Signal a JSON-LD context URL we do not ship (and will not fetch)."""


def load_context(url: str) -> dict[str, Any]:
    """Return a fresh copy of the bundled JSON-LD context document published at `url`."""
    filename = KNOWN_CONTEXTS.get(url.strip()) if isinstance(url, str) else None
    if filename is None:
        raise UnknownContextError(f"no bundled JSON-LD context for {url!r}; we never fetch one")
    # Callers may mutate what they get; the cached original stays pristine.
    return copy.deepcopy(_read_context(filename))


@functools.cache
def _read_context(filename: str) -> dict[str, Any]:
    """Read and parse one bundled context file (once per process)."""
    text = (
        resources.files("fediverse.activitypub").joinpath("contexts", filename).read_text("utf-8")
    )
    document = json.loads(text)
    if not isinstance(document, dict):  # pragma: no cover - guards our own shipped files
        raise UnknownContextError(f"bundled context {filename} is not a JSON object")
    return document


def as_list(value: Any) -> list[Any]:
    """Return `value` as a list: None becomes [], a list is copied, anything else is wrapped."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def first(value: Any) -> Any:
    """Return the first element of a value that may be a list, or the value itself."""
    items = as_list(value)
    return items[0] if items else None


def id_of(value: Any) -> str | None:
    """Return the IRI a value stands for: a string, an object's `id`, or a Link's `href`."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if not isinstance(value, dict):
        return None
    ident = value["id"] if "id" in value else value.get("@id")  # the keyword `id` aliases
    href = value.get("href")
    # A Link (or Mention/Hashtag) points at its href; its own id, if any, names the Link.
    if isinstance(href, str) and (not isinstance(ident, str) or _is_link(value)):
        return href.strip() or None
    if isinstance(ident, str):
        return ident.strip() or None
    return None


def ids_of(value: Any) -> list[str]:
    """Return the IRIs of every element of a value that may be a list."""
    return [ident for ident in map(id_of, as_list(value)) if ident is not None]


def types_of(value: Any) -> list[str]:
    """Return a document's `type` names (a string or a list), without an AS2 prefix."""
    raw = None
    if isinstance(value, dict):
        # `type` is the AS2 context's alias for the JSON-LD keyword, which is also valid.
        raw = value["type"] if "type" in value else value.get("@type")
    names: list[str] = []
    for name in as_list(raw):
        if isinstance(name, str) and name:
            for prefix in _AS_PREFIXES:
                if name.startswith(prefix):
                    name = name[len(prefix) :]
                    break
            names.append(name)
    return names


def text_of(value: Any, lang_map: Any = None) -> str | None:
    """Return a natural-language value: the plain string, else the first entry of its map."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("@value"), str):
        return str(value["@value"])
    if isinstance(lang_map, dict):
        for text in lang_map.values():
            if isinstance(text, str):
                return text
    return None


def has_context_term(doc: Any, term: str) -> bool:
    """Return whether a document's `@context` defines `term` in one of its inline objects."""
    context = doc.get("@context") if isinstance(doc, dict) else None
    return any(isinstance(entry, dict) and term in entry for entry in as_list(context))


def is_absolute_iri(value: Any) -> bool:
    """Return whether `value` is an absolute http(s) IRI with a host and no credentials."""
    if not isinstance(value, str) or not value or len(value) > MAX_IRI_CHARS:
        return False
    if _IRI_FORBIDDEN.search(value):
        return False
    try:
        parts = urlsplit(value)
        hostname, _ = parts.hostname, parts.port  # .port raises on a malformed port
    except ValueError:
        return False
    # Credentials in an IRI only serve to make "https://good.example@evil.example/" look safe.
    return parts.scheme in ("http", "https") and bool(hostname) and "@" not in parts.netloc


def iri_of(value: Any) -> str | None:
    """Return the IRI a value stands for if it is an absolute http(s) IRI, else None."""
    iri = id_of(value)
    return iri if is_absolute_iri(iri) else None


def iris_of(value: Any) -> tuple[str, ...]:
    """Return the absolute http(s) IRIs among a value's entries, without duplicates."""
    return tuple(dict.fromkeys(iri for iri in ids_of(value) if is_absolute_iri(iri)))


def string_of(value: Any) -> str | None:
    """Return a non-empty, stripped string, or None."""
    return (value.strip() or None) if isinstance(value, str) else None


def bool_of(value: Any) -> bool | None:
    """Return a JSON boolean, or None for anything else (no "true" strings)."""
    return value if isinstance(value, bool) else None


def int_of(value: Any) -> int | None:
    """Return a non-negative integer (a JSON number or digit string below 2**31), or None."""
    if (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.isdigit() and len(value) < 11
    ):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value < 2**31 else None


def float_of(value: Any, limit: float) -> float | None:
    """Return a number within ±limit (a latitude or longitude, say), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if -limit <= value <= limit else None


def datetime_of(value: Any) -> datetime | None:
    """Parse an xsd:dateTime into an aware UTC datetime; None if absent or malformed."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:  # AS2 requires an offset; a missing one is read as UTC.
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        return None


def url_of(value: Any) -> str | None:
    """Return the best http(s) URL of a `url` value, preferring an HTML page (PeerTube)."""
    fallback = None
    for entry in as_list(value):
        if isinstance(entry, dict):
            url = iri_of(entry.get("href")) or iri_of(entry.get("url"))
        else:
            url = iri_of(entry)
        if url is not None and isinstance(entry, dict) and entry.get("mediaType") == "text/html":
            return url
        fallback = fallback or url
    return fallback


def image_url_of(value: Any) -> str | None:
    """Return the URL of the widest image of an `icon` or `image` value."""
    best: tuple[int, str] | None = None
    for entry in as_list(value):
        url = url_of(entry.get("url")) if isinstance(entry, dict) else iri_of(entry)
        width = (int_of(entry.get("width")) if isinstance(entry, dict) else None) or 0
        if url is not None and (best is None or width > best[0]):
            best = (width, url)
    return best[1] if best else None


def language_of(doc: Any) -> str | None:
    """Return a document's content language: a contentMap key, Lemmy/PeerTube `language`,
    Mobilizon `inLanguage`, or the context's `@language`; "und" counts as none."""
    if not isinstance(doc, dict):
        return None
    content_map = doc.get("contentMap")
    candidates: list[Any] = list(content_map) if isinstance(content_map, dict) else []
    for entry in as_list(doc.get("language")):
        candidates.append(entry.get("identifier") if isinstance(entry, dict) else entry)
    candidates.append(doc.get("inLanguage"))
    for context in as_list(doc.get("@context")):
        if isinstance(context, dict):
            candidates.append(context.get("@language"))
    for candidate in candidates:
        valid = isinstance(candidate, str) and _LANGUAGE_TAG.fullmatch(candidate) is not None
        if valid and candidate.lower() != "und":
            return _shortened_language(str(candidate))
    return None


def _shortened_language(tag: str) -> str:
    """Return the longest run of a tag's leading subtags that fits MAX_LANGUAGE_CHARS."""
    kept = tag.split("-")[0]
    for subtag in tag.split("-")[1:]:
        if len(kept) + 1 + len(subtag) > MAX_LANGUAGE_CHARS:
            break
        kept += "-" + subtag
    return kept


def conversation_of(doc: Any) -> str | None:
    """Return the thread a document belongs to: its `context` IRI, else Mastodon's
    `conversation` (often a tag: URI), else GNU social's `inConversation`."""
    if not isinstance(doc, dict):
        return None
    context = iri_of(doc.get("context"))
    if context is not None:
        return context
    for key in ("conversation", "inConversation"):
        value = doc.get(key)
        if isinstance(value, str) and 0 < len(value) <= MAX_IRI_CHARS:
            return value
    return None


def _is_link(value: dict[str, Any]) -> bool:
    """Return whether a dict is typed as a Link or one of its subtypes."""
    return any(name in _LINK_TYPE_NAMES for name in types_of(value))
