"""Fan-out: an activity becomes one stored activity row and one delivery row per inbox,
written in the caller's transaction so that an activity is never stored without its deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.outbox.audience import FanOut, Target
from fediverse.outbox.states import DeliveryStates
from fediverse.store.tables import Delivery, OutboxActivity
from fediverse.store.types import utcnow
from fediverse.uris import Uris


def remote_targets(uris: Uris, targets: Iterable[Target]) -> list[Target]:
    """Return each remote inbox once, in first-seen order; never one of ours."""
    seen: dict[str, Target] = {}
    for target in targets:
        inbox = target.inbox
        if inbox and not uris.is_local(inbox) and inbox.startswith(("https://", "http://")):
            known = seen.get(inbox)
            seen[inbox] = Target(inbox, target.recipients + (known.recipients if known else 0))
    return list(seen.values())


async def publish(
    session: AsyncSession,
    uris: Uris,
    *,
    activity_id: int,
    sender_id: int,
    activity: dict[str, Any],
    targets: Iterable[Target],
    public: bool = False,
    followers_targeted: int = 0,
) -> tuple[OutboxActivity, int]:
    """Store `activity` and queue it for every distinct remote inbox; return (row, inbox count).

    `activity_id` must be the id encoded in `activity["id"]` (see `Uris.activity`). The caller
    commits; deliveries become visible to workers with the activity, never before.
    """
    if activity.get("id") != uris.activity(activity_id):
        raise ValueError("activity['id'] must be uris.activity(activity_id)")
    obj = activity.get("object")
    object_uri = obj if isinstance(obj, str) else (obj or {}).get("id")
    row = OutboxActivity(
        id=activity_id,
        uri=activity["id"],
        actor_id=sender_id,
        type=activity["type"],
        object_uri=object_uri if isinstance(object_uri, str) else None,
        public=public,
        payload=activity,
        followers_targeted=followers_targeted,
    )
    session.add(row)
    await session.flush()
    remote = remote_targets(uris, targets)
    if remote:
        now = utcnow()
        await session.execute(
            insert(Delivery),
            [
                {
                    "activity_id": activity_id,
                    "sender_id": sender_id,
                    "inbox_url": target.inbox,
                    "host": target.host,
                    "recipients": target.recipients,
                    "state": DeliveryStates.queued.name,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "state_changed_at": now,
                    "created_at": now,
                }
                for target in remote
            ],
        )
    return row, len(remote)


async def publish_fan_out(
    session: AsyncSession,
    uris: Uris,
    *,
    activity_id: int,
    sender_id: int,
    activity: dict[str, Any],
    fan_out: FanOut,
    public: bool = False,
) -> int:
    """Publish an activity to a computed fan-out, recording how many followers it addressed;
    return the number of inboxes queued."""
    _, inboxes = await publish(
        session,
        uris,
        activity_id=activity_id,
        sender_id=sender_id,
        activity=activity,
        targets=fan_out.targets.values(),
        public=public,
        followers_targeted=fan_out.followers_targeted,
    )
    return inboxes
