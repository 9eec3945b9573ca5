"""Timelines: home (chronological, with the reach of one's own posts), local, and hashtags.

Anonymous visitors get the landing page at `/` instead of a timeline.
"""

from __future__ import annotations

from urllib.parse import urlencode

from quart import Blueprint, Response, request

from fediverse.services import discovery, registration, timelines
from fediverse.services.timelines import Page, TimelineEntry
from fediverse.ui import render
from fediverse.ui.session import current_viewer
from fediverse.ui.views import post_views
from fediverse.web import current_context, query_int

blueprint = Blueprint("timeline", __name__)

PAGE_SIZE = 20


def _page() -> Page:
    return Page(max_id=query_int("max_id"), limit=PAGE_SIZE)


def older_link(entries: list[TimelineEntry]) -> str | None:
    """Return the link to the next (older) page, or None on the last page."""
    if len(entries) < PAGE_SIZE:
        return None
    args = {key: value for key, value in request.args.items() if key != "max_id"}
    args["max_id"] = str(entries[-1].post.id)
    return request.path + "?" + urlencode(args)


@blueprint.get("/")
async def home() -> Response:
    ctx = current_context()
    viewer = await current_viewer()
    if viewer is None:
        return await landing()
    entries = await timelines.home(ctx, viewer.actor_id, _page())
    return await render.page(
        "home.html",
        posts=await post_views(ctx, entries, viewer),
        older=older_link(entries),
        first_page=query_int("max_id") is None,
    )


async def landing() -> Response:
    ctx = current_context()
    usage = await discovery.instance_usage(ctx)
    mode = await registration.get_mode(ctx)
    entries = await timelines.public(ctx, Page(limit=5), local_only=True)
    return await render.page(
        "landing.html",
        usage=usage,
        mode=mode,
        posts=await post_views(ctx, entries, None),
    )


@blueprint.get("/public")
async def public() -> Response:
    ctx = current_context()
    viewer = await current_viewer()
    everywhere = request.args.get("scope") == "known"
    entries = await timelines.public(
        ctx,
        _page(),
        local_only=not everywhere,
        viewer_actor_id=viewer.actor_id if viewer else None,
    )
    return await render.page(
        "public.html",
        posts=await post_views(ctx, entries, viewer),
        older=older_link(entries),
        everywhere=everywhere,
    )


@blueprint.get("/tags/<name>")
async def tag(name: str) -> Response:
    ctx = current_context()
    viewer = await current_viewer()
    name = name.lstrip("#").lower()
    entries = await timelines.tag(
        ctx, name, _page(), viewer_actor_id=viewer.actor_id if viewer else None
    )
    return await render.page(
        "tag.html",
        tag=name,
        posts=await post_views(ctx, entries, viewer),
        older=older_link(entries),
    )
