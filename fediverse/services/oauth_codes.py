"""Authorisation codes: issued when a person consents, traded once for a token.

Codes live ten minutes and work once: the exchange deletes the code before anything else, so two
concurrent exchanges cannot both win. A token remembers the code it was bought with, so a code
presented a second time (it leaked) revokes that token (RFC 6749 §4.1.2). A redirect URI named at
authorisation must be repeated exactly at the token endpoint (§4.1.3); PKCE is S256 only
(RFC 7636, as Mastodon 4.3).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.services.auth import CANNOT_SIGN_IN, may_sign_in
from fediverse.services.context import Context
from fediverse.services.oauth import (
    AuthorizationRequest,
    IssuedToken,
    OAuthError,
    add_token,
    digest,
    new_secret,
)
from fediverse.store.tables import Actor, OAuthApp, OAuthCode, OAuthToken, User
from fediverse.store.types import utcnow

log = logging.getLogger(__name__)

CODE_LIFETIME = timedelta(minutes=10)
_PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


async def create_code(ctx: Context, request: AuthorizationRequest, user_id: int) -> str:
    """Store a one-time code for the consent a person just gave; return the code."""
    code = new_secret()
    async with ctx.sessions() as session:
        session.add(
            OAuthCode(
                code_hash=digest(code),
                app_id=request.app.id,
                user_id=user_id,
                scopes=" ".join(request.scopes),
                redirect_uri=request.redirect_uri,
                redirect_uri_given=request.redirect_uri_given,
                code_challenge=request.code_challenge,
                code_challenge_method="S256" if request.code_challenge else None,
                expires_at=utcnow() + CODE_LIFETIME,
            )
        )
        await session.commit()
    return code


def _pkce_matches(challenge: str, verifier: str | None) -> bool:
    if verifier is None or not _PKCE_VERIFIER.fullmatch(verifier):
        return False
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
    return hmac.compare_digest(computed.rstrip(b"=").decode("ascii"), challenge)


async def exchange_code(
    ctx: Context,
    app: OAuthApp,
    *,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None,
) -> IssuedToken:
    """Trade an authorisation code for a token (once: the code is deleted as it is used).

    A code that comes back after it was used has leaked: the token it bought is revoked
    (RFC 6749 §4.1.2) and the request refused.
    """
    invalid = OAuthError("invalid_grant", "The authorization code is invalid, used or expired.")
    if not code:
        raise invalid
    code_hash = digest(code)
    async with ctx.sessions() as session:
        row = await session.get(OAuthCode, code_hash)
        if row is None:
            await _revoke_tokens_bought_with(session, code_hash)
            raise invalid
        if row.app_id != app.id:
            raise invalid
        # Delete first and check that we were the one who did: two concurrent exchanges of
        # one code cannot both win, and the loser revokes what the winner got.
        result = await session.execute(delete(OAuthCode).where(OAuthCode.code_hash == code_hash))
        if getattr(result, "rowcount", 0) != 1:
            await session.rollback()
            await _revoke_tokens_bought_with(session, code_hash)
            raise invalid
        problem = _problem_with(row, redirect_uri, code_verifier)
        if problem is None and not await _account_may_sign_in(session, row.user_id):
            problem = OAuthError("invalid_grant", CANNOT_SIGN_IN)
        if problem is not None:
            # The code is burnt all the same: a wrong guess must not leave it for a second try.
            await session.commit()
            raise problem
        issued = add_token(
            session, app.id, row.user_id, tuple(row.scopes.split()), code_hash=code_hash
        )
        await session.commit()
    return issued


def _problem_with(
    row: OAuthCode, redirect_uri: str | None, code_verifier: str | None
) -> OAuthError | None:
    """Return why a code (just taken from the store) buys no token, or None when it does."""
    if row.expires_at <= utcnow():
        return OAuthError("invalid_grant", "The authorization code is invalid, used or expired.")
    if redirect_uri is None and row.redirect_uri_given:
        return OAuthError(
            "invalid_grant",
            "redirect_uri is required: the authorization request named one (RFC 6749 §4.1.3).",
        )
    if redirect_uri is not None and redirect_uri != row.redirect_uri:
        return OAuthError("invalid_grant", "redirect_uri differs from the authorization's.")
    if row.code_challenge is not None and not _pkce_matches(row.code_challenge, code_verifier):
        return OAuthError("invalid_grant", "code_verifier does not match the code_challenge.")
    return None


async def _account_may_sign_in(session: AsyncSession, user_id: int) -> bool:
    row = (
        await session.execute(
            select(User, Actor).join(Actor, Actor.id == User.actor_id).where(User.id == user_id)
        )
    ).first()
    return row is not None and may_sign_in(row[0], row[1])


async def _revoke_tokens_bought_with(session: AsyncSession, code_hash: str) -> None:
    """Revoke the token a used code bought, if any (a lookup first: most unknown codes are
    plain garbage, which must not cost a write)."""
    bought = await session.scalar(
        select(OAuthToken.id).where(
            OAuthToken.code_hash == code_hash, OAuthToken.revoked_at.is_(None)
        )
    )
    if bought is None:
        return
    await session.execute(
        update(OAuthToken).where(OAuthToken.id == bought).values(revoked_at=utcnow())
    )
    await session.commit()
    log.warning(
        "authorization code reused: revoked the token it bought", extra={"token_id": bought}
    )
