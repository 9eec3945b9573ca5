"""Statuses: post, read, edit, delete, threads, favourites and boosts, and the reach receipt.

docs.joinmastodon.org/methods/statuses/. `GET /api/v1/statuses/:id/reach` is ours: the full
delivery receipt of one of the viewer's own posts (the status itself carries it as `reach`).
"""

from __future__ import annotations

from quart import Response

from fediverse.api import entities, render
from fediverse.api.auth import bearer, signed_in, viewer, viewer_id
from fediverse.api.params import Params, id_param, read_params
from fediverse.api.routing import ApiBlueprint
from fediverse.errors import NotFound, Unprocessable
from fediverse.services import interactions, posts, reach
from fediverse.web import current_context, json_response

blueprint = ApiBlueprint("statuses", __name__, url_prefix="/api/v1/statuses")


def _visibility(params: Params) -> str:
    raw = params.text("visibility") or "public"
    if raw not in entities.VISIBILITY_FROM_API:
        raise Unprocessable("visibility must be public, unlisted, private or direct.")
    return entities.VISIBILITY_FROM_API[raw]


def _refuse_unsupported(params: Params) -> None:
    if params.strings("media_ids"):
        raise Unprocessable("Media attachments are not supported on this server yet.")
    if params.raw("poll") is not None or params.raw("poll[options]") is not None:
        raise Unprocessable("Polls are not supported on this server.")
    if params.text("scheduled_at"):
        raise Unprocessable("Scheduled posts are not supported on this server.")


def _reply_target(params: Params) -> int | None:
    raw = params.text("in_reply_to_id")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise NotFound(f"No post {raw} to reply to.")
    return int(raw)


async def _fresh_status(post_id: int) -> Response:
    """Render a post read again: counters are bumped in SQL, so the service's copy is stale."""
    post = await posts.get_visible_post(current_context(), post_id, viewer_id())
    return json_response(await render.status_of(post, viewer()))


@blueprint.post("")
@bearer("write:statuses")
async def create() -> Response:
    params = await read_params()
    _refuse_unsupported(params)
    title = (params.text("title") or "").strip()
    published = await posts.create_post(
        current_context(),
        signed_in().username,
        posts.NewPost(
            text=params.text("status") or "",
            visibility=_visibility(params),
            summary=params.text("spoiler_text") or None,
            sensitive=params.flag("sensitive"),
            language=params.text("language") or None,
            in_reply_to_id=_reply_target(params),
            # Our extension: a title makes the post an Article (long form, Markdown).
            kind="Article" if title else "Note",
            title=title or None,
        ),
    )
    return json_response(await render.status_of(published.post, viewer()))


@blueprint.get("/<status_id>")
@bearer("read:statuses", optional=True)
async def show(status_id: str) -> Response:
    post = await posts.get_visible_post(current_context(), id_param(status_id), viewer_id())
    return json_response(await render.status_of(post, viewer()))


@blueprint.delete("/<status_id>")
@bearer("write:statuses")
async def delete(status_id: str) -> Response:
    published = await posts.delete_post(
        current_context(), signed_in().username, id_param(status_id)
    )
    # The deleted status comes back with its source `text`, so the app can offer a redraft.
    return json_response(await render.status_of(published.post, viewer(), source_text=True))


@blueprint.put("/<status_id>")
@bearer("write:statuses")
async def edit(status_id: str) -> Response:
    params = await read_params()
    _refuse_unsupported(params)
    text = params.text("status")
    if text is None:
        raise Unprocessable("Give the new text as status.")
    # An edit replaces the status, as on Mastodon: no spoiler_text means no content warning.
    spoiler = params.text("spoiler_text") or ""
    post = await posts.edit_post(
        current_context(),
        signed_in().username,
        id_param(status_id),
        text=text,
        summary=spoiler,
        sensitive=params.flag("sensitive") or bool(spoiler),
        language=params.text("language") or None,
        title=params.text("title"),
    )
    return json_response(await render.status_of(post, viewer()))


@blueprint.get("/<status_id>/context")
@bearer("read:statuses", optional=True)
async def context(status_id: str) -> Response:
    ancestors, descendants = await posts.thread(current_context(), id_param(status_id), viewer_id())
    return json_response(
        {
            "ancestors": await render.statuses_of(ancestors, viewer()),
            "descendants": await render.statuses_of(descendants, viewer()),
        }
    )


@blueprint.get("/<status_id>/history")
@bearer("read:statuses", optional=True)
async def history(status_id: str) -> Response:
    ctx = current_context()
    post = await posts.get_visible_post(ctx, id_param(status_id), viewer_id())
    versions = await posts.post_history(ctx, post.id, viewer_id())
    document = await render.status_of(post, viewer())
    account = document["account"]
    return json_response([entities.status_edit_json(version, account) for version in versions])


@blueprint.get("/<status_id>/source")
@bearer("read:statuses")
async def source(status_id: str) -> Response:
    post = await posts.get_visible_post(current_context(), id_param(status_id), viewer_id())
    if post.author_id != signed_in().actor.id:
        raise NotFound(f"No post {status_id} of yours.")
    return json_response(
        {"id": str(post.id), "text": post.source or "", "spoiler_text": post.summary or ""}
    )


@blueprint.get("/<status_id>/reach")
@bearer("read:statuses")
async def reach_receipt(status_id: str) -> Response:
    ctx = current_context()
    post = await posts.get_visible_post(ctx, id_param(status_id), viewer_id())
    # Only the author sees how far a post got; everyone else learns nothing, not even a 403.
    if not post.local or post.author_id != signed_in().actor.id or post.boost_of_id is not None:
        raise NotFound(f"No post {status_id} of yours.")
    receipt = await reach.reach_for_post(ctx, str(post.id))
    return json_response(receipt.to_json())


@blueprint.post("/<status_id>/favourite")
@bearer("write:favourites")
async def favourite(status_id: str) -> Response:
    post = await interactions.like(current_context(), signed_in().username, id_param(status_id))
    return await _fresh_status(post.id)


@blueprint.post("/<status_id>/unfavourite")
@bearer("write:favourites")
async def unfavourite(status_id: str) -> Response:
    post = await interactions.unlike(current_context(), signed_in().username, id_param(status_id))
    return await _fresh_status(post.id)


@blueprint.post("/<status_id>/reblog")
@bearer("write:statuses")
async def reblog(status_id: str) -> Response:
    boost = await interactions.boost(current_context(), signed_in().username, id_param(status_id))
    return json_response(await render.status_of(boost, viewer()))


@blueprint.post("/<status_id>/unreblog")
@bearer("write:statuses")
async def unreblog(status_id: str) -> Response:
    post = await interactions.unboost(current_context(), signed_in().username, id_param(status_id))
    return await _fresh_status(post.id)


@blueprint.get("/<status_id>/favourited_by")
@bearer("read:accounts", optional=True)
async def favourited_by(status_id: str) -> Response:
    ctx = current_context()
    post = await posts.get_visible_post(ctx, id_param(status_id), viewer_id())
    return json_response(await render.accounts(await interactions.liked_by(ctx, post.id)))


@blueprint.get("/<status_id>/reblogged_by")
@bearer("read:accounts", optional=True)
async def reblogged_by(status_id: str) -> Response:
    ctx = current_context()
    post = await posts.get_visible_post(ctx, id_param(status_id), viewer_id())
    return json_response(await render.accounts(await interactions.boosted_by(ctx, post.id)))
