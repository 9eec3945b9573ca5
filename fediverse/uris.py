"""The one place that builds every IRI and route path this instance serves.

Routes are registered from the `*_ROUTE` templates and IRIs built by `Uris`, so an id we hand
out and the route that answers for it cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

INSTANCE_ACTOR_ROUTE = "/actor"
SHARED_INBOX_ROUTE = "/inbox"
USER_ROUTE = "/users/<name>"
GROUP_ROUTE = "/groups/<name>"
ACTOR_COLLECTION_ROUTES = {
    "inbox": "/inbox",
    "outbox": "/outbox",
    "followers": "/followers",
    "following": "/following",
    "featured": "/collections/featured",
}
OBJECT_ROUTE = "/objects/<int:object_id>"
ACTIVITY_ROUTE = "/activities/<int:activity_id>"

WEBFINGER_ROUTE = "/.well-known/webfinger"
HOST_META_ROUTE = "/.well-known/host-meta"
NODEINFO_DISCOVERY_ROUTE = "/.well-known/nodeinfo"
NODEINFO_ROUTE = "/nodeinfo/<version>"

# Actor kinds and the path segment that holds them. Users and groups share one name space
# (a name is taken by at most one of them) but live under different paths, as Lemmy and
# Mobilizon do, so a group's URL says what it is.
PATH_SEGMENT_BY_KIND = {"Person": "users", "Group": "groups"}
KIND_BY_PATH_SEGMENT = {segment: kind for kind, segment in PATH_SEGMENT_BY_KIND.items()}

INSTANCE_ACTOR_NAME = "instance.actor"


@dataclass(frozen=True)
class Uris:
    """Build absolute IRIs for this instance from its base URL."""

    base_url: str

    @property
    def host(self) -> str:
        """Return the host (with port if any) of the base URL."""
        return urlsplit(self.base_url).netloc

    def absolute(self, path: str) -> str:
        return self.base_url + path

    def instance_actor(self) -> str:
        return self.absolute(INSTANCE_ACTOR_ROUTE)

    def shared_inbox(self) -> str:
        return self.absolute(SHARED_INBOX_ROUTE)

    def actor(self, kind: str, name: str) -> str:
        """Return the id of a local actor; the instance actor has its own fixed path."""
        if kind == "Application":
            return self.instance_actor()
        return self.absolute(f"/{PATH_SEGMENT_BY_KIND[kind]}/{name}")

    def actor_collection(self, actor_iri: str, collection: str) -> str:
        return actor_iri + ACTOR_COLLECTION_ROUTES[collection]

    def key_id(self, actor_iri: str) -> str:
        return actor_iri + "#main-key"

    def object(self, object_id: int) -> str:
        return self.absolute(f"/objects/{object_id}")

    def activity(self, activity_id: int) -> str:
        return self.absolute(f"/activities/{activity_id}")

    def profile_page(self, kind: str, name: str) -> str:
        """Return the human-facing page of a local actor (same URL: content negotiation)."""
        return self.actor(kind, name)

    def is_local(self, iri: str) -> bool:
        """Tell whether an IRI belongs to this instance (same scheme, host and port)."""
        return iri == self.base_url or iri.startswith(self.base_url + "/")

    def parse_local_actor(self, iri: str) -> tuple[str, str] | None:
        """Return (kind, name) for one of our actor IRIs, or None."""
        if iri == self.instance_actor():
            return ("Application", INSTANCE_ACTOR_NAME)
        if not self.is_local(iri):
            return None
        parts = iri[len(self.base_url) :].split("/")
        if len(parts) == 3 and parts[0] == "" and parts[1] in KIND_BY_PATH_SEGMENT and parts[2]:
            return (KIND_BY_PATH_SEGMENT[parts[1]], parts[2])
        return None
