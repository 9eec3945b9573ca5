"""Paging the way Mastodon clients expect: `max_id`, `since_id`, `min_id`, `limit`, and a
`Link` header with `next` (older) and `prev` (newer) URLs.

docs.joinmastodon.org/api/guidelines/#pagination: `max_id` pages back, `min_id` pages forward
from a point (oldest first, shown newest first), `since_id` gives the newest items after a point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from quart import Response, request

from fediverse.api.params import Params
from fediverse.web import current_context, json_response

CURSOR_PARAMS = ("max_id", "since_id", "min_id")


@dataclass(frozen=True)
class Cursor:
    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "max_id": self.max_id,
            "since_id": self.since_id,
            "min_id": self.min_id,
            "limit": self.limit,
        }


def read_cursor(params: Params, *, default: int = 20, maximum: int = 40) -> Cursor:
    """Read the paging parameters; `limit` is clamped to 1..maximum."""
    limit = params.integer("limit")
    return Cursor(
        max_id=params.integer("max_id"),
        since_id=params.integer("since_id"),
        min_id=params.integer("min_id"),
        limit=max(1, min(limit if limit is not None else default, maximum)),
    )


def _page_url(name: str, value: int | str) -> str:
    kept = [
        (key, item)
        for key in request.args
        if key not in CURSOR_PARAMS
        for item in request.args.getlist(key)
    ]
    kept.append((name, str(value)))
    return current_context().uris.absolute(request.path) + "?" + urlencode(kept)


def link_header(ids: Sequence[int | str]) -> str | None:
    """Return the Link header for a page whose items have these cursor ids, newest first."""
    if not ids:
        return None
    return (
        f'<{_page_url("max_id", ids[-1])}>; rel="next", <{_page_url("min_id", ids[0])}>; rel="prev"'
    )


def paged_response(documents: list[Any], ids: Sequence[int | str]) -> Response:
    """Render a JSON list with its Link header."""
    response = json_response(documents)
    link = link_header(ids)
    if link is not None:
        response.headers["Link"] = link
    return response
