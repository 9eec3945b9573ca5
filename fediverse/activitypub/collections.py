"""Builders for OrderedCollection documents and their pages (ActivityStreams 2.0 §5.3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fediverse.activitypub.jsonld import ACTIVITY_CONTEXT


def page_url(collection_id: str, **params: str | int) -> str:
    """Return the URL of a page of a collection (`?page=true&max_id=...`)."""
    query = "&".join(f"{key}={value}" for key, value in {"page": "true", **params}.items())
    return f"{collection_id}?{query}"


def build_ordered_collection(collection_id: str, total_items: int) -> dict[str, Any]:
    """Build the collection head: its size and a link to its first page."""
    return {
        "@context": ACTIVITY_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total_items,
        "first": page_url(collection_id),
    }


def build_ordered_collection_page(
    collection_id: str,
    *,
    page_id: str,
    items: Sequence[Any],
    next_page: str | None,
    prev_page: str | None = None,
    total_items: int | None = None,
) -> dict[str, Any]:
    """Build one page; `next_page` is None on the last page."""
    page: dict[str, Any] = {
        "@context": ACTIVITY_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "orderedItems": list(items),
    }
    if total_items is not None:
        page["totalItems"] = total_items
    if next_page is not None:
        page["next"] = next_page
    if prev_page is not None:
        page["prev"] = prev_page
    return page
