"""OAuth 2 for client apps: registration, authorisation requests, bearer tokens.

Client secrets, codes and tokens are random 256-bit strings handed out once; only their SHA-256
is stored, so a copy of the database lets nobody act as an app or a person. Authorisation codes
(issued at consent, traded once for a token) are `services.oauth_codes`. The rules follow
RFC 6749 (OAuth 2.0), RFC 7636 (PKCE, S256 only, as Mastodon 4.3) and RFC 7009 (revocation);
scope names are Mastodon's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.errors import FediverseError, Forbidden, NotFound
from fediverse.ids import new_id
from fediverse.services.auth import may_sign_in
from fediverse.services.context import Context
from fediverse.store import actors as actor_queries
from fediverse.store.tables import Actor, OAuthApp, OAuthToken, User
from fediverse.store.types import utcnow

OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_PRECISION = timedelta(hours=1)

# Mastodon's scopes (docs.joinmastodon.org/api/oauth-scopes). Admin scopes are not offered:
# there is no admin API here.
TOP_LEVEL_SCOPES = ("read", "write", "follow", "push", "profile")
GRANULAR_SCOPES = frozenset(
    {f"read:{name}" for name in (
        "accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
        "notifications", "search", "statuses",
    )}
    | {f"write:{name}" for name in (
        "accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows",
        "lists", "media", "mutes", "notifications", "reports", "statuses",
    )}
)  # fmt: skip
KNOWN_SCOPES = frozenset(TOP_LEVEL_SCOPES) | GRANULAR_SCOPES
# The legacy `follow` scope stands for these (Mastodon keeps it for old apps).
FOLLOW_SCOPE_MEMBERS = frozenset(
    {"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}
)
DEFAULT_SCOPES = ("read",)

_FORBIDDEN_REDIRECT_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "blob"})
MAX_REDIRECT_URIS = 10


class OAuthError(FediverseError):
    """Raise with an RFC 6749 error code (`invalid_grant`, ...) and a readable description."""

    status = 400

    def __init__(self, code: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class RegisteredApp:
    app: OAuthApp
    client_secret: str


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked request to /oauth/authorize, waiting for the person's consent."""

    app: OAuthApp
    redirect_uri: str
    # False when the request left redirect_uri out (the app registered only one).
    redirect_uri_given: bool
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None


class RedirectableError(OAuthError):
    """An authorisation error the client learns about through its redirect URI."""

    def __init__(self, request: AuthorizationRequest, code: str, description: str) -> None:
        super().__init__(code, description)
        self.request = request


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class Grant:
    """What a valid bearer token allows: whose account, through which app, with which scopes."""

    token_id: int
    user_id: int
    actor: Actor
    app_id: int | None
    scopes: frozenset[str]
    is_admin: bool

    @property
    def username(self) -> str:
        return self.actor.username

    def allows(self, required: str) -> bool:
        return scope_allows(self.scopes, required)


