"""Accounts: who someone is, what they posted, who they follow, and following them.

docs.joinmastodon.org/methods/accounts/. Remote accounts are those we know; `lookup` never asks
another server (that is what search with `resolve=true` is for).
"""

from __future__ import annotations

from quart import Response

from fediverse.activitypub.sanitize import html_to_text
from fediverse.api import entities, render
from fediverse.api.auth import bearer, signed_in, viewer, viewer_id
from fediverse.api.paging import paged_response, read_cursor
from fediverse.api.params import id_param, read_params
from fediverse.api.routing import ApiBlueprint
from fediverse.errors import Unprocessable
from fediverse.services import directory, follows, timelines
from fediverse.services.timelines import Page
from fediverse.web import current_context, json_response

blueprint = ApiBlueprint("accounts", __name__, url_prefix="/api/v1/accounts")

FOLLOW_PAGE = {"default": 40, "maximum": 80}


@blueprint.get("/verify_credentials")
@bearer("read:accounts", "profile")
async def verify_credentials() -> Response:
    ctx = current_context()
    grant = signed_in()
    actor = grant.actor
    stats = await directory.account_stats(ctx, [actor.id])
    return json_response(
        entities.credential_account_json(
            actor,
            stats[actor.id],
            ctx.uris,
            note_text=html_to_text(actor.summary_html),
            follow_requests=await directory.follow_request_count(ctx, actor.id),
            is_admin=grant.is_admin,
        )
    )


@blueprint.get("/lookup")
@bearer("read:accounts", optional=True)
async def lookup() -> Response:
    params = await read_params()
    acct = params.text("acct")
    if not acct:
        raise Unprocessable("Give the account as acct=user or acct=user@host.")
    actor = await directory.lookup(current_context(), acct)
    return json_response(await render.account(actor))


@blueprint.get("/relationships")
@bearer("read:follows")
async def relationships() -> Response:
    params = await read_params()
    ids = [int(value) for value in params.strings("id") if value.isdigit() and len(value) <= 19]
    return json_response(await render.relationships(signed_in(), ids[:40]))


@blueprint.get("/search")
@bearer("read:accounts")
async def search_accounts() -> Response:
    params = await read_params()
    query = (params.text("q") or "").strip()
    limit = max(1, min(params.integer("limit") or 40, 80))
    found = await directory.find_accounts(
        current_context(), query, limit=limit, offset=params.integer("offset") or 0
    )
    return json_response(await render.accounts(found))


@blueprint.get("/<account_id>")
@bearer("read:accounts", optional=True)
async def show(account_id: str) -> Response:
    actor = await directory.get_account(current_context(), id_param(account_id))
    return json_response(await render.account(actor))


@blueprint.get("/<account_id>/statuses")
@bearer("read:statuses", optional=True)
async def statuses(account_id: str) -> Response:
    ctx = current_context()
    actor = await directory.get_account(ctx, id_param(account_id))
    params = await read_params()
    cursor = read_cursor(params)
    if params.flag("pinned") or params.flag("only_media") or params.text("tagged"):
        # Nothing is pinned and posts carry no media here; tagged profiles are not indexed.
        return paged_response([], [])
    entries = await timelines.profile(
        ctx,
        actor.id,
        viewer_id(),
        Page(**cursor.as_kwargs()),
        exclude_replies=params.flag("exclude_replies"),
    )
    ids = [entry.post.id for entry in entries]
    if params.flag("exclude_reblogs"):
        entries = [entry for entry in entries if entry.boost_of is None]
    return paged_response(await render.statuses(entries, viewer()), ids)


async def _follow_list(account_id: str, *, followers: bool) -> Response:
    ctx = current_context()
    actor = await directory.get_account(ctx, id_param(account_id))
    cursor = read_cursor(await read_params(), **FOLLOW_PAGE)
    page_of = directory.followers_page if followers else directory.following_page
    rows = await page_of(ctx, actor.id, Page(**cursor.as_kwargs()))
    documents = await render.accounts([account for _, account in rows])
    return paged_response(documents, [follow_id for follow_id, _ in rows])


@blueprint.get("/<account_id>/followers")
@bearer("read:accounts", optional=True)
async def followers(account_id: str) -> Response:
    return await _follow_list(account_id, followers=True)


@blueprint.get("/<account_id>/following")
@bearer("read:accounts", optional=True)
async def following(account_id: str) -> Response:
    return await _follow_list(account_id, followers=False)


@blueprint.post("/<account_id>/follow")
@bearer("write:follows")
async def follow(account_id: str) -> Response:
    ctx = current_context()
    grant = signed_in()
    target = await directory.get_account(ctx, id_param(account_id))
    await follows.follow(ctx, grant.username, target.uri)
    return json_response(await render.relationship(grant, target.id))


@blueprint.post("/<account_id>/unfollow")
@bearer("write:follows")
async def unfollow(account_id: str) -> Response:
    ctx = current_context()
    grant = signed_in()
    target = await directory.get_account(ctx, id_param(account_id))
    await follows.unfollow(ctx, grant.username, target.uri)
    return json_response(await render.relationship(grant, target.id))
