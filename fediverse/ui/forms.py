"""Form helpers for the web pages: CSRF tokens, reading fields, and redirects after a POST.

Every form carries a `csrf_token` field. For a signed-in person it is their session's token
(`services.auth`); before sign-in (the sign-in and join forms) it is a double-submit token that
also sits in a short-lived, SameSite=Strict, HTTP-only cookie. `check_csrf` runs for every
non-GET request of the web pages (see `pages.py`), so no form can forget it.
"""

from __future__ import annotations

from quart import Response, g, request
from werkzeug.datastructures import MultiDict

from fediverse.errors import Unprocessable
from fediverse.services import auth
from fediverse.services.auth import SignedIn
from fediverse.ui.session import current_viewer, set_cookie
from fediverse.web import current_context

CSRF_FIELD = "csrf_token"
_FRESH_KEY = "ui_fresh_form_value"
# A token we hand out is 43 characters (32 random bytes, base64url); refuse anything odd.
_TOKEN_LENGTHS = range(32, 129)


def _form_cookie_name() -> str:
    return auth.form_cookie(current_context()).name


def anonymous_form_token() -> str:
    """Return the pre-sign-in form token: the browser's current one, or a new one.

    Reusing the cookie's token keeps forms open in several tabs valid at once.
    """
    new: str | None = getattr(g, _FRESH_KEY, None)
    if new is not None:
        return new
    existing = request.cookies.get(_form_cookie_name())
    if existing and len(existing) in _TOKEN_LENGTHS:
        return existing
    token = auth.new_form_token()
    setattr(g, _FRESH_KEY, token)
    return token


def token_for(viewer: SignedIn | None) -> str:
    """Return the CSRF token a form shown to this viewer must carry."""
    return viewer.csrf_token if viewer is not None else anonymous_form_token()


def remember_form_token(response: Response) -> Response:
    """Set the form cookie when this request handed out a new pre-sign-in token."""
    token: str | None = getattr(g, _FRESH_KEY, None)
    if token is not None:
        set_cookie(response, auth.form_cookie(current_context()), token)
    return response


async def check_csrf(submitted: str | None) -> None:
    """Refuse (403) a form without the viewer's session token, or, before sign-in, without the
    token of the form cookie."""
    auth.check_request_token(
        await current_viewer(),
        submitted,
        form_cookie_value=request.cookies.get(_form_cookie_name()),
    )


async def read_form() -> MultiDict[str, str]:
    form: MultiDict[str, str] = await request.form
    return form


def text(form: MultiDict[str, str], name: str, *, limit: int = 100_000) -> str:
    """Return a text field, stripped of surrounding space; refuse absurd sizes."""
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise Unprocessable(f"The field {name!r} is too long.")
    return value


def items(value: str) -> list[str]:
    """Split a comma- or line-separated list typed into one box ("Python, SQL")."""
    parts = value.replace("\n", ",").split(",")
    return [part.strip() for part in parts if part.strip()]


def safe_next(value: str | None, default: str = "/") -> str:
    """Return a local path to go back to; anything else (another site) becomes `default`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(char) < 32 for char in value):
        return default
    return value


def redirect(location: str) -> Response:
    """Answer a POST with 303 See Other, so reloading the next page does not post again."""
    response = Response("", status=303)
    response.headers["Location"] = location
    return response


def wants_json() -> bool:
    """Tell whether a form was posted by our script (fetch), which wants JSON back."""
    return request.headers.get("Accept", "").startswith("application/json")
