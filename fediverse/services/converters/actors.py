"""Convert actor rows to ActivityStreams documents (and remote documents to rows)."""

from __future__ import annotations

from typing import Any

from fediverse.activitypub.jsonld import ACTIVITY_CONTEXT
from fediverse.store.tables import Actor


def _format_time(actor: Actor) -> str:
    return actor.published_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _image(url: str) -> dict[str, Any]:
    return {"type": "Image", "url": url}


def actor_to_ap(
    actor: Actor,
    *,
    attachment: list[dict[str, Any]] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Build the actor document Mastodon, Lemmy and Mobilizon read for a local actor.

    `attachment` (PropertyValue profile fields) and `tags` (Hashtags) come from the profile.
    """
    assert actor.local, "only local actors are rendered by us"
    doc: dict[str, Any] = {
        "@context": ACTIVITY_CONTEXT,
        "id": actor.uri,
        "type": actor.kind,
        "preferredUsername": actor.username,
        "name": actor.display_name or actor.username,
        "summary": actor.summary_html,
        "inbox": actor.inbox_url,
        "outbox": actor.outbox_url,
        "followers": actor.followers_url,
        "following": actor.following_url,
        "featured": actor.featured_url,
        "endpoints": {"sharedInbox": actor.shared_inbox_url},
        "manuallyApprovesFollowers": actor.manually_approves_followers,
        "discoverable": actor.discoverable,
        "indexable": actor.discoverable,
        "published": _format_time(actor),
        "publicKey": {
            "id": actor.public_key_id,
            "owner": actor.uri,
            "publicKeyPem": actor.public_key_pem,
        },
    }
    if actor.url:
        doc["url"] = actor.url
    if actor.icon_url:
        doc["icon"] = _image(actor.icon_url)
    if actor.image_url:
        doc["image"] = _image(actor.image_url)
    if attachment:
        doc["attachment"] = attachment
    if tags:
        doc["tag"] = tags
    if actor.kind == "Application":
        # Nobody should follow or message the instance actor; it only signs fetches.
        doc.pop("featured")
    return doc
