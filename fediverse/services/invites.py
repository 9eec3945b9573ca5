"""Invite links: who may make them, what they may be, and taking them back.

An invite admits its holder without the waitlist (in every registration mode but `closed`), so
making one is a privilege. The admin's invite policy (a run-time setting) says who has it: admins,
moderators and admins (the default), or every member; members are capped at a number of usable
links at a time, and only moderators and admins may make links that never run out or never
expire. The web form offers exactly the choices of `choices_for(role)`, and `invite_as` refuses
anything else. The operator at the terminal (`fediverse invites create`) is not bound by it.

Codes are random and stored hashed, so a listing shows an invite's limits and state, never its
link. The creator of an invite, or an admin, can revoke it; a revoked link admits nobody.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.errors import Forbidden, NotFound, Unprocessable
from fediverse.ids import new_id
from fediverse.services import settings
from fediverse.services.auth import SignedIn
from fediverse.services.context import Context
from fediverse.services.roles import Role, at_least
from fediverse.store import actors as actor_queries
from fediverse.store.tables import Actor, Invite, User
from fediverse.store.types import utcnow

# What the form offers: the field's value → how many people / how long.
USES_CHOICES: dict[str, int | None] = {"1": 1, "5": 5, "25": 25, "unlimited": None}
EXPIRY_CHOICES: dict[str, timedelta | None] = {
    "1": timedelta(days=1),
    "7": timedelta(days=7),
    "30": timedelta(days=30),
    "never": None,
}
# Links without an end are for moderators and admins only.
UNBOUNDED_CHOICES = frozenset({"unlimited", "never"})

Who = Literal["admins", "moderators", "members"]
WHO_CHOICES: tuple[Who, ...] = ("admins", "moderators", "members")
# The lowest role each policy lets invite.
LOWEST_ROLE: dict[Who, Role] = {"admins": "admin", "moderators": "moderator", "members": "member"}
WHO_LABELS: dict[Who, str] = {
    "admins": "Only admins",
    "moderators": "Moderators and admins",
    "members": "Every member",
}
POLICY_KEY = "invite_policy"
MAX_PER_MEMBER = 100
LISTING_LIMIT = 200

InviteState = Literal["usable", "used up", "expired", "revoked"]


@dataclass(frozen=True)
class InvitePolicy:
    """Who may make invite links, and how many usable ones a member may hold at a time."""

    who: Who = "moderators"
    per_member: int = 3

    def allows(self, role: str) -> bool:
        return at_least(role, LOWEST_ROLE[self.who])

    def describe(self) -> str:
        """Say the policy in one line (the admin page and the command line show it)."""
        if self.who != "members":
            return (
                f"{WHO_LABELS[self.who]} can invite people "
                f"(members, if allowed, up to {self.per_member} usable links each)."
            )
        return (
            f"Every member can invite people, up to {self.per_member} usable links each "
            "(moderators and admins without a cap)."
        )


@dataclass(frozen=True)
class InviteListing:
    """One invite as a listing shows it (its code is never shown again)."""

    id: int
    created_by: str | None
    created_by_id: int | None
    created_at: datetime
    uses: int
    max_uses: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    state: InviteState


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _policy_from(value: Any) -> InvitePolicy:
    """Read a stored policy; anything unexpected falls back to the default, field by field."""
    default = InvitePolicy()
    if not isinstance(value, dict):
        return default
    who = value.get("who")
    per_member = value.get("per_member")
    return InvitePolicy(
        who=who if who in WHO_CHOICES else default.who,
        per_member=per_member
        if isinstance(per_member, int) and 0 <= per_member <= MAX_PER_MEMBER
        else default.per_member,
    )


async def get_policy(ctx: Context) -> InvitePolicy:
    return _policy_from(await settings.get_setting(ctx, POLICY_KEY, None))


async def set_policy(
    ctx: Context, *, who: str | None = None, per_member: int | None = None
) -> InvitePolicy:
    """Change who may invite and the per-member cap (each left as it is when None)."""
    current = await get_policy(ctx)
    if who is not None and who not in WHO_CHOICES:
        raise Unprocessable(f"Who may invite is one of {', '.join(WHO_CHOICES)}, not {who!r}.")
    if per_member is not None and not 0 <= per_member <= MAX_PER_MEMBER:
        raise Unprocessable(f"The per-member cap is a number from 0 to {MAX_PER_MEMBER}.")
    chosen = InvitePolicy(
        who=who if who in WHO_CHOICES else current.who,
        per_member=current.per_member if per_member is None else per_member,
    )
    await settings.set_setting(
        ctx, POLICY_KEY, {"who": chosen.who, "per_member": chosen.per_member}
    )
    return chosen


def choices_for(role: str) -> tuple[list[str], list[str]]:
    """Return the use and expiry choices the form offers to someone of this role."""
    staff = at_least(role, "moderator")
    return (
        [value for value in USES_CHOICES if staff or value not in UNBOUNDED_CHOICES],
        [value for value in EXPIRY_CHOICES if staff or value not in UNBOUNDED_CHOICES],
    )


def _live(now: datetime) -> ColumnElement[bool]:
    """Return the condition of an invite that can still admit someone."""
    return (
        Invite.revoked_at.is_(None)
        & or_(Invite.expires_at.is_(None), Invite.expires_at > now)
        & or_(Invite.max_uses.is_(None), Invite.uses < Invite.max_uses)
    )


def _new_invite(
    creator_id: int | None, max_uses: int | None, expires_in: timedelta | None
) -> tuple[str, dict[str, Any]]:
    """Return a fresh code and the `invites` row that stores it (hashed)."""
    code = secrets.token_urlsafe(12)
    now = utcnow()
    row = {
        "id": new_id(),
        "code_hash": _digest(code),
        "created_by_id": creator_id,
        "max_uses": max_uses,
        "uses": 0,
        "expires_at": now + expires_in if expires_in is not None else None,
        "created_at": now,
        "revoked_at": None,
    }
    return code, row


async def create_invite(
    ctx: Context,
    creator_username: str | None,
    *,
    max_uses: int | None = 1,
    expires_in: timedelta | None = timedelta(days=7),
) -> str:
    """Create an invite as the operator (any limits) and return its code (/join?invite=CODE)."""
    if max_uses is not None and max_uses < 1:
        raise Unprocessable("An invite needs at least one use.")
    if expires_in is not None and expires_in <= timedelta(0):
        raise Unprocessable("An invite must stay valid for a positive time (or never expire).")
    async with ctx.sessions() as session:
        creator_id = None
        if creator_username:
            actor = await actor_queries.get_local_by_name(session, creator_username, kind="Person")
            if actor is not None:
                creator_id = await session.scalar(select(User.id).where(User.actor_id == actor.id))
            if creator_id is None:
                raise NotFound(f"No local user called {creator_username!r}.")
        code, row = _new_invite(creator_id, max_uses, expires_in)
        await session.execute(insert(Invite).values(row))
        await session.commit()
    return code


async def invite_as(ctx: Context, inviter: SignedIn, *, uses: str, expires: str) -> str:
    """Create an invite for a signed-in person under the policy; return its code.

    `uses` and `expires` are the form's values: only the choices offered to the inviter's role
    are accepted (422 otherwise); a person the policy does not let invite gets 403, and so does
    a member already holding as many usable links as the cap allows.
    """
    policy = await get_policy(ctx)
    if not policy.allows(inviter.role):
        raise Forbidden(
            f"{WHO_LABELS[policy.who]} can invite people here; ask one of them for an invite link."
        )
    offered_uses, offered_expiries = choices_for(inviter.role)
    if uses not in offered_uses:
        raise Unprocessable(f"Choose how many people can use the link: {', '.join(offered_uses)}.")
    if expires not in offered_expiries:
        raise Unprocessable(
            f"Choose how many days the link is valid: {', '.join(offered_expiries)}."
        )
    capped = not at_least(inviter.role, "moderator")
    if capped and policy.per_member == 0:
        raise Forbidden("Members may hold no invite links right now; ask a moderator or admin.")
    code, row = _new_invite(inviter.user_id, USES_CHOICES[uses], EXPIRY_CHOICES[expires])
    async with ctx.sessions() as session:
        if capped:
            added = await _insert_within_cap(session, row, inviter.user_id, policy.per_member)
        else:
            await session.execute(insert(Invite).values(row))
            added = True
        await session.commit()
    if not added:
        links = "link" if policy.per_member == 1 else "links"
        raise Forbidden(
            f"You already have {policy.per_member} usable invite {links}, as many as members may "
            "have at a time: revoke one, or wait until one is used or expires."
        )
    return code


async def _insert_within_cap(
    session: AsyncSession, row: dict[str, Any], creator_id: int, cap: int
) -> bool:
    """Insert an invite only while its creator holds fewer than `cap` usable ones.

    One statement checks and inserts, so concurrent requests cannot overshoot: SQLite runs it
    under its write lock; on PostgreSQL the creator's row lock, taken first, queues them.
    """
    await session.execute(select(User.id).where(User.id == creator_id).with_for_update())
    held = (
        select(func.count())
        .select_from(Invite)
        .where(Invite.created_by_id == creator_id, _live(utcnow()))
        .scalar_subquery()
    )
    columns = list(row)
    values = [literal(row[name], type_=Invite.__table__.c[name].type) for name in columns]
    result = await session.execute(
        insert(Invite).from_select(columns, select(*values).where(held < cap))
    )
    return bool(getattr(result, "rowcount", 0))


async def check_invite(ctx: Context, code: str) -> Invite:
    """Return a usable invite or raise with what is wrong with it."""
    async with ctx.sessions() as session:
        invite = await session.scalar(select(Invite).where(Invite.code_hash == _digest(code)))
    if invite is None:
        raise NotFound("This invite link is not valid; ask for a new one.")
    if invite.revoked_at is not None:
        raise Forbidden("This invite link was withdrawn; ask for a new one.")
    if invite.expires_at is not None and invite.expires_at <= utcnow():
        raise Forbidden("This invite link has expired; ask for a new one.")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise Forbidden("This invite link has been used up; ask for a new one.")
    return invite


async def use_invite(ctx: Context, code: str) -> None:
    """Count one use of an invite, or raise when it cannot admit anyone (any more)."""
    invite = await check_invite(ctx, code)
    async with ctx.sessions() as session:
        # Conditional increment: two sign-ups racing for the last use cannot both win, and a
        # revocation or expiry that lands meanwhile wins over the sign-up.
        result = await session.execute(
            update(Invite)
            .where(Invite.id == invite.id, _live(utcnow()))
            .values(uses=Invite.uses + 1)
        )
        await session.commit()
    if not getattr(result, "rowcount", 0):
        await check_invite(ctx, code)
        raise Forbidden("This invite link has been used up; ask for a new one.")


def _state_of(invite: Invite, now: datetime) -> InviteState:
    if invite.revoked_at is not None:
        return "revoked"
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return "used up"
    if invite.expires_at is not None and invite.expires_at <= now:
        return "expired"
    return "usable"


async def list_invites(
    ctx: Context, *, created_by_id: int | None = None, limit: int = LISTING_LIMIT
) -> list[InviteListing]:
    """Return the newest invites, all of them or those one person made."""
    query = (
        select(Invite, Actor.username)
        .outerjoin(User, User.id == Invite.created_by_id)
        .outerjoin(Actor, Actor.id == User.actor_id)
        .order_by(Invite.id.desc())
        .limit(limit)
    )
    if created_by_id is not None:
        query = query.where(Invite.created_by_id == created_by_id)
    now = utcnow()
    async with ctx.sessions() as session:
        rows = (await session.execute(query)).all()
    return [
        InviteListing(
            id=invite.id,
            created_by=username,
            created_by_id=invite.created_by_id,
            created_at=invite.created_at,
            uses=invite.uses,
            max_uses=invite.max_uses,
            expires_at=invite.expires_at,
            revoked_at=invite.revoked_at,
            state=_state_of(invite, now),
        )
        for invite, username in rows
    ]


async def list_for(ctx: Context, viewer: SignedIn) -> list[InviteListing]:
    """Return the invites a person sees: an admin all of them, anyone else their own."""
    return await list_invites(ctx, created_by_id=None if viewer.is_admin else viewer.user_id)


async def revoke_invite(ctx: Context, invite_id: int, *, by: SignedIn | None) -> None:
    """Revoke an invite; `by` is the person asking (its creator or an admin), None for the
    operator at the terminal. Someone else's invite is NotFound, as if it did not exist."""
    async with ctx.sessions() as session:
        invite = await session.get(Invite, invite_id)
        if invite is None or (
            by is not None and not by.is_admin and invite.created_by_id != by.user_id
        ):
            if by is None:
                raise NotFound(f"No invite {invite_id}; see `fediverse invites list`.")
            raise NotFound(f"No invite {invite_id} of yours; see the list on the invites page.")
        if invite.revoked_at is None:
            invite.revoked_at = utcnow()
            await session.commit()
