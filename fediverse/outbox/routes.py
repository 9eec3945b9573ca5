"""The public ActivityPub face of local actors: actor documents and their collections.

The same URLs serve an HTML page to browsers; content negotiation picks (ActivityPub §3.2).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from quart import Blueprint, Response, request, send_file

from fediverse.activitypub.signatures import SignatureError, verify_request
from fediverse.errors import NotFound, Unauthorized
from fediverse.services import media, posts, profiles, publishing, remote_actors
from fediverse.services.converters.actors import actor_to_ap
from fediverse.ui import pages
from fediverse.uris import (
    ACTIVITY_ROUTE,
    GROUP_ROUTE,
    INSTANCE_ACTOR_NAME,
    INSTANCE_ACTOR_ROUTE,
    OBJECT_ROUTE,
    USER_ROUTE,
)
from fediverse.web import activity_response, client_wants_activity_json, current_context, query_int

blueprint = Blueprint("outbox", __name__)


async def _require_signature() -> None:
    """With `authorized_fetch`, refuse ActivityPub GETs that carry no valid signature.

    The instance actor, WebFinger and NodeInfo stay open: remote servers need them to sign at
    all (the same bootstrap exception Mastodon's secure mode and GoToSocial make).
    """
    ctx = current_context()
    if not ctx.config.federation.authorized_fetch:
        return
    query = request.query_string.decode("latin-1")
    url = ctx.uris.absolute(request.path) + (f"?{query}" if query else "")
    try:
        await verify_request(
            request.method,
            url,
            dict(request.headers),
            None,
            partial(remote_actors.resolve_key, ctx),
            max_age=timedelta(minutes=ctx.config.federation.signature_max_age_minutes),
            max_future=timedelta(minutes=ctx.config.federation.signature_max_future_minutes),
        )
    except SignatureError as exc:
        raise Unauthorized(
            f"This instance requires signed fetches (authorized fetch): {exc.reason}"
        ) from None


async def _actor_document(kind: str, name: str) -> Response | str:
    ctx = current_context()
    actor = await publishing.load_local_actor(ctx, kind, name)
    if kind == "Application":
        return activity_response(actor_to_ap(actor))
    if client_wants_activity_json():
        await _require_signature()
        async with ctx.sessions() as session:
            return activity_response(await profiles.actor_document(session, ctx, actor))
    return await pages.actor_page(actor)


async def _collection(kind: str, name: str, collection: str) -> Response:
    if collection in ("followers", "following") and not client_wants_activity_json():
        return await pages.follow_list_page(kind, name, collection)
    await _require_signature()
    ctx = current_context()
    actor = await publishing.load_local_actor(ctx, kind, name)
    req = publishing.CollectionRequest(
        name=collection,
        page=request.args.get("page") in ("true", "1"),
        max_id=query_int("max_id"),
    )
    return activity_response(await publishing.render_collection(ctx, actor, req))


@blueprint.get(USER_ROUTE)
async def user_document(name: str) -> Response | str:
    return await _actor_document("Person", name)


@blueprint.get(GROUP_ROUTE)
async def group_document(name: str) -> Response | str:
    return await _actor_document("Group", name)


@blueprint.get(INSTANCE_ACTOR_ROUTE)
async def instance_actor_document() -> Response | str:
    return await _actor_document("Application", INSTANCE_ACTOR_NAME)


@blueprint.get(USER_ROUTE + "/<any(outbox, followers, following):collection>")
async def user_collection(name: str, collection: str) -> Response:
    return await _collection("Person", name, collection)


@blueprint.get(USER_ROUTE + "/collections/featured")
async def user_featured(name: str) -> Response:
    return await _collection("Person", name, "featured")


@blueprint.get(GROUP_ROUTE + "/<any(outbox, followers, following):collection>")
async def group_collection(name: str, collection: str) -> Response:
    return await _collection("Group", name, collection)


@blueprint.get(GROUP_ROUTE + "/collections/featured")
async def group_featured(name: str) -> Response:
    return await _collection("Group", name, "featured")


@blueprint.get(OBJECT_ROUTE)
async def object_document(object_id: int) -> Response:
    if not client_wants_activity_json():
        return await pages.post_page(object_id)
    await _require_signature()
    document, status = await posts.load_post_document(current_context(), object_id)
    return activity_response(document, status=status)


@blueprint.get("/media/<file_name>")
async def media_file(file_name: str) -> Response:
    path = media.media_path(current_context(), file_name)
    if path is None:
        raise NotFound(f"No media file {file_name!r}.")
    response = await send_file(path)
    # Names are random and never reused: cache for a year.
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@blueprint.get(ACTIVITY_ROUTE)
async def activity_document(activity_id: int) -> Response:
    await _require_signature()
    ctx = current_context()
    return activity_response(await publishing.load_activity(ctx, activity_id))


@blueprint.get(INSTANCE_ACTOR_ROUTE + "/<any(outbox, followers, following):collection>")
async def instance_actor_collection(collection: str) -> Response:
    return await _collection("Application", INSTANCE_ACTOR_NAME, collection)
