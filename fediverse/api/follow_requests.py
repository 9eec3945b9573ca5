"""Follow requests waiting for a locked account's answer.

docs.joinmastodon.org/methods/follow_requests/
"""

from __future__ import annotations

from quart import Response

from fediverse.api import render
from fediverse.api.auth import bearer, signed_in
from fediverse.api.paging import paged_response, read_cursor
from fediverse.api.params import id_param, read_params
from fediverse.api.routing import ApiBlueprint
from fediverse.services import directory, follows
from fediverse.services.timelines import Page
from fediverse.web import current_context, json_response

blueprint = ApiBlueprint("follow_requests", __name__, url_prefix="/api/v1/follow_requests")


@blueprint.get("")
@bearer("read:follows")
async def pending() -> Response:
    ctx = current_context()
    cursor = read_cursor(await read_params(), default=40, maximum=80)
    rows = await directory.requests_page(ctx, signed_in().actor.id, Page(**cursor.as_kwargs()))
    documents = await render.accounts([account for _, account in rows])
    return paged_response(documents, [follow_id for follow_id, _ in rows])


async def _answer(account_id: str, *, approve: bool) -> Response:
    ctx = current_context()
    grant = signed_in()
    requester = await directory.get_account(ctx, id_param(account_id))
    await follows.answer_request(ctx, grant.username, requester.uri, approve=approve)
    return json_response(await render.relationship(grant, requester.id))


@blueprint.post("/<account_id>/authorize")
@bearer("write:follows")
async def authorize(account_id: str) -> Response:
    return await _answer(account_id, approve=True)


@blueprint.post("/<account_id>/reject")
@bearer("write:follows")
async def reject(account_id: str) -> Response:
    return await _answer(account_id, approve=False)
