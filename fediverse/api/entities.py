"""Mastodon's JSON entities, built from our rows (docs.joinmastodon.org/entities/).

We speak the API of Mastodon 4.3 (`COMPATIBLE_VERSION`): each entity has exactly the attributes
that version documents, minus the ones that need features we lack (Web Push's `vapid_key`), plus
our extension `reach` on the author's own statuses. Ids are strings; times are UTC with
milliseconds; HTML is the sanitised HTML we stored.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fediverse.services.directory import AccountStats, Relationship
from fediverse.services.oauth import IssuedToken, redirect_uris_of
from fediverse.services.posts import Version
from fediverse.store.tables import Actor, Notification, OAuthApp, Post
from fediverse.uris import Uris

COMPATIBLE_VERSION = "4.3.0"
# `api_versions.mastodon` of Mastodon 4.3 (docs.joinmastodon.org/entities/Instance#api-versions).
API_VERSION = 2
DEFAULT_AVATAR = "/static/avatar.png"
DEFAULT_HEADER = "/static/header.png"

# Our visibility names are ActivityStreams-flavoured; Mastodon calls followers-only "private".
VISIBILITY_TO_API = {"public": "public", "unlisted": "unlisted", "followers": "private",
                     "direct": "direct"}  # fmt: skip
VISIBILITY_FROM_API = {"public": "public", "unlisted": "unlisted", "private": "followers",
                       "followers": "followers", "direct": "direct"}  # fmt: skip
# Mastodon has no separate reply notification: a reply is a mention.
NOTIFICATION_TYPE = {"reply": "mention"}


def format_datetime(moment: datetime) -> str:
    """Format an instant as Mastodon does: `2019-12-08T03:48:33.901Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_date(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d") if moment is not None else None


def acct_of(actor: Actor) -> str:
    """Return `user` for a local account and `user@domain` for a remote one."""
    return actor.username if actor.local else f"{actor.username}@{actor.domain}"


def account_json(actor: Actor, stats: AccountStats, uris: Uris) -> dict[str, Any]:
    """Build an Account."""
    avatar = actor.icon_url or uris.absolute(DEFAULT_AVATAR)
    header = actor.image_url or uris.absolute(DEFAULT_HEADER)
    created = actor.published_at
    return {
        "id": str(actor.id),
        "username": actor.username,
        "acct": acct_of(actor),
        "url": actor.url or actor.uri,
        "uri": actor.uri,
        "display_name": actor.display_name,
        "note": actor.summary_html,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "locked": actor.manually_approves_followers,
        "fields": [
            {"name": name, "value": value, "verified_at": None} for name, value in stats.fields
        ],
        "emojis": [],
        "bot": actor.kind in ("Application", "Service"),
        "group": actor.kind == "Group",
        "discoverable": actor.discoverable,
        "indexable": actor.discoverable,
        "hide_collections": False,
        "roles": [],
        # Since Mastodon 3.4 the creation time is given as midnight of its day.
        "created_at": created.strftime("%Y-%m-%dT00:00:00.000Z"),
        "last_status_at": format_date(stats.last_status_at),
        "statuses_count": stats.statuses,
        "followers_count": stats.followers,
        "following_count": stats.following,
    }


def credential_account_json(
    actor: Actor, stats: AccountStats, uris: Uris, *, note_text: str, follow_requests: int,
    is_admin: bool,
) -> dict[str, Any]:  # fmt: skip
    """Build a CredentialAccount: the Account plus `source` and `role` for its owner."""
    document = account_json(actor, stats, uris)
    document["source"] = {
        "privacy": "public",
        "sensitive": False,
        "language": "",
        "note": note_text,
        "fields": [],
        "follow_requests_count": follow_requests,
    }
    document["role"] = {
        "id": "3" if is_admin else "-99",
        "name": "Admin" if is_admin else "",
        "permissions": "1" if is_admin else "0",
        "color": "",
        "highlighted": is_admin,
    }
    return document


def relationship_json(target_id: int, relation: Relationship) -> dict[str, Any]:
    """Build a Relationship (muting, endorsing and notes do not exist here: always off)."""
    return {
        "id": str(target_id),
        "following": relation.following,
        "showing_reblogs": relation.following or relation.requested,
        "notifying": False,
        "languages": None,
        "followed_by": relation.followed_by,
        "blocking": relation.blocking,
        "blocked_by": relation.blocked_by,
        "muting": False,
        "muting_notifications": False,
        "requested": relation.requested,
        "requested_by": relation.requested_by,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


def mention_json(actor: Actor) -> dict[str, Any]:
    return {
        "id": str(actor.id),
        "username": actor.username,
        "url": actor.url or actor.uri,
        "acct": acct_of(actor),
    }


def tag_json(name: str, uris: Uris) -> dict[str, Any]:
    """Build a Status::Tag."""
    return {"name": name, "url": uris.absolute(f"/tags/{name}")}


def search_tag_json(name: str, uris: Uris) -> dict[str, Any]:
    """Build a Tag as search returns it (no usage history is kept)."""
    return {**tag_json(name, uris), "id": name, "history": []}


def content_of(post: Post) -> str:
    """Return the HTML shown for a post; an article's title leads its text."""
    if post.type == "Article" and post.name:
        return f"<p><strong>{html.escape(post.name)}</strong></p>{post.content_html}"
    return post.content_html


def status_json(
    post: Post,
    account: dict[str, Any],
    uris: Uris,
    *,
    mentions: Sequence[Actor] = (),
    tags: Sequence[str] = (),
    in_reply_to_account_id: int | None = None,
    reblog: dict[str, Any] | None = None,
    viewer_flags: dict[str, bool] | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """Build a Status; `viewer_flags` (favourited, reblogged) only for a signed-in viewer."""
    is_boost = reblog is not None
    document: dict[str, Any] = {
        "id": str(post.id),
        "uri": post.uri,
        "url": post.url or post.uri,
        "created_at": format_datetime(post.published_at),
        "account": account,
        "content": "" if is_boost else content_of(post),
        "visibility": VISIBILITY_TO_API.get(post.visibility, "public"),
        "sensitive": False if is_boost else post.sensitive,
        "spoiler_text": "" if is_boost else post.summary or "",
        "media_attachments": [],
        "mentions": [mention_json(actor) for actor in mentions],
        "tags": [tag_json(name, uris) for name in tags],
        "emojis": [],
        "reblogs_count": 0 if is_boost else post.boosts_count,
        "favourites_count": 0 if is_boost else post.likes_count,
        "replies_count": 0 if is_boost else post.replies_count,
        "in_reply_to_id": str(post.in_reply_to_id) if post.in_reply_to_id else None,
        "in_reply_to_account_id": (
            str(in_reply_to_account_id) if in_reply_to_account_id is not None else None
        ),
        "reblog": reblog,
        "poll": None,
        "card": None,
        "language": post.language,
        "text": text,
        "edited_at": format_datetime(post.edited_at) if post.edited_at else None,
    }
    if viewer_flags is not None:
        document.update(
            favourited=viewer_flags.get("favourited", False),
            reblogged=viewer_flags.get("reblogged", False),
            muted=False,
            bookmarked=False,
            pinned=False,
            filtered=[],
        )
    return document


def status_edit_json(version: Version, account: dict[str, Any]) -> dict[str, Any]:
    """Build a StatusEdit (one version in a post's history)."""
    return {
        "content": version.content_html,
        "spoiler_text": version.summary or "",
        "sensitive": version.sensitive,
        "created_at": format_datetime(version.created_at),
        "account": account,
        "media_attachments": [],
        "emojis": [],
    }


def notification_json(
    row: Notification, account: dict[str, Any], status: dict[str, Any] | None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": str(row.id),
        "type": NOTIFICATION_TYPE.get(row.kind, row.kind),
        "group_key": f"ungrouped-{row.id}",
        "created_at": format_datetime(row.created_at),
        "account": account,
    }
    if status is not None:
        document["status"] = status
    return document


def application_json(app: OAuthApp) -> dict[str, Any]:
    """Build an Application (what `apps/verify_credentials` shows)."""
    uris = redirect_uris_of(app)
    return {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
    }


def credential_application_json(app: OAuthApp, client_secret: str) -> dict[str, Any]:
    """Build a CredentialApplication: the Application plus its client credentials."""
    return {**application_json(app), "client_id": app.client_id, "client_secret": client_secret}


def token_json(issued: IssuedToken) -> dict[str, Any]:
    return {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": " ".join(issued.scopes),
        "created_at": int(issued.created_at.timestamp()),
    }


def error_json(message: str, description: str | None = None) -> dict[str, Any]:
    document = {"error": message}
    if description is not None:
        document["error_description"] = description
    return document
