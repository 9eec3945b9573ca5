"""Posts: writing (a note or an article, with visibility, content warning, reply), the post
and thread page, and liking, boosting and deleting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response, request

from fediverse.activitypub.sanitize import html_to_text
from fediverse.errors import FediverseError
from fediverse.services import interactions, posts, timelines
from fediverse.services.auth import SignedIn
from fediverse.services.context import Context
from fediverse.services.posts import MAX_ARTICLE_CHARS, MAX_NOTE_CHARS, VISIBILITIES, NewPost
from fediverse.store.tables import Post
from fediverse.ui import forms, render
from fediverse.ui.session import current_viewer, require_viewer
from fediverse.ui.views import PostView, post_href, post_views, thread_depths
from fediverse.web import current_context, json_response, query_int

blueprint = Blueprint("posts", __name__)

ACTIONS: dict[str, Callable[[Context, str, int], Awaitable[Post]]] = {
    "like": interactions.like,
    "unlike": interactions.unlike,
    "boost": interactions.boost,
    "unboost": interactions.unboost,
}


async def _views_of(ctx: Context, found: list[Post], viewer: SignedIn | None) -> list[PostView]:
    entries = await timelines.entries_for(ctx, found, viewer.actor_id if viewer else None)
    return await post_views(ctx, entries, viewer)


def _reply_defaults(parent: PostView) -> dict[str, str]:
    """Start a reply by mentioning its author, as privately as the post replied to."""
    mention = "" if parent.own else parent.author.handle + " "
    visibility = parent.visibility if parent.visibility in VISIBILITIES else "public"
    return {"text": mention, "visibility": visibility, "summary": parent.summary or ""}


async def _compose(
    viewer: SignedIn,
    *,
    reply_to: int | None,
    values: dict[str, str],
    message: str | None = None,
    status: int = 200,
) -> Response:
    ctx = current_context()
    parent = None
    if reply_to is not None:
        found = await posts.get_visible_post(ctx, reply_to, viewer.actor_id)
        parent = (await _views_of(ctx, [found], viewer))[0]
        if not values:
            values = _reply_defaults(parent)
    return await render.page(
        "compose.html",
        status=status,
        parent=parent,
        values=values,
        message=message,
        visibilities=VISIBILITIES,
        note_limit=MAX_NOTE_CHARS,
        article_limit=MAX_ARTICLE_CHARS,
    )


@blueprint.get("/compose")
async def compose_page() -> Response:
    viewer = await require_viewer()
    values = {"kind": "article"} if request.args.get("kind") == "article" else {}
    return await _compose(viewer, reply_to=query_int("in_reply_to"), values=values)


@blueprint.post("/compose")
async def publish() -> Response:
    viewer = await require_viewer()
    form = await forms.read_form()
    values = {
        name: forms.text(form, name, limit=MAX_ARTICLE_CHARS * 2)
        for name in ("text", "title", "summary", "visibility", "kind")
    }
    reply_to = form.get("in_reply_to", "")
    reply_to_id = int(reply_to) if reply_to.isdigit() and len(reply_to) < 20 else None
    new = NewPost(
        text=values["text"],
        visibility=values["visibility"] or "public",
        summary=values["summary"] or None,
        sensitive=bool(values["summary"]) or form.get("sensitive") == "on",
        in_reply_to_id=reply_to_id,
        kind="Article" if values["kind"] == "article" else "Note",
        title=values["title"] or None,
    )
    try:
        published = await posts.create_post(current_context(), viewer.username, new)
    except FediverseError as error:
        if error.status >= 500:
            raise
        return await _compose(
            viewer, reply_to=reply_to_id, values=values, message=error.message, status=error.status
        )
    return forms.redirect(forms.safe_next(form.get("next"), post_href(published.post)))


def _page_title(view: PostView) -> str:
    words = view.title or html_to_text(view.content_html)
    short = words if len(words) <= 60 else words[:59].rstrip() + "…"
    return f"{view.author.name}: “{short}”" if short else view.author.name


async def post_page(post_id: int) -> Response:
    """Render a post with its thread: the posts it answers, then the replies, nested."""
    ctx = current_context()
    viewer = await current_viewer()
    viewer_id = viewer.actor_id if viewer else None
    post = await posts.get_visible_post(ctx, post_id, viewer_id)
    if post.boost_of_id is not None:
        return forms.redirect(f"/posts/{post.boost_of_id}")
    ancestors, descendants = await posts.thread(ctx, post_id, viewer_id)
    views = await _views_of(ctx, [*ancestors, post, *descendants], viewer)
    split = len(ancestors)
    before, focus, after = views[:split], views[split], views[split + 1 :]
    depths = thread_depths(post, descendants)
    for view in after:
        view.depth = min(depths.get(view.id, 1), 4)
    return await render.page(
        "post.html",
        focus=focus,
        ancestors=before,
        replies=after,
        title=_page_title(focus),
        alternate=post.uri if post.local and post.visibility in ("public", "unlisted") else None,
        reply_values=_reply_defaults(focus) if viewer else {},
    )


@blueprint.get("/posts/<int:post_id>")
async def show(post_id: int) -> Response:
    return await post_page(post_id)


@blueprint.post("/posts/<int:post_id>/<any(like, unlike, boost, unboost):action>")
async def interact(post_id: int, action: str) -> Response:
    viewer = await require_viewer()
    ctx = current_context()
    form = await forms.read_form()
    post = await ACTIONS[action](ctx, viewer.username, post_id)
    if forms.wants_json():
        fresh = await posts.get_visible_post(ctx, post.id, viewer.actor_id)
        view = (await _views_of(ctx, [fresh], viewer))[0]
        state: dict[str, Any] = {
            "liked": view.liked,
            "boosted": view.boosted,
            "likes": view.likes,
            "boosts": view.boosts,
        }
        return json_response(state)
    return forms.redirect(forms.safe_next(form.get("next"), f"/posts/{post.id}"))


@blueprint.post("/posts/<int:post_id>/delete")
async def delete(post_id: int) -> Response:
    viewer = await require_viewer()
    form = await forms.read_form()
    await posts.delete_post(current_context(), viewer.username, post_id)
    back = forms.safe_next(form.get("next"))
    return forms.redirect("/" if back.startswith(f"/posts/{post_id}") else back)
