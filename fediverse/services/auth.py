"""Password sign-in and browser sessions, for the OAuth consent page and the web interface.

- `sign_in` checks a password under rate limits (attempts per address, failures per resolved
  account; see `_refuse_if_failing`), spends one password verification on every attempt it
  lets through, known name or not, and opens a session.
- The session cookie holds a random token; only its SHA-256 is stored in `web_sessions`. The
  cookie is HTTP-only, SameSite=Lax, and Secure (with the `__Host-` prefix) on https.
- Every form POST of a signed-in browser carries the session's CSRF token (`check_csrf`).
  Forms shown before sign-in use a double-submit token (`new_form_token`/`check_form_token`).
  `check_request_token` picks between them: once signed in, only the session's token counts,
  and the edges drop the pre-sign-in cookie at sign-in, so that pair dies with it.

The edges set and read the cookie as `session_cookie(ctx)` describes; nothing here knows HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.errors import Forbidden, Unauthorized
from fediverse.ids import new_id
from fediverse.services.context import Context
from fediverse.services.passwords import hash_password, needs_rehash, verify_password
from fediverse.services.rate_limits import RateLimiter, address_key
from fediverse.store.tables import Actor, User, WebSession
from fediverse.store.types import utcnow

SESSION_LIFETIME = timedelta(days=30)
# A session's last_seen_at is refreshed at most this often (a write per page view is waste).
LAST_SEEN_PRECISION = timedelta(minutes=5)
COOKIE_NAME = "fediverse_session"
FORM_COOKIE_NAME = "fediverse_form"


SIGN_IN_FAILED = "Wrong username or password."
CANNOT_SIGN_IN = "This account cannot sign in (it is awaiting approval or was closed)."


@dataclass(frozen=True)
class SessionGrant:
    """A session just opened: set `cookie_value` as the cookie; it is never shown again."""

    cookie_value: str
    csrf_token: str
    user_id: int
    username: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """The person behind a valid session cookie."""

    session_id: int
    user_id: int
    actor_id: int
    username: str
    is_admin: bool
    csrf_token: str
    # member, moderator or admin (services.roles).
    role: str = "member"


@dataclass(frozen=True)
class CookieSpec:
    """How the edges must set the session cookie."""

    name: str
    secure: bool
    max_age: int
    http_only: bool = True
    same_site: str = "Lax"
    path: str = "/"


def session_cookie(ctx: Context) -> CookieSpec:
    """Describe the session cookie; on https it is Secure and `__Host-` prefixed (no Domain)."""
    secure = ctx.uris.base_url.startswith("https://")
    return CookieSpec(
        name=("__Host-" if secure else "") + COOKIE_NAME,
        secure=secure,
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )


def form_cookie(ctx: Context) -> CookieSpec:
    """Describe the short-lived cookie that carries the pre-sign-in form token."""
    secure = ctx.uris.base_url.startswith("https://")
    return CookieSpec(
        name=("__Host-" if secure else "") + FORM_COOKIE_NAME,
        secure=secure,
        max_age=3600,
        same_site="Strict",
    )


def may_sign_in(user: User, actor: Actor) -> bool:
    """Tell whether an account may hold a session or a token: approved and not closed.

    Every way in (password, session cookie, code exchange, bearer token) asks this one rule.
    """
    return user.approved and actor.deleted_at is None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


_dummy_hash: list[str] = []


async def _spend_a_verification(password: str) -> None:
    """Spend what checking a real password costs, so unknown names answer as slowly as known
    ones. The first call makes the throwaway hash, which costs the same as a verification."""
    if not _dummy_hash:
        _dummy_hash.append(await hash_password(secrets.token_urlsafe(16)))
        return
    await verify_password(_dummy_hash[0], password)


def normalize_login(login: str) -> str:
    """Return a login as it is looked up: no surrounding space or leading @s, lower case."""
    return login.strip().lstrip("@").strip().lower()


async def _find_user(session: AsyncSession, login: str) -> tuple[User, Actor] | None:
    """Find a user by username, or by email when the (normalized) login contains '@'."""
    query = select(User, Actor).join(Actor, Actor.id == User.actor_id)
    if "@" in login:
        query = query.where(User.email == login)
    else:
        query = query.where(Actor.local.is_(True), Actor.username_key == login)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def _refuse_if_failing(limiter: RateLimiter, account: str, address: str) -> None:
    """Refuse an attempt on an account that keeps failing, but only from an address that took
    part in the failing.

    Counting failures per account alone lets anyone lock a member out by failing from their
    own address; counting them per address alone lets a crowd of addresses guess at leisure.
    So: while an account is over `sign_in_failures_per_account`, each address that failed on
    it in that window waits, and every other address (the member's own, usually) still gets
    to try; once it fails too, it waits as well.
    """
    over = not await limiter.allows(limiter.sign_in_failures_per_account, account)
    if not over or await limiter.allows(limiter.sign_in_failed_here, account, address):
        return
    wait = min(
        await limiter.retry_after(limiter.sign_in_failures_per_account, account),
        await limiter.retry_after(limiter.sign_in_failed_here, account, address),
    )
    raise limiter.refusal(limiter.sign_in_failures_per_account, wait)


async def sign_in(
    ctx: Context, username: str, password: str, *, address: str, user_agent: str | None = None
) -> SessionGrant:
    """Check a password and open a session; raise Unauthorized, Forbidden or TooManyRequests.

    Every attempt counts against the address; failures count against the account the login
    resolves to (a name, @name and the e-mail address are one account), or against the login
    itself when it names nobody, so unknown and known names are limited alike.
    """
    limiter = ctx.limiter
    address = address_key(address)
    # Counted before anything is checked, atomically: parallel guesses cannot slip past.
    await limiter.hit(limiter.sign_in_per_address, address)
    login = normalize_login(username)
    async with ctx.sessions() as session:
        found = await _find_user(session, login) if login else None
    user, actor = found if found is not None else (None, None)
    account = f"account:{user.id}" if user is not None else f"login:{login}"
    await _refuse_if_failing(limiter, account, address)
    if user is None or actor is None or not user.password_hash:
        await _spend_a_verification(password)
        ok = False
    else:
        ok = await verify_password(user.password_hash, password)
    if not ok or user is None or actor is None:
        await limiter.count(limiter.sign_in_failures_per_account, account)
        await limiter.count(limiter.sign_in_failed_here, account, address)
        raise Unauthorized(SIGN_IN_FAILED)
    if not may_sign_in(user, actor):
        raise Forbidden(CANNOT_SIGN_IN)
    await limiter.clear(limiter.sign_in_failed_here, account, address)
    cookie_value, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    async with ctx.sessions() as session:
        session.add(
            WebSession(
                id=new_id(),
                token_hash=_digest(cookie_value),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_LIFETIME,
                user_agent=(user_agent or "")[:512] or None,
            )
        )
        db_user = await session.get(User, user.id)
        if db_user is not None:
            db_user.last_sign_in_at = now
            if db_user.password_hash and needs_rehash(db_user.password_hash):
                # Hashes made with older parameters verify faster or slower than the rest,
                # which would tell their names apart; bring them up to date.
                db_user.password_hash = await hash_password(password)
        await session.commit()
    return SessionGrant(cookie_value, csrf, user.id, actor.username, now + SESSION_LIFETIME)


async def session_for(ctx: Context, cookie_value: str | None) -> SignedIn | None:
    """Return who a session cookie belongs to, or None when it is unknown or expired."""
    if not cookie_value or len(cookie_value) > 256:
        return None
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(WebSession, User, Actor)
                .join(User, User.id == WebSession.user_id)
                .join(Actor, Actor.id == User.actor_id)
                .where(WebSession.token_hash == _digest(cookie_value))
            )
        ).first()
        if row is None:
            return None
        web_session, user, actor = row
        now = utcnow()
        if web_session.expires_at <= now or not may_sign_in(user, actor):
            return None
        if now - web_session.last_seen_at > LAST_SEEN_PRECISION:
            web_session.last_seen_at = now
            await session.commit()
        return SignedIn(
            session_id=web_session.id,
            user_id=user.id,
            actor_id=actor.id,
            username=actor.username,
            is_admin=user.is_admin,
            csrf_token=web_session.csrf_token,
            role=user.role,
        )


async def sign_out(ctx: Context, cookie_value: str | None) -> None:
    """End the session a cookie names (nothing happens for an unknown cookie)."""
    if not cookie_value:
        return
    async with ctx.sessions() as session:
        await session.execute(
            delete(WebSession).where(WebSession.token_hash == _digest(cookie_value))
        )
        await session.commit()


def check_csrf(signed_in: SignedIn, submitted: str | None) -> None:
    """Refuse a form POST whose CSRF token is not the session's (raise Forbidden)."""
    check_form_token(signed_in.csrf_token, submitted)


def check_request_token(
    signed_in: SignedIn | None, submitted: str | None, *, form_cookie_value: str | None
) -> None:
    """Refuse a form POST without the token its sender's state calls for (raise Forbidden).

    A signed-in browser must send its session's own token: a pre-sign-in pair (form cookie and
    field) proves nothing about the session, so it is refused even when it matches.
    """
    if signed_in is not None:
        check_csrf(signed_in, submitted)
    else:
        check_form_token(form_cookie_value, submitted)


def new_form_token() -> str:
    """Return a token for a form shown before sign-in; set it as `form_cookie` and a field."""
    return secrets.token_urlsafe(32)


def check_form_token(expected: str | None, submitted: str | None) -> None:
    """Refuse a form whose token does not match the expected one (raise Forbidden)."""
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise Forbidden("The form expired or came from another site; reload the page and retry.")