def digest(secret: str) -> str:
    """Return the SHA-256 hex digest under which a secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """Return a fresh 256-bit secret (client secret, code or token)."""
    return secrets.token_urlsafe(32)


def parse_scopes(raw: str | None, *, allowed: Iterable[str] = KNOWN_SCOPES) -> tuple[str, ...]:
    """Split a space-separated scope string; unknown or disallowed scopes are `invalid_scope`."""
    names = tuple(dict.fromkeys((raw or "").replace("+", " ").split()))
    if not names:
        names = DEFAULT_SCOPES
    allowed_set = set(allowed)
    unknown = [name for name in names if name not in KNOWN_SCOPES]
    if unknown:
        raise OAuthError("invalid_scope", f"Unknown scope: {', '.join(unknown)}.")
    refused = [name for name in names if not scope_allows(allowed_set, name)]
    if refused:
        raise OAuthError("invalid_scope", f"The app was not registered for: {', '.join(refused)}.")
    return names


def scope_allows(granted: Iterable[str], required: str) -> bool:
    """Tell whether `granted` covers `required`: `read` covers `read:statuses`, and so on."""
    have = set(granted)
    if required in have:
        return True
    family = required.split(":", 1)[0]
    if ":" in required and family in have:
        return True
    return "follow" in have and required in FOLLOW_SCOPE_MEMBERS


def _check_redirect_uri(uri: str) -> str:
    uri = uri.strip()
    if uri == OOB_REDIRECT:
        return uri
    parts = urlsplit(uri)
    if not parts.scheme or parts.scheme.lower() in _FORBIDDEN_REDIRECT_SCHEMES:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} is not an absolute URI.", status=422)
    if parts.fragment or len(uri) > 2000:
        raise OAuthError(
            "invalid_redirect_uri",
            f"{uri!r} must not have a fragment (RFC 6749 §3.1.2).",
            status=422,
        )
    if parts.scheme.lower() in ("http", "https") and not parts.netloc:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} has no host.", status=422)
    return uri


def redirect_uris_of(app: OAuthApp) -> list[str]:
    return [line for line in app.redirect_uris.split("\n") if line]


async def register_app(
    ctx: Context, *, name: str, redirect_uris: str, scopes: str | None, website: str | None
) -> RegisteredApp:
    """Register a client app; the returned secret is shown once and stored only as a hash."""
    name = name.strip()
    if not name or len(name) > 255:
        raise OAuthError(
            "invalid_client_metadata", "client_name must have 1 to 255 characters.", status=422
        )
    uris = [_check_redirect_uri(u) for u in redirect_uris.split() if u.strip()]
    if not uris:
        raise OAuthError("invalid_redirect_uri", "redirect_uris is required.", status=422)
    if len(uris) > MAX_REDIRECT_URIS:
        raise OAuthError("invalid_redirect_uri", "At most ten redirect URIs.", status=422)
    try:
        scope_names = parse_scopes(scopes)
    except OAuthError as exc:
        raise OAuthError(exc.code, exc.message, status=422) from None
    website = (website or "").strip() or None
    if website is not None and (
        not website.startswith(("https://", "http://")) or len(website) > 2048
    ):
        raise OAuthError("invalid_client_metadata", "website must be an http(s) URL.", status=422)
    secret = new_secret()
    app = OAuthApp(
        id=new_id(),
        client_id=secrets.token_urlsafe(32),
        # The column holds the secret's SHA-256, never the secret itself.
        client_secret=digest(secret),
        name=name,
        website=website,
        redirect_uris="\n".join(dict.fromkeys(uris)),
        scopes=" ".join(scope_names),
        created_at=utcnow(),
    )
    async with ctx.sessions() as session:
        session.add(app)
        await session.commit()
    return RegisteredApp(app, secret)


async def find_app(ctx: Context, client_id: str | None) -> OAuthApp:
    """Return a registered app by client id, or raise `invalid_client`."""
    if client_id:
        async with ctx.sessions() as session:
            app = await session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id))
        if app is not None:
            return app
    raise OAuthError("invalid_client", "Unknown client_id.", status=401)


async def authenticate_client(
    ctx: Context, client_id: str | None, client_secret: str | None
) -> OAuthApp:
    """Return the app whose id and secret these are, or raise `invalid_client` (401)."""
    app = await find_app(ctx, client_id)
    if not client_secret or not hmac.compare_digest(app.client_secret, digest(client_secret)):
        raise OAuthError("invalid_client", "Client authentication failed.", status=401)
    return app


async def check_authorization(
    ctx: Context,
    *,
    client_id: str | None,
    redirect_uri: str | None,
    response_type: str | None,
    scope: str | None,
    state: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
) -> AuthorizationRequest:
    """Validate an authorisation request before anything is shown to the person.

    A bad client or redirect URI must never redirect (RFC 6749 §4.1.2.1); callers tell those
    apart by `code` (`invalid_client`, `invalid_redirect_uri`) and redirect the others.
    """
    app = await find_app(ctx, client_id)
    registered = redirect_uris_of(app)
    chosen = redirect_uri or (registered[0] if len(registered) == 1 else None)
    if chosen is None or chosen not in registered:
        raise OAuthError(
            "invalid_redirect_uri", "redirect_uri is not one the app registered.", status=400
        )
    given = bool(redirect_uri)
    request = AuthorizationRequest(app, chosen, given, (), state, None)
    if response_type != "code":
        raise RedirectableError(request, "unsupported_response_type", "Only response_type=code.")
    try:
        scopes = parse_scopes(scope, allowed=app.scopes.split())
    except OAuthError as exc:
        raise RedirectableError(request, exc.code, exc.message) from None
    if code_challenge is not None:
        if (code_challenge_method or "plain") != "S256":
            raise RedirectableError(
                request, "invalid_request", "Only the S256 code_challenge_method is supported."
            )
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", code_challenge):
            raise RedirectableError(request, "invalid_request", "Malformed code_challenge.")
    return AuthorizationRequest(app, chosen, given, scopes, state, code_challenge)


def add_token(
    session: AsyncSession,
    app_id: int | None,
    user_id: int,
    scopes: tuple[str, ...],
    *,
    code_hash: str | None = None,
) -> IssuedToken:
    """Add a new token to the caller's transaction; `code_hash` names the code it was bought
    with, if any, so that code's reuse can revoke it."""
    raw = new_secret()
    now = utcnow()
    session.add(
        OAuthToken(
            id=new_id(),
            token_hash=digest(raw),
            app_id=app_id,
            user_id=user_id,
            scopes=" ".join(scopes),
            created_at=now,
            code_hash=code_hash,
        )
    )
    return IssuedToken(raw, scopes, now)


