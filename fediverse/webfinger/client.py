"""Resolve `user@host` handles to ActivityPub actor IRIs through WebFinger (RFC 7033)."""

from __future__ import annotations

from urllib.parse import quote

from fediverse.activitypub.client import (
    JRD_ACCEPT,
    ConnectFetchError,
    FederationClient,
    FetchError,
)
from fediverse.webfinger.jrd import AcctResource, find_self_link, parse_resource


class HandleNotFound(LookupError):
    """Raise when a handle cannot be resolved; the message says why and what to try."""


def parse_handle(handle: str) -> AcctResource:
    """Parse `@user@host`, `user@host` or `acct:user@host`."""
    resource = parse_resource(handle)
    if not isinstance(resource, AcctResource):
        raise HandleNotFound(f"{handle!r} is a URL, not a handle like user@host")
    return resource


async def resolve_handle(
    http: FederationClient, handle: AcctResource, *, allow_plain_http: bool = False
) -> str:
    """Return the actor IRI a handle's WebFinger document points to.

    HTTPS only, as every Fediverse server does; `allow_plain_http` (local development with
    `allow_private_addresses`) falls back to http:// when nothing answers on https://.
    """
    schemes = ("https", "http") if allow_plain_http else ("https",)
    last_error: FetchError | None = None
    for scheme in schemes:
        url = (
            f"{scheme}://{handle.host}/.well-known/webfinger?resource="
            f"{quote(str(handle), safe=':@')}"
        )
        try:
            document = await http.fetch_document(url, accept=JRD_ACCEPT)
        except ConnectFetchError as exc:
            last_error = exc
            continue
        except FetchError as exc:
            raise HandleNotFound(f"WebFinger for {handle} failed: {exc.reason}") from exc
        actor_iri = find_self_link(document.json())
        if actor_iri is None:
            raise HandleNotFound(f"{handle.host} knows {handle} but names no ActivityPub actor")
        return actor_iri
    reason = last_error.reason if last_error else "no answer"
    raise HandleNotFound(f"cannot reach {handle.host} to look up {handle}: {reason}")
