"""Remote actors: resolve handles, fetch and cache actor documents and their keys.

Every fetch goes through the instance's signed, SSRF-guarded client. A cached actor is trusted
for `remote_actor_cache_hours`; a signature that fails to verify refetches the key once
(`resolve_key(..., refresh=True)`), which is how key rotation reaches us.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from fediverse.activitypub.client import FetchError
from fediverse.activitypub.keys import (
    KeyFormatError,
    load_public_key_cached,
    public_key_from_multibase,
)
from fediverse.activitypub.origin import host_of, same_origin
from fediverse.activitypub.parse import ActorDoc, ParseError, PublicKeyDoc, parse_actor
from fediverse.activitypub.signatures import ResolvedKey, SignatureError
from fediverse.errors import NotFound, Unprocessable
from fediverse.services.context import Context
from fediverse.store import actors as actor_queries
from fediverse.store.tables import Actor
from fediverse.store.types import utcnow
from fediverse.webfinger.client import HandleNotFound, parse_handle, resolve_handle
from fediverse.webfinger.jrd import ResourceError

log = logging.getLogger(__name__)


class RemoteActorError(Unprocessable):
    """Raise when a remote actor cannot be fetched or is unusable; the message says why."""


def _apply_document(actor: Actor, doc: ActorDoc) -> None:
    """Copy what we keep of a parsed remote actor document onto its row."""
    actor.kind = doc.type
    actor.username = (doc.preferred_username or "")[:255]
    actor.username_key = actor.username.lower()
    actor.domain = host_of(doc.id)
    actor.display_name = (doc.name or "")[:255]
    actor.summary_html = doc.summary_html or ""
    actor.url = doc.url
    actor.inbox_url = doc.inbox
    actor.outbox_url = doc.outbox
    actor.shared_inbox_url = doc.shared_inbox
    actor.followers_url = doc.followers
    actor.following_url = doc.following
    actor.featured_url = doc.featured
    actor.icon_url = doc.icon_url
    actor.image_url = doc.image_url
    actor.manually_approves_followers = doc.manually_approves_followers
    actor.discoverable = bool(doc.discoverable)
    main_key = _main_pem_key(doc)
    actor.public_key_id = main_key.id if main_key else None
    actor.public_key_pem = main_key.pem if main_key else None
    if doc.published is not None:
        actor.published_at = doc.published
    actor.raw = doc.raw
    actor.fetched_at = utcnow()
    actor.deleted_at = None


def _main_pem_key(doc: ActorDoc) -> PublicKeyDoc | None:
    """Return the first PEM key of an actor document that loads, or None if it has none.

    Raise RemoteActorError when it lists keys and none of them loads (PEM or FEP-521a
    multibase). Keys are checked on the way in: a cached key nobody can load would turn every
    later request of that actor into an error until the cache expired.
    """
    problem = None
    for key in doc.public_keys:
        if not key.pem:
            continue
        try:
            load_public_key_cached(key.pem)
        except KeyFormatError as exc:
            problem = problem or f"{key.id}: {exc}"
            continue
        return key
    if problem is not None and not any(key.multibase for key in doc.public_keys):
        raise RemoteActorError(f"{doc.id} publishes no usable public key ({problem}).")
    return None


async def store_actor_document(ctx: Context, doc: ActorDoc) -> Actor:
    """Insert or refresh the cached row of a remote actor from a parsed document.

    Raise RemoteActorError, storing nothing, for one of our own actors or a document whose
    keys cannot be loaded.
    """
    if ctx.uris.is_local(doc.id):
        raise RemoteActorError(f"{doc.id} claims to be one of our own actors.")
    _main_pem_key(doc)  # refuse before anything is written
    async with ctx.sessions() as session:
        actor = await actor_queries.get_by_uri(session, doc.id)
        if actor is None:
            actor = Actor(uri=doc.id, local=False)
            session.add(actor)
        _apply_document(actor, doc)
        try:
            await session.commit()
        except IntegrityError:
            # Another task stored the same actor a moment ago: update that row instead.
            await session.rollback()
            actor = await actor_queries.get_by_uri(session, doc.id)
            if actor is None:
                raise
            _apply_document(actor, doc)
            await session.commit()
        return actor


async def fetch_actor_document(ctx: Context, iri: str) -> ActorDoc:
    """Fetch and parse a remote actor, refusing anything that is not one."""
    try:
        raw = await ctx.http.fetch_json(iri)
    except FetchError as exc:
        raise RemoteActorError(f"Could not fetch {iri}: {exc.reason}") from exc
    try:
        return parse_actor(raw)
    except ParseError as exc:
        raise RemoteActorError(f"{iri} is not a usable actor: {exc}") from exc


async def get_actor(ctx: Context, iri: str, *, refresh: bool = False) -> Actor:
    """Return a known actor by IRI, fetching it when unknown, stale or `refresh` is asked."""
    async with ctx.sessions() as session:
        actor = await actor_queries.get_by_uri(session, iri)
    if actor is not None and (actor.local or (not refresh and _fresh(ctx, actor))):
        return actor
    if ctx.uris.is_local(iri):
        raise NotFound(f"No actor at {iri}.")
    return await store_actor_document(ctx, await fetch_actor_document(ctx, iri))


def _fresh(ctx: Context, actor: Actor) -> bool:
    if actor.fetched_at is None:
        return False
    max_age = timedelta(hours=ctx.config.federation.remote_actor_cache_hours)
    return utcnow() - actor.fetched_at < max_age


async def resolve_handle_to_actor(ctx: Context, handle: str) -> Actor:
    """Return the actor for `user@host` (local or remote), asking WebFinger when needed."""
    try:
        acct = parse_handle(handle)
    except (ResourceError, HandleNotFound) as exc:
        raise Unprocessable(f"{handle!r} is not a handle like user@host.") from exc
    if acct.host in (ctx.domain.lower(), ctx.uris.host.lower()):
        async with ctx.sessions() as session:
            local = await actor_queries.get_local_by_name(session, acct.username)
        if local is None:
            raise NotFound(f"No account called {acct.username!r} on this instance.")
        return local
    async with ctx.sessions() as session:
        known = await actor_queries.get_by_handle(session, acct.username, acct.host)
    if known is not None and _fresh(ctx, known):
        return known
    try:
        iri = await resolve_handle(
            ctx.http, acct, allow_plain_http=ctx.config.federation.allow_private_addresses
        )
    except HandleNotFound as exc:
        raise NotFound(str(exc)) from exc
    return await get_actor(ctx, iri, refresh=True)


async def resolve_or_fetch(ctx: Context, handle_or_iri: str) -> Actor:
    """Accept either a handle or an actor IRI (what a person pastes into a search box)."""
    if handle_or_iri.startswith(("https://", "http://")):
        return await get_actor(ctx, handle_or_iri)
    return await resolve_handle_to_actor(ctx, handle_or_iri)


def _key_from_document(doc: ActorDoc, key_id: str) -> ResolvedKey | None:
    """Return the key `key_id` from an actor document, if the actor lists it.

    A keyId equal to the actor id itself (a few servers sign that way) means its only key.
    """
    candidates = tuple(key for key in doc.public_keys if key.id == key_id)
    if not candidates and key_id == doc.id:
        candidates = doc.public_keys[:1]
    problem = None
    for key in candidates:
        try:
            if key.pem:
                public = load_public_key_cached(key.pem)
            elif key.multibase:
                public = public_key_from_multibase(key.multibase)
            else:
                continue
        except KeyFormatError as exc:
            log.info("unusable key in actor document", extra={"key_id": key.id})
            problem = problem or str(exc)
            continue
        return ResolvedKey(key_id=key_id, owner=doc.id, public_key=public)
    if problem is not None:
        # The actor was found and lists the key, so "unknown key" would mislead the sender.
        raise SignatureError(
            f"the key {key_id[:200]!r} that {doc.id} publishes is not a usable public key "
            f"({problem[:200]})"
        )
    return None


async def resolve_key(ctx: Context, key_id: str, refresh: bool) -> ResolvedKey | None:
    """Return the public key named by a signature's keyId, and the actor that owns it.

    The key is looked up in our cache first; otherwise (or on `refresh`) the keyId URL is
    fetched. It may return the actor itself (Mastodon: `actor#main-key`), or a key document
    whose `owner` is the actor (GoToSocial: `actor/main-key`); either way the key is only
    trusted if the owning actor's own document lists it. Raise SignatureError, with the
    reason, when the actor lists the key but it cannot be loaded.
    """
    if not refresh:
        async with ctx.sessions() as session:
            actor = await actor_queries.get_by_key_id(session, key_id)
        if actor is not None and actor.public_key_pem and (actor.local or _fresh(ctx, actor)):
            try:
                public = load_public_key_cached(actor.public_key_pem)
            except KeyFormatError:
                # Cached before keys were checked on the way in: refetch instead of failing.
                log.info("unusable cached key, refetching", extra={"key_id": key_id})
            else:
                return ResolvedKey(key_id=key_id, owner=actor.uri, public_key=public)
    try:
        doc = await _fetch_key_owner(ctx, key_id)
    except (RemoteActorError, NotFound) as exc:
        log.info("cannot resolve signing key", extra={"key_id": key_id, "reason": str(exc)})
        return None
    resolved = _key_from_document(doc, key_id)
    if resolved is not None:
        try:
            await store_actor_document(ctx, doc)
        except RemoteActorError as exc:
            raise SignatureError(str(exc)) from None
    return resolved


async def _fetch_key_owner(ctx: Context, key_id: str) -> ActorDoc:
    """Fetch the actor that owns `key_id`, following a key document's `owner` once."""
    document_url = key_id.split("#", 1)[0]
    if ctx.uris.is_local(document_url):
        raise NotFound("local keys are never fetched")
    try:
        raw: dict[str, Any] = await ctx.http.fetch_json(document_url)
    except FetchError as exc:
        raise RemoteActorError(f"Could not fetch key {key_id}: {exc.reason}") from exc
    try:
        return parse_actor(raw)
    except ParseError:
        pass
    owner = raw.get("owner") or raw.get("controller")
    if not isinstance(owner, str) or not same_origin(owner, document_url):
        raise RemoteActorError(f"{key_id} is neither an actor nor a key with a same-host owner")
    return await fetch_actor_document(ctx, owner)