async def create_token(ctx: Context, username: str, scopes: str | None) -> IssuedToken:
    """Issue a token for a local user without an app (the `tokens create` command)."""
    scope_names = parse_scopes(scopes)
    async with ctx.sessions() as session:
        actor = await actor_queries.get_local_by_name(session, username, kind="Person")
        user = (
            await session.scalar(select(User).where(User.actor_id == actor.id))
            if actor is not None and actor.deleted_at is None
            else None
        )
        if user is None or actor is None:
            raise NotFound(f"No local user called {username!r}.")
        if not may_sign_in(user, actor):
            raise Forbidden(f"{username!r} is awaiting approval or was closed: no token.")
        issued = add_token(session, None, user.id, scope_names)
        await session.commit()
    return issued


async def revoke(ctx: Context, app: OAuthApp, token: str | None) -> None:
    """Revoke one of the app's tokens; unknown tokens are ignored (RFC 7009 §2.2)."""
    if not token:
        return
    async with ctx.sessions() as session:
        await session.execute(
            update(OAuthToken)
            .where(
                OAuthToken.token_hash == digest(token),
                OAuthToken.app_id == app.id,
                OAuthToken.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        await session.commit()


async def revoke_tokens_of_user(session: AsyncSession, user_id: int) -> int:
    """Revoke every live token of an account, in the caller's transaction; return how many."""
    result = await session.execute(
        update(OAuthToken)
        .where(OAuthToken.user_id == user_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def authenticate(ctx: Context, token: str) -> Grant | None:
    """Return what a bearer token grants, or None when it is unknown, revoked or its account
    can no longer use it."""
    if not token or len(token) > 512:
        return None
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(OAuthToken, User, Actor)
                .join(User, User.id == OAuthToken.user_id)
                .join(Actor, Actor.id == User.actor_id)
                .where(OAuthToken.token_hash == digest(token))
            )
        ).first()
        if row is None:
            return None
        token_row, user, actor = row
        if token_row.revoked_at is not None or not may_sign_in(user, actor):
            return None
        now = utcnow()
        if token_row.last_used_at is None or now - token_row.last_used_at > LAST_USED_PRECISION:
            token_row.last_used_at = now
            await session.commit()
        return Grant(
            token_id=token_row.id,
            user_id=user.id,
            actor=actor,
            app_id=token_row.app_id,
            scopes=frozenset(token_row.scopes.split()),
            is_admin=user.is_admin,
        )


async def app_of(ctx: Context, grant: Grant) -> OAuthApp | None:
    """Return the app a token was issued to (None for command-line tokens)."""
    if grant.app_id is None:
        return None
    async with ctx.sessions() as session:
        return await session.get(OAuthApp, grant.app_id)
