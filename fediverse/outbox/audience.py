"""Who an activity goes to: followers (and later group members and mentions), collapsed to
distinct inboxes. A shared inbox stands for every follower on its server; a follower's own
inbox is used only when its server has no shared one. Never ourselves, never a blocker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.origin import host_of
from fediverse.store.follows import ACCEPTED
from fediverse.store.tables import Actor, ActorBlock, Follow


@dataclass(frozen=True)
class Target:
    """One inbox to deliver to and how many followers it stands for."""

    inbox: str
    recipients: int = 0

    @property
    def host(self) -> str:
        """Return the inbox's host, with its port when not the default (one server each)."""
        return host_of(self.inbox)


@dataclass
class FanOut:
    """The distinct remote inboxes of an activity, and the followers it addressed in all."""

    targets: dict[str, Target] = field(default_factory=dict)
    followers_targeted: int = 0
    local_followers: int = 0

    def add(self, inbox: str | None, recipients: int = 0) -> None:
        if not inbox or not inbox.startswith(("https://", "http://")):
            return
        known = self.targets.get(inbox)
        self.targets[inbox] = Target(inbox, (known.recipients if known else 0) + recipients)

    @property
    def servers(self) -> int:
        return len({target.host for target in self.targets.values()})


async def followers_fan_out(session: AsyncSession, sender_id: int) -> FanOut:
    """Return the fan-out to every accepted follower of `sender_id` who has not blocked it."""
    blocked_sender = exists(
        select(ActorBlock.id).where(
            and_(ActorBlock.blocker_id == Follow.follower_id, ActorBlock.blocked_id == sender_id)
        )
    )
    rows = await session.execute(
        select(Actor.local, Actor.inbox_url, Actor.shared_inbox_url)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(
            Follow.followee_id == sender_id,
            Follow.state == ACCEPTED,
            Actor.deleted_at.is_(None),
            ~blocked_sender,
        )
    )
    fan_out = FanOut()
    for local, inbox, shared_inbox in rows.all():
        fan_out.followers_targeted += 1
        if local:
            fan_out.local_followers += 1
            continue
        fan_out.add(shared_inbox or inbox, 1)
    return fan_out


def add_addressed_actors(fan_out: FanOut, actors: Iterable[Actor]) -> None:
    """Add actors addressed by name (mentions, direct recipients) who are not reached yet.

    A server whose shared inbox already receives the activity routes it to them from `to`/`cc`;
    otherwise their own inbox is used, so they see it as addressed to them.
    """
    for actor in actors:
        if actor.local:
            continue
        if actor.shared_inbox_url and actor.shared_inbox_url in fan_out.targets:
            continue
        fan_out.add(actor.inbox_url)
