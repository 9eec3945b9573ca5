"""Timelines: home, public (local or everything known) and hashtag, newest first, unranked.

docs.joinmastodon.org/methods/timelines/. Pages are cut by post id; the Link header points to
older (`max_id`) and newer (`min_id`) pages.
"""

from __future__ import annotations

from quart import Response

from fediverse.api import render
from fediverse.api.auth import bearer, signed_in, viewer, viewer_id
from fediverse.api.paging import paged_response, read_cursor
from fediverse.api.params import Params, read_params
from fediverse.api.routing import ApiBlueprint
from fediverse.services import timelines
from fediverse.services.timelines import Page, TimelineEntry
from fediverse.web import current_context

blueprint = ApiBlueprint("timelines", __name__, url_prefix="/api/v1/timelines")


async def _respond(
    entries: list[TimelineEntry], params: Params, *, filter_local: bool = False
) -> Response:
    ids = [entry.post.id for entry in entries]
    if filter_local and params.flag("local"):
        entries = [entry for entry in entries if entry.post.local]
    if params.flag("remote"):
        # The service pages over everything; the local posts are dropped from this page.
        entries = [entry for entry in entries if not entry.post.local]
    if params.flag("only_media"):
        entries = []  # posts carry no media here
    return paged_response(await render.statuses(entries, viewer()), ids)


@blueprint.get("/home")
@bearer("read:statuses")
async def home() -> Response:
    params = await read_params()
    page = Page(**read_cursor(params).as_kwargs())
    entries = await timelines.home(current_context(), signed_in().actor.id, page)
    return await _respond(entries, params)


@blueprint.get("/public")
@bearer("read:statuses", optional=True)
async def public() -> Response:
    params = await read_params()
    page = Page(**read_cursor(params).as_kwargs())
    entries = await timelines.public(
        current_context(), page, local_only=params.flag("local"), viewer_actor_id=viewer_id()
    )
    return await _respond(entries, params)


@blueprint.get("/tag/<hashtag>")
@bearer("read:statuses", optional=True)
async def tag(hashtag: str) -> Response:
    params = await read_params()
    page = Page(**read_cursor(params).as_kwargs())
    entries = await timelines.tag(current_context(), hashtag, page, viewer_actor_id=viewer_id())
    return await _respond(entries, params, filter_local=True)
