"""Convert post rows to ActivityStreams objects."""

from __future__ import annotations

from typing import Any

from fediverse.activitypub.jsonld import ACTIVITY_CONTEXT
from fediverse.store.tables import Actor, Post


def format_time(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def post_to_ap(post: Post, author: Actor, *, with_context: bool = True) -> dict[str, Any]:
    """Build the Note or Article Mastodon reads for one of our posts."""
    doc: dict[str, Any] = {
        "id": post.uri,
        "type": post.type,
        "attributedTo": author.uri,
        "content": post.content_html,
        "published": format_time(post.published_at),
        "to": list(post.to),
        "cc": list(post.cc),
        "url": post.url or post.uri,
        "sensitive": post.sensitive,
        "inReplyTo": post.in_reply_to_uri,
    }
    if post.summary:
        doc["summary"] = post.summary
    if post.name:
        doc["name"] = post.name
    if post.language:
        doc["contentMap"] = {post.language: post.content_html}
    if post.conversation:
        doc["context"] = post.conversation
    if post.edited_at is not None:
        doc["updated"] = format_time(post.edited_at)
    if with_context:
        doc = {"@context": ACTIVITY_CONTEXT, **doc}
    return doc


def tombstone_to_ap(post: Post) -> dict[str, Any]:
    """Build what a deleted post is served as (with 410 Gone)."""
    doc: dict[str, Any] = {
        "@context": ACTIVITY_CONTEXT,
        "id": post.uri,
        "type": "Tombstone",
        "formerType": post.type,
    }
    if post.deleted_at is not None:
        doc["deleted"] = format_time(post.deleted_at)
    return doc
