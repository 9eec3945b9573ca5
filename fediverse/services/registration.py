"""Joining: registration modes and the waitlist.

Modes (set at run time by an admin): `open` (anyone signs up), `approval` (applicants join a
waitlist, say why, and see their place until an admin decides), `invite` (only with a valid
invite link), `closed`. A valid invite admits its holder in every mode but `closed`; the links
themselves (who may make them, their limits, revoking) are `services.invites`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.errors import Conflict, Forbidden, NotFound, Unprocessable
from fediverse.services import invites, settings
from fediverse.services.actors import NewUser, create_user
from fediverse.services.context import Context
from fediverse.services.names import check_local_name
from fediverse.services.passwords import MIN_PASSWORD_LENGTH, hash_password
from fediverse.store import actors as actor_queries
from fediverse.store.tables import RegistrationRequest, User
from fediverse.store.types import utcnow

Mode = Literal["open", "approval", "invite", "closed"]
MODES: tuple[Mode, ...] = ("open", "approval", "invite", "closed")
DEFAULT_MODE: Mode = "approval"
MODE_KEY = "registration_mode"
MAX_REASON_CHARS = 1000


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def get_mode(ctx: Context) -> Mode:
    value = await settings.get_setting(ctx, MODE_KEY, DEFAULT_MODE)
    return cast(Mode, value) if value in MODES else DEFAULT_MODE


async def set_mode(ctx: Context, mode: str) -> None:
    if mode not in MODES:
        raise Unprocessable(f"Registration mode must be one of {', '.join(MODES)}.")
    await settings.set_setting(ctx, MODE_KEY, mode)


@dataclass(frozen=True)
class Application:
    username: str
    email: str
    password: str
    reason: str = ""
    invite_code: str | None = None


@dataclass(frozen=True)
class Applied:
    status: Literal["created", "pending"]
    status_token: str | None = None
    position: int | None = None


async def _check_new_account(ctx: Context, app: Application) -> str:
    check_local_name(app.username)
    if len(app.password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
    email = app.email.strip().lower()
    if "@" not in email or len(email) > 320 or " " in email:
        raise Unprocessable("Give an email address like name@example.org.")
    async with ctx.sessions() as session:
        if await actor_queries.name_taken(session, app.username):
            raise Conflict(f"The name {app.username!r} is already taken; choose another.")
        pending = await session.scalar(
            select(RegistrationRequest.id).where(
                RegistrationRequest.username == app.username, RegistrationRequest.state == "pending"
            )
        )
        if pending is not None:
            raise Conflict(f"Someone is already waiting to join as {app.username!r}.")
    # Whether the e-mail address is taken is not checked here: answering differently would tell
    # anyone which addresses have accounts. `_email_if_free` decides, out of sight.
    return email


async def _email_if_free(ctx: Context, email: str) -> str | None:
    """Return the address to attach to a new account, or None when another account has it.

    The account is made either way and the answer is the same; it signs in by its name. Names,
    unlike addresses, are public (profiles, WebFinger), so a taken name is still said plainly.
    """
    async with ctx.sessions() as session:
        taken = await session.scalar(select(User.id).where(User.email == email))
    return email if taken is None else None


async def apply(ctx: Context, app: Application) -> Applied:
    """Sign up (open mode, or with a valid invite) or join the waitlist (approval mode)."""
    mode = await get_mode(ctx)
    if mode == "closed":
        raise Forbidden("Registrations are closed on this instance.")
    email = await _check_new_account(ctx, app)
    if app.invite_code:
        await invites.use_invite(ctx, app.invite_code)
    elif mode == "invite":
        raise Forbidden("This instance is invite-only: ask a member for an invite link.")
    if app.invite_code or mode == "open":
        await create_user(
            ctx,
            NewUser(
                username=app.username,
                password=app.password,
                email=await _email_if_free(ctx, email),
            ),
        )
        return Applied(status="created")
    if len(app.reason.strip()) > MAX_REASON_CHARS:
        raise Unprocessable(f"Keep the reason under {MAX_REASON_CHARS} characters.")
    token = secrets.token_urlsafe(24)
    async with ctx.sessions() as session:
        request = RegistrationRequest(
            username=app.username,
            email=email,
            password_hash=await hash_password(app.password),
            reason=app.reason.strip(),
            status_token_hash=_digest(token),
        )
        session.add(request)
        await session.commit()
        position = await _position(session, request.id)
    return Applied(status="pending", status_token=token, position=position)


async def _position(session: AsyncSession, request_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(RegistrationRequest)
        .where(RegistrationRequest.state == "pending", RegistrationRequest.id <= request_id)
    )
    return int(count or 0)


@dataclass(frozen=True)
class RequestStatus:
    username: str
    state: str
    position: int | None


async def status_of(ctx: Context, status_token: str) -> RequestStatus:
    """Tell an applicant where they stand (their place in line while pending)."""
    async with ctx.sessions() as session:
        request = await session.scalar(
            select(RegistrationRequest).where(
                RegistrationRequest.status_token_hash == _digest(status_token)
            )
        )
        if request is None:
            raise NotFound("No application matches this link; check that it is complete.")
        position = await _position(session, request.id) if request.state == "pending" else None
        return RequestStatus(request.username, request.state, position)


async def list_pending(ctx: Context) -> list[RegistrationRequest]:
    async with ctx.sessions() as session:
        rows = await session.scalars(
            select(RegistrationRequest)
            .where(RegistrationRequest.state == "pending")
            .order_by(RegistrationRequest.id)
        )
        return list(rows.all())


async def _pending(ctx: Context, username: str) -> RegistrationRequest:
    async with ctx.sessions() as session:
        request = await session.scalar(
            select(RegistrationRequest).where(
                RegistrationRequest.username == username, RegistrationRequest.state == "pending"
            )
        )
    if request is None:
        raise NotFound(
            f"Nobody called {username!r} is waiting; see `fediverse registrations list`."
        )
    return request


async def approve(ctx: Context, username: str) -> None:
    """Admit a waiting applicant: their account is created with the password they chose."""
    request = await _pending(ctx, username)
    await create_user(
        ctx,
        NewUser(
            username=request.username,
            email=await _email_if_free(ctx, request.email),
            password_hash=request.password_hash,
        ),
    )
    await _decide(ctx, request.id, "approved")


async def reject(ctx: Context, username: str) -> None:
    request = await _pending(ctx, username)
    await _decide(ctx, request.id, "rejected")


async def _decide(ctx: Context, request_id: int, state: str) -> None:
    async with ctx.sessions() as session:
        await session.execute(
            update(RegistrationRequest)
            .where(RegistrationRequest.id == request_id)
            .values(state=state, decided_at=utcnow())
        )
        await session.commit()
