"""The person behind a browser request, for the web pages: a thin wrapper of `services.auth`.

`services.auth` knows sessions but not HTTP; this module reads the cookie (once per request),
sets and clears it as `auth.session_cookie` describes, and turns "not signed in" into a redirect
to the sign-in page that comes back to where the person was.
"""

from __future__ import annotations

from quart import Response, g, request

from fediverse.errors import Unauthorized
from fediverse.services import auth
from fediverse.services.auth import CookieSpec, SessionGrant, SignedIn
from fediverse.web import client_address, current_context

_VIEWER = "ui_viewer"


class SignInRequired(Unauthorized):
    """Raise on a page that needs a signed-in person; the handler redirects to /sign-in."""

    default_message = "Sign in to see this page."


async def current_viewer() -> SignedIn | None:
    """Return who is signed in on this request (looked up once), or None."""
    if _VIEWER not in g:
        ctx = current_context()
        cookie = request.cookies.get(auth.session_cookie(ctx).name)
        setattr(g, _VIEWER, await auth.session_for(ctx, cookie))
    viewer: SignedIn | None = getattr(g, _VIEWER)
    return viewer


async def require_viewer() -> SignedIn:
    """Return the signed-in person, or raise SignInRequired."""
    viewer = await current_viewer()
    if viewer is None:
        raise SignInRequired()
    return viewer


def session_cookie_value() -> str | None:
    return request.cookies.get(auth.session_cookie(current_context()).name)


def set_cookie(response: Response, spec: CookieSpec, value: str) -> None:
    """Set a cookie exactly as the auth service specifies it (HTTP-only, SameSite, Secure)."""
    response.set_cookie(
        spec.name,
        value,
        max_age=spec.max_age,
        path=spec.path,
        secure=spec.secure,
        httponly=spec.http_only,
        samesite=spec.same_site,
    )


def start_session(response: Response, grant: SessionGrant) -> None:
    """Hand the browser its new session cookie, and drop its pre-sign-in form token: from now
    on only the session's own token is accepted, and after sign-out a new pair is made."""
    ctx = current_context()
    set_cookie(response, auth.session_cookie(ctx), grant.cookie_value)
    _delete_cookie(response, auth.form_cookie(ctx))


def end_session(response: Response) -> None:
    """Remove the session cookie from the browser."""
    _delete_cookie(response, auth.session_cookie(current_context()))


def _delete_cookie(response: Response, spec: CookieSpec) -> None:
    response.delete_cookie(
        spec.name, path=spec.path, secure=spec.secure, httponly=True, samesite=spec.same_site
    )


async def sign_in(username: str, password: str) -> SessionGrant:
    """Check a password (rate-limited by the auth service) and open a session."""
    return await auth.sign_in(
        current_context(),
        username,
        password,
        address=client_address(),
        user_agent=request.headers.get("User-Agent"),
    )
