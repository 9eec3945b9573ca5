"""What a local person may do on the instance: member, moderator or admin.

A role is one column on `users`. `is_admin` predates it and is kept equal to `role == "admin"`;
this module is the only code that changes either (user creation goes through `role_columns`).
Roles are ordered: a moderator can do what a member can, an admin what a moderator can.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.errors import NotFound, Unprocessable
from fediverse.services.context import Context
from fediverse.store import actors as actor_queries
from fediverse.store.tables import User

Role = Literal["member", "moderator", "admin"]
ROLES: tuple[Role, ...] = ("member", "moderator", "admin")
DEFAULT_ROLE: Role = "member"


def parse_role(value: str) -> Role:
    """Return a role name, or raise Unprocessable naming the ones there are."""
    if value not in ROLES:
        raise Unprocessable(f"A role is one of {', '.join(ROLES)}, not {value!r}.")
    return value


def at_least(role: str, minimum: Role) -> bool:
    """Tell whether `role` ranks at or above `minimum` (an unknown role ranks lowest)."""
    rank = ROLES.index(role) if role in ROLES else -1
    return rank >= ROLES.index(minimum)


def role_columns(role: Role) -> dict[str, object]:
    """Return the `users` columns that say a role, kept consistent with each other."""
    return {"role": role, "is_admin": role == "admin"}


async def _user_named(session: AsyncSession, username: str) -> User:
    actor = await actor_queries.get_local_by_name(session, username, kind="Person")
    user = None
    if actor is not None and actor.deleted_at is None:
        user = await session.scalar(select(User).where(User.actor_id == actor.id))
    if user is None:
        raise NotFound(f"No local user called {username!r}; see `fediverse users list`.")
    return user


async def role_of(ctx: Context, username: str) -> Role:
    """Return a local person's role."""
    async with ctx.sessions() as session:
        role = (await _user_named(session, username)).role
    return role if role in ROLES else DEFAULT_ROLE


async def set_role(ctx: Context, username: str, role: str) -> Role:
    """Give a local person a role; return it."""
    chosen = parse_role(role)
    async with ctx.sessions() as session:
        user = await _user_named(session, username)
        for column, value in role_columns(chosen).items():
            setattr(user, column, value)
        await session.commit()
    return chosen
