"""Inbox endpoints: the shared inbox and every local actor's own inbox.

HTTP only: count the POST against the sender's address, cap the size (Quart's MAX_CONTENT_LENGTH
answers 413), check the content type, parse JSON, hand the rest to `intake.receive` (which also
counts it against the verified sender's server), answer 202.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from fediverse.activitypub.decoding import DecodeError, decode_json
from fediverse.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from fediverse.inbox import intake
from fediverse.services import publishing
from fediverse.uris import (
    GROUP_ROUTE,
    INSTANCE_ACTOR_NAME,
    INSTANCE_ACTOR_ROUTE,
    SHARED_INBOX_ROUTE,
    USER_ROUTE,
)
from fediverse.web import current_context, json_response, limit_address

blueprint = Blueprint("inbox", __name__)


@blueprint.before_request
async def count_delivery() -> None:
    # Counted by address first, before the body is read or any key fetched: the claimed actor
    # is unproven here, so counting by its host would let anyone spend another server's budget.
    await limit_address(current_context().limiter.inbox_per_address)


_JSON_TYPES = ("application/activity+json", "application/ld+json", "application/json")


async def _receive(kind: str | None, name: str | None) -> Response:
    ctx = current_context()
    recipient_id = None
    if kind is not None and name is not None:
        recipient_id = (await publishing.load_local_actor(ctx, kind, name)).id
    media_type = request.mimetype or ""
    if media_type not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"Inbox POSTs must be application/activity+json, not {media_type or 'untyped'}."
        )
    body = await request.get_data(cache=False, as_text=False)
    assert isinstance(body, bytes)
    if len(body) > ctx.config.server.max_request_bytes:  # chunked bodies carry no length
        raise PayloadTooLarge("The activity is larger than this inbox accepts.")
    try:
        # Before any signature check: a stranger's body must not be able to crash the parser.
        document = decode_json(body)
    except DecodeError as exc:
        raise BadRequest(f"Refused: {exc}.") from None
    # Verify against our public URL, not what a reverse proxy forwarded internally.
    query = request.query_string.decode("latin-1")
    url = ctx.uris.absolute(request.path) + (f"?{query}" if query else "")
    receipt = await intake.receive(
        ctx,
        intake.IncomingRequest(
            method=request.method,
            url=url,
            headers=dict(request.headers),
            body=body,
            document=document,
            recipient_id=recipient_id,
        ),
    )
    if receipt.duplicate:
        return json_response({"status": "duplicate: already received"}, status=202)
    return json_response({"status": "accepted"}, status=202)


@blueprint.post(SHARED_INBOX_ROUTE)
async def shared_inbox() -> Response:
    return await _receive(None, None)


@blueprint.post(USER_ROUTE + "/inbox")
async def user_inbox(name: str) -> Response:
    return await _receive("Person", name)


@blueprint.post(GROUP_ROUTE + "/inbox")
async def group_inbox(name: str) -> Response:
    return await _receive("Group", name)


@blueprint.post(INSTANCE_ACTOR_ROUTE + "/inbox")
async def instance_inbox() -> Response:
    return await _receive("Application", INSTANCE_ACTOR_NAME)
