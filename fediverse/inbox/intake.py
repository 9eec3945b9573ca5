"""Accept fast: verify an inbox POST, check the signer owns the actor, store it once.

Order matters and follows DESIGN.md: parse → signature → ownership → origin → store. Every
refusal raises an error with the right status and a message naming the problem, before anything
is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from fediverse.activitypub.origin import host_of, origin_problem
from fediverse.activitypub.parse import ActivityDoc, ParseError, parse_activity
from fediverse.activitypub.signatures import SignatureError, VerifiedSignature, verify_request
from fediverse.errors import BadRequest, Forbidden, Unauthorized
from fediverse.inbox.states import InboxStates
from fediverse.outbox import health
from fediverse.services import remote_actors
from fediverse.services.context import Context
from fediverse.store import actors as actor_queries
from fediverse.store import inbox as inbox_queries
from fediverse.store.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    document: Any
    recipient_id: int | None


@dataclass(frozen=True)
class Receipt:
    item_id: int | None
    duplicate: bool = False
    dropped: str | None = None


def _parse(document: Any) -> ActivityDoc:
    try:
        return parse_activity(document)
    except ParseError as exc:
        raise BadRequest(f"Not a usable activity: {exc}") from None


async def _is_unknown_actor_deleting_itself(ctx: Context, activity: ActivityDoc) -> bool:
    """Mastodon's rule: a Delete of an account we never knew needs no work and its key is
    usually gone already (410), so it is acknowledged without fetching anything."""
    if activity.type != "Delete" or activity.object_id != activity.actor:
        return False
    async with ctx.sessions() as session:
        return await actor_queries.get_by_uri(session, activity.actor) is None


async def _verify(ctx: Context, incoming: IncomingRequest) -> VerifiedSignature:
    federation = ctx.config.federation
    try:
        return await verify_request(
            incoming.method,
            incoming.url,
            incoming.headers,
            incoming.body,
            partial(remote_actors.resolve_key, ctx),
            max_age=timedelta(minutes=federation.signature_max_age_minutes),
            max_future=timedelta(minutes=federation.signature_max_future_minutes),
        )
    except SignatureError as exc:
        raise Unauthorized(f"Signature refused: {exc.reason}") from None


async def receive(ctx: Context, incoming: IncomingRequest) -> Receipt:
    """Verify and store one inbox POST; raise BadRequest, Unauthorized or Forbidden if not."""
    activity = _parse(incoming.document)
    if await _is_unknown_actor_deleting_itself(ctx, activity):
        return Receipt(item_id=None, dropped="Delete of an unknown actor")
    if ctx.uris.is_local(activity.actor):
        raise Forbidden(f"{activity.actor} is one of our own actors; we do not accept it back.")
    signature = await _verify(ctx, incoming)
    # Per remote server only now that the signature proves who sent it (the per-address limit
    # in routes.py came first): a forged POST cannot spend a real server's budget.
    await ctx.limiter.hit(ctx.limiter.inbox_per_host, host_of(signature.owner))
    if signature.owner != activity.actor:
        raise Forbidden(
            f"The signer {signature.owner} does not own the activity's actor {activity.actor}."
        )
    problem = origin_problem(activity.id, activity.type, activity.actor, activity.object)
    if problem is not None:
        raise Forbidden(problem)
    now = utcnow()
    async with ctx.sessions() as session:
        item_id = await inbox_queries.insert_once(
            session,
            {
                "activity_uri": activity.id,
                "activity_type": activity.type[:32],
                "object_type": (activity.object_type or None) and activity.object_type[:32],
                "actor_uri": activity.actor,
                "signer_key_id": signature.key_id,
                "recipient_id": incoming.recipient_id,
                "payload": incoming.document,
                "received_at": now,
                "state": InboxStates.received.name,
                "attempts": 0,
                "next_attempt_at": now,
                "state_changed_at": now,
            },
        )
        # Any verified request proves the sender's host is up: lift a pause or unavailable mark.
        await health.mark_alive(session, host_of(activity.actor))
        await session.commit()
    if item_id is None:
        log.info("duplicate activity ignored", extra={"activity": activity.id})
        return Receipt(item_id=None, duplicate=True)
    ctx.notify()
    return Receipt(item_id=item_id)
