"""Notifications (docs.joinmastodon.org/methods/notifications/).

Our kinds are Mastodon's, except that a reply is its own kind here and a `mention` there. A
notification whose status was deleted or is no longer visible is left out, as Mastodon does.
"""

from __future__ import annotations

from typing import Any

from quart import Response

from fediverse.api import entities, render
from fediverse.api.auth import bearer, signed_in
from fediverse.api.paging import paged_response, read_cursor
from fediverse.api.params import Params, id_param, read_params
from fediverse.api.routing import ApiBlueprint
from fediverse.errors import NotFound
from fediverse.services import directory, notifications, posts
from fediverse.services.oauth import Grant
from fediverse.store.tables import Notification, Post
from fediverse.web import current_context, json_response

blueprint = ApiBlueprint("notifications", __name__, url_prefix="/api/v1/notifications")

KINDS_BY_TYPE = {
    "mention": ("mention", "reply"),
    "follow": ("follow",),
    "follow_request": ("follow_request",),
    "reblog": ("reblog",),
    "favourite": ("favourite",),
}


def _kinds(params: Params) -> list[str] | None:
    """Translate `types[]` and `exclude_types[]` into our kinds (None: all of them)."""
    types, excluded = params.strings("types"), params.strings("exclude_types")
    if not types and not excluded:
        return None
    wanted = (set(types) if types else set(KINDS_BY_TYPE)) - set(excluded)
    return [kind for name, kinds in KINDS_BY_TYPE.items() if name in wanted for kind in kinds]


async def _render(rows: list[Notification], grant: Grant) -> list[dict[str, Any]]:
    ctx = current_context()
    actors = await directory.get_accounts(ctx, [row.actor_id for row in rows])
    accounts = dict(zip(actors, await render.accounts(list(actors.values())), strict=True))
    visible: list[Post] = []
    for post_id in dict.fromkeys(row.post_id for row in rows if row.post_id is not None):
        try:
            visible.append(await posts.get_visible_post(ctx, post_id, grant.actor.id))
        except NotFound:
            continue
    statuses = dict(
        zip(
            (post.id for post in visible),
            await render.statuses_of(visible, grant),
            strict=True,
        )
    )
    documents = []
    for row in rows:
        if row.actor_id not in accounts:
            continue
        if row.post_id is not None and row.post_id not in statuses:
            continue
        status = statuses.get(row.post_id) if row.post_id is not None else None
        documents.append(entities.notification_json(row, accounts[row.actor_id], status))
    return documents


@blueprint.get("")
@bearer("read:notifications")
async def index() -> Response:
    grant = signed_in()
    params = await read_params()
    kinds = _kinds(params)
    if kinds is not None and not kinds:
        return paged_response([], [])
    cursor = read_cursor(params, default=40, maximum=80)
    rows = await notifications.list_notifications(
        current_context(),
        grant.actor.id,
        notifications.Page(**cursor.as_kwargs()),
        types=kinds,
    )
    ids = [row.id for row in rows]
    account_id = params.integer("account_id")
    if account_id is not None:
        rows = [row for row in rows if row.actor_id == account_id]
    return paged_response(await _render(rows, grant), ids)


@blueprint.get("/<notification_id>")
@bearer("read:notifications")
async def show(notification_id: str) -> Response:
    grant = signed_in()
    row = await notifications.get(current_context(), grant.actor.id, id_param(notification_id))
    documents = await _render([row], grant)
    if not documents:
        raise NotFound(f"No notification {notification_id}.")
    return json_response(documents[0])


@blueprint.post("/clear")
@bearer("write:notifications")
async def clear() -> Response:
    await notifications.clear(current_context(), signed_in().actor.id)
    return json_response({})


@blueprint.post("/<notification_id>/dismiss")
@bearer("write:notifications")
async def dismiss(notification_id: str) -> Response:
    grant = signed_in()
    await notifications.dismiss(current_context(), grant.actor.id, id_param(notification_id))
    return json_response({})
