"""Notifications, and the follow requests waiting for an answer."""

from __future__ import annotations

from dataclasses import dataclass

from quart import Blueprint, Response

from fediverse.errors import NotFound
from fediverse.services import directory, follows, notifications, posts, timelines
from fediverse.services.auth import SignedIn
from fediverse.services.notifications import Page
from fediverse.services.timelines import Page as TimelinePage
from fediverse.store.tables import Notification, Post
from fediverse.ui import forms, render
from fediverse.ui.session import require_viewer
from fediverse.ui.views import ActorView, PostView, actor_view, post_views
from fediverse.web import current_context, query_int

blueprint = Blueprint("notifications", __name__)

PAGE_SIZE = 30
SENTENCES = {
    "follow": "followed you",
    "follow_request": "asked to follow you",
    "mention": "mentioned you",
    "reply": "replied to your post",
    "reblog": "boosted your post",
    "favourite": "liked your post",
}
# Kinds whose post is theirs (shown in full) rather than ours (shown as a reminder).
THEIR_POSTS = ("mention", "reply")


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    sentence: str
    actor: ActorView
    post: PostView | None
    created_at: object
    full: bool


async def _posts_by_id(viewer: SignedIn, rows: list[Notification]) -> dict[int, PostView]:
    ctx = current_context()
    found: list[Post] = []
    for post_id in dict.fromkeys(row.post_id for row in rows if row.post_id is not None):
        try:
            found.append(await posts.get_visible_post(ctx, post_id, viewer.actor_id))
        except NotFound:
            continue  # deleted since, or no longer visible
    entries = await timelines.entries_for(ctx, found, viewer.actor_id)
    return {view.id: view for view in await post_views(ctx, entries, viewer)}


@blueprint.get("/notifications")
async def notifications_page() -> Response:
    viewer = await require_viewer()
    ctx = current_context()
    rows = await notifications.list_notifications(
        ctx, viewer.actor_id, Page(max_id=query_int("max_id"), limit=PAGE_SIZE)
    )
    actors = await directory.get_accounts(ctx, [row.actor_id for row in rows])
    posts_by_id = await _posts_by_id(viewer, rows)
    items = []
    for row in rows:
        actor = actors.get(row.actor_id)
        if actor is None:
            continue
        post = posts_by_id.get(row.post_id) if row.post_id is not None else None
        if row.post_id is not None and post is None:
            continue
        items.append(
            NotificationView(
                id=row.id,
                kind=row.kind,
                sentence=SENTENCES.get(row.kind, row.kind),
                actor=actor_view(ctx, actor),
                post=post,
                created_at=row.created_at,
                full=row.kind in THEIR_POSTS,
            )
        )
    return await render.page(
        "notifications.html",
        items=items,
        requests=await directory.follow_request_count(ctx, viewer.actor_id),
        older=f"?max_id={rows[-1].id}" if len(rows) == PAGE_SIZE else None,
    )


@blueprint.get("/follow-requests")
async def requests_page() -> Response:
    viewer = await require_viewer()
    ctx = current_context()
    rows = await directory.requests_page(ctx, viewer.actor_id, TimelinePage(limit=80))
    return await render.page(
        "follow_requests.html", requesters=[actor_view(ctx, actor) for _, actor in rows]
    )


@blueprint.post("/follow-requests/<any(approve, reject):decision>")
async def answer(decision: str) -> Response:
    viewer = await require_viewer()
    form = await forms.read_form()
    await follows.answer_request(
        current_context(),
        viewer.username,
        forms.text(form, "follower", limit=2048),
        approve=decision == "approve",
    )
    return forms.redirect("/follow-requests")
