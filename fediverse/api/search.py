"""Search (docs.joinmastodon.org/methods/search/#v2): accounts, hashtags, and statuses by URL.

With `resolve=true` (signed-in only, as on Mastodon) a handle is looked up with WebFinger and a
URL is fetched, so people and posts on other servers can be found and followed. Without it only
what this server already knows is searched. There is no full-text search of statuses.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Response

from fediverse.api import entities, render
from fediverse.api.auth import bearer, viewer, viewer_id
from fediverse.api.params import read_params
from fediverse.api.routing import ApiBlueprint
from fediverse.errors import FediverseError, Unprocessable
from fediverse.services import directory, posts, remote_actors, remote_posts
from fediverse.services.context import Context
from fediverse.store.tables import Actor, Post
from fediverse.web import current_context, json_response

log = logging.getLogger(__name__)
blueprint = ApiBlueprint("search", __name__)

TYPES = ("accounts", "hashtags", "statuses")


def _is_handle(query: str) -> bool:
    name, _, host = query.lstrip("@").partition("@")
    return bool(name and host) and not any(c in query for c in " /?#")


async def _resolve_url(ctx: Context, url: str, resolve: bool) -> tuple[Actor | None, Post | None]:
    """Find the account or post at a URL: known ones first, then (resolve) by fetching."""
    actor = await directory.known_account_by_uri(ctx, url)
    if actor is not None:
        return actor, None
    post_id = await directory.known_post_id(ctx, url)
    if post_id is not None:
        return None, await posts.get_visible_post(ctx, post_id, viewer_id())
    if not resolve:
        return None, None
    try:
        return await remote_actors.get_actor(ctx, url), None
    except FediverseError:
        pass  # not an actor; perhaps a post
    post = await remote_posts.fetch_post(ctx, url)
    return None, await posts.get_visible_post(ctx, post.id, viewer_id())


async def _search(
    ctx: Context, query: str, kind: str | None, *, resolve: bool, limit: int, offset: int
) -> dict[str, Any]:
    found_accounts: list[Actor] = []
    found_posts: list[Post] = []
    found_tags: list[str] = []

    def wants(name: str) -> bool:
        return kind in (None, name)

    if query.startswith(("https://", "http://")):
        try:
            actor, post = await _resolve_url(ctx, query, resolve)
        except FediverseError as exc:
            log.info("search could not resolve a URL", extra={"url": query, "reason": exc.message})
            actor, post = None, None
        found_accounts = [actor] if actor is not None and wants("accounts") else []
        found_posts = [post] if post is not None and wants("statuses") else []
    else:
        if wants("accounts") and resolve and _is_handle(query) and offset == 0:
            try:
                found_accounts = [await remote_actors.resolve_handle_to_actor(ctx, query)]
            except FediverseError as exc:
                log.info("search could not resolve a handle", extra={"reason": exc.message})
        if wants("accounts") and not found_accounts:
            found_accounts = await directory.find_accounts(ctx, query, limit=limit, offset=offset)
        if wants("hashtags") and not query.startswith("@"):
            found_tags = await directory.find_tags(ctx, query, limit=limit, offset=offset)
    return {
        "accounts": await render.accounts(found_accounts),
        "statuses": await render.statuses_of(found_posts, viewer()),
        "hashtags": [entities.search_tag_json(name, ctx.uris) for name in found_tags],
    }


@blueprint.get("/api/v2/search")
@bearer("read:search", optional=True)
async def search() -> Response:
    params = await read_params()
    query = (params.text("q") or "").strip()
    if not query:
        raise Unprocessable("Give something to search for as q.")
    kind = params.text("type") or None
    if kind is not None and kind not in TYPES:
        raise Unprocessable("type must be accounts, hashtags or statuses.")
    limit = max(1, min(params.integer("limit") or 20, 40))
    result = await _search(
        current_context(),
        query,
        kind,
        # Only signed-in people make this server fetch from others (as on Mastodon).
        resolve=params.flag("resolve") and viewer() is not None,
        limit=limit,
        offset=params.integer("offset") or 0,
    )
    return json_response(result)
