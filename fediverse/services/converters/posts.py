"""Convert post rows to ActivityStreams objects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fediverse.activitypub.jsonld import ACTIVITY_CONTEXT
from fediverse.store.tables import Actor, Post


def format_time(moment: Any) -> str:
    """Format an instant as xsd:dateTime in UTC with milliseconds (what Mastodon also sends)."""
    return str(moment.strftime("%Y-%m-%dT%H:%M:%S.")) + f"{moment.microsecond // 1000:03d}Z"


def post_to_ap(
    post: Post,
    author: Actor,
    *,
    mentions: Sequence[Actor] = (),
    tags: Sequence[str] = (),
    tag_url: Callable[[str], str] | None = None,
    with_context: bool = True,
) -> dict[str, Any]:
    """Build the Note or Article Mastodon reads for one of our posts, with its tags."""
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
    tag_list: list[dict[str, str]] = [
        {"type": "Mention", "href": actor.uri, "name": f"@{actor.username}@{actor.domain}"}
        for actor in mentions
    ]
    for name in tags:
        entry = {"type": "Hashtag", "name": f"#{name}"}
        if tag_url is not None:
            entry["href"] = tag_url(name)
        tag_list.append(entry)
    if tag_list:
        doc["tag"] = tag_list
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
