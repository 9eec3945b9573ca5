"""Search: a handle (resolved through WebFinger), a URL (an account or a post, fetched when
new), a hashtag, or the start of a name.

Only signed-in members make this server ask other servers, as on Mastodon; everyone else
searches what is already known here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from quart import Blueprint, Response, request

from fediverse.errors import FediverseError
from fediverse.services import directory, posts, remote_actors, remote_posts, timelines
from fediverse.services.auth import SignedIn
from fediverse.services.context import Context
from fediverse.store.tables import Actor, Post
from fediverse.ui import forms, render
from fediverse.ui.session import current_viewer
from fediverse.ui.views import ActorView, PostView, actor_view, post_views
from fediverse.web import current_context

log = logging.getLogger(__name__)
blueprint = Blueprint("search", __name__)

MAX_RESULTS = 20
MAX_QUERY = 500


@dataclass
class Results:
    accounts: list[Actor] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    problem: str | None = None


def is_handle(query: str) -> bool:
    name, _, host = query.lstrip("@").partition("@")
    return bool(name and host) and not any(char in query for char in " /?#")


async def _by_url(ctx: Context, url: str, viewer: SignedIn | None) -> Results:
    viewer_id = viewer.actor_id if viewer else None
    actor = await directory.known_account_by_uri(ctx, url)
    if actor is not None:
        return Results(accounts=[actor])
    post_id = await directory.known_post_id(ctx, url)
    if post_id is not None:
        return Results(posts=[await posts.get_visible_post(ctx, post_id, viewer_id)])
    if viewer is None:
        return Results(problem="Sign in to look up accounts and posts on other servers.")
    try:
        return Results(accounts=[await remote_actors.get_actor(ctx, url)])
    except FediverseError:
        pass  # not an actor; perhaps a post
    post = await remote_posts.fetch_post(ctx, url)
    return Results(posts=[await posts.get_visible_post(ctx, post.id, viewer_id)])


async def _by_text(ctx: Context, query: str, viewer: SignedIn | None) -> Results:
    results = Results()
    if is_handle(query) and viewer is not None:
        try:
            results.accounts = [await remote_actors.resolve_handle_to_actor(ctx, query)]
        except FediverseError as error:
            results.problem = error.message
    if not results.accounts:
        results.accounts = await directory.find_accounts(ctx, query, limit=MAX_RESULTS)
    if not query.startswith("@"):
        results.tags = await directory.find_tags(ctx, query, limit=MAX_RESULTS)
    return results


async def find(ctx: Context, query: str, viewer: SignedIn | None) -> Results:
    """Search for what the query looks like; a failure to reach a server is a message."""
    try:
        if query.startswith(("https://", "http://")):
            return await _by_url(ctx, query, viewer)
        return await _by_text(ctx, query, viewer)
    except FediverseError as error:
        if error.status >= 500:
            raise
        log.info("search found nothing", extra={"reason": error.message})
        return Results(problem=error.message)


@dataclass(frozen=True)
class AccountResult:
    who: ActorView
    following: bool
    requested: bool
    is_self: bool


@blueprint.get("/search")
async def search_page() -> Response:
    ctx = current_context()
    viewer = await current_viewer()
    query = (request.args.get("q") or "").strip()[:MAX_QUERY]
    if query.startswith("#") and len(query) > 1 and " " not in query:
        return forms.redirect(f"/tags/{query[1:].lower()}")
    results = await find(ctx, query, viewer) if query else Results()
    accounts = [account for account in results.accounts if account.kind != "Application"]
    relations = (
        await directory.relationships(ctx, viewer.actor_id, [a.id for a in accounts])
        if viewer is not None
        else {}
    )
    found_posts: list[PostView] = []
    if results.posts:
        entries = await timelines.entries_for(
            ctx, results.posts, viewer.actor_id if viewer else None
        )
        found_posts = await post_views(ctx, entries, viewer)
    return await render.page(
        "search.html",
        query=query,
        accounts=[
            AccountResult(
                who=actor_view(ctx, account),
                following=relations[account.id].following if account.id in relations else False,
                requested=relations[account.id].requested if account.id in relations else False,
                is_self=viewer is not None and viewer.actor_id == account.id,
            )
            for account in accounts
        ],
        posts=found_posts,
        tags=results.tags,
        problem=results.problem,
        signed_in=viewer is not None,
    )
