"""WebFinger (RFC 7033) resources and JRD documents; pure, no web framework."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

JRD_MEDIA_TYPE = "application/jrd+json"
ACTIVITY_JSON = "application/activity+json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"


class ResourceError(ValueError):
    """Raise for a `resource` parameter that is not a usable acct: URI or URL."""


@dataclass(frozen=True)
class AcctResource:
    username: str
    host: str

    def __str__(self) -> str:
        return f"acct:{self.username}@{self.host}"


@dataclass(frozen=True)
class UrlResource:
    url: str


def parse_resource(resource: str) -> AcctResource | UrlResource:
    """Parse `acct:user@host`, `user@host`, `@user@host` or an http(s) URL."""
    value = unquote(resource.strip())
    if not value:
        raise ResourceError("the resource parameter is empty; use acct:user@host")
    if len(value) > 2048:
        raise ResourceError("the resource is longer than 2048 characters")
    if value.startswith(("http://", "https://")):
        parts = urlsplit(value)
        if not parts.hostname:
            raise ResourceError(f"{resource!r} is not an absolute URL")
        return UrlResource(value)
    if value.startswith("acct:"):
        value = value[len("acct:") :]
    value = value.removeprefix("@")
    username, sep, host = value.rpartition("@")
    if not sep or not username or not host or "@" in username or "/" in host or " " in value:
        raise ResourceError(f"{resource!r} is not of the form acct:user@host")
    return AcctResource(username=username, host=host.lower())


def build_actor_jrd(
    *, subject: str, actor_iri: str, profile_url: str | None, aliases: list[str] | None = None
) -> dict[str, Any]:
    """Build the JRD that points from a handle to its ActivityPub actor."""
    links: list[dict[str, Any]] = [
        {"rel": "self", "type": ACTIVITY_JSON, "href": actor_iri},
    ]
    if profile_url:
        links.insert(0, {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url})
    return {
        "subject": subject,
        "aliases": aliases if aliases is not None else [actor_iri],
        "links": links,
    }


def find_self_link(jrd: dict[str, Any]) -> str | None:
    """Return the ActivityPub actor IRI a remote JRD points to, if any."""
    links = jrd.get("links")
    if not isinstance(links, list):
        return None
    for link in links:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        media_type = str(link.get("type", ""))
        href = link.get("href")
        is_activitypub = media_type == ACTIVITY_JSON or (
            media_type.startswith("application/ld+json") and "activitystreams" in media_type
        )
        if is_activitypub and isinstance(href, str) and href.startswith(("https://", "http://")):
            return href
    return None


def build_host_meta(base_url: str) -> str:
    """Build the XRD host-meta document that points at our WebFinger endpoint."""
    template = f"{base_url}/.well-known/webfinger?resource={{uri}}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" type="application/xrd+xml" template="{template}"/>\n'
        "</XRD>\n"
    )
