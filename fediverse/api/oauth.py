"""OAuth 2 endpoints: app registration, the sign-in and consent page, token and revocation.

The authorisation code flow (RFC 6749 §4.1) with PKCE (RFC 7636): the app sends the person to
`/oauth/authorize`; they sign in (if needed) and approve; we redirect back with a one-time code,
which the app trades at `/oauth/token`. Errors about the client or the redirect URI are shown,
never redirected (§4.1.2.1); other errors go back to the app as `?error=`.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from quart import Response, render_template, request

from fediverse.api import entities
from fediverse.api.auth import bearer, signed_in
from fediverse.api.params import Params, read_params
from fediverse.api.routing import ApiBlueprint
from fediverse.errors import FediverseError, NotFound
from fediverse.services import auth, oauth, oauth_codes
from fediverse.services.auth import CookieSpec, SignedIn
from fediverse.services.oauth import (
    KNOWN_SCOPES,
    OOB_REDIRECT,
    AuthorizationRequest,
    OAuthError,
    RedirectableError,
)
from fediverse.web import client_address, current_context, json_response

blueprint = ApiBlueprint("oauth", __name__)

AUTHORIZE_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
SCOPE_LABELS = {
    "read": "Read everything in your account",
    "write": "Post, edit and delete, favourite, boost and follow as you",
    "follow": "Follow and unfollow accounts, and answer follow requests",
    "push": "Receive push notifications",
    "profile": "See your profile (and nothing else)",
}
SCOPE_FAMILIES = {"read": "Read your", "write": "Change your"}


# The page policy of app.py, with the app's redirect origin allowed as a form target: Chrome
# applies form-action to the redirect that follows the consent POST.
CONSENT_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_CSP_SAFE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_CSP_HOST = re.compile(r"[A-Za-z0-9.\-\[\]:]+")


def _consent_policy(redirect_uri: str) -> str:
    parts = urlsplit(redirect_uri)
    if redirect_uri == OOB_REDIRECT or not _CSP_SAFE.fullmatch(parts.scheme):
        return CONSENT_POLICY
    if parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        if not _CSP_HOST.fullmatch(host):
            return CONSENT_POLICY
        return f"{CONSENT_POLICY} {parts.scheme}://{host}"
    return f"{CONSENT_POLICY} {parts.scheme}:"


def _scope_label(scope: str) -> str:
    if scope in SCOPE_LABELS:
        return SCOPE_LABELS[scope]
    family, _, area = scope.partition(":")
    return f"{SCOPE_FAMILIES.get(family, family)} {area}"


@blueprint.post("/api/v1/apps")
async def create_app() -> Response:
    params = await read_params()
    redirect_uris = params.strings("redirect_uris")
    registered = await oauth.register_app(
        current_context(),
        name=params.text("client_name") or "",
        redirect_uris=" ".join(redirect_uris),
        scopes=params.text("scopes"),
        website=params.text("website"),
    )
    return json_response(
        entities.credential_application_json(registered.app, registered.client_secret)
    )


@blueprint.get("/api/v1/apps/verify_credentials")
@bearer()
async def verify_app() -> Response:
    app = await oauth.app_of(current_context(), signed_in())
    if app is None:
        raise NotFound("This token was made on the command line; it belongs to no app.")
    return json_response(entities.application_json(app))


@blueprint.get("/.well-known/oauth-authorization-server")
async def server_metadata() -> Response:
    """Describe this authorisation server (RFC 8414), as Mastodon 4.3 does."""
    uris = current_context().uris
    return json_response(
        {
            "issuer": uris.absolute("/"),
            "authorization_endpoint": uris.absolute("/oauth/authorize"),
            "token_endpoint": uris.absolute("/oauth/token"),
            "revocation_endpoint": uris.absolute("/oauth/revoke"),
            "app_registration_endpoint": uris.absolute("/api/v1/apps"),
            "scopes_supported": sorted(KNOWN_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
    )


def _with_query(uri: str, values: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((key, value) for key, value in values.items() if value is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _check(fields: dict[str, str | None]) -> AuthorizationRequest:
    return await oauth.check_authorization(current_context(), **fields)


def _redirect(target: str) -> Response:
    response = Response("", status=302)
    response.headers["Location"] = target
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_redirect(error: RedirectableError) -> Response:
    request_ = error.request
    if request_.redirect_uri == OOB_REDIRECT:
        raise OAuthError(error.code, error.message)
    target = _with_query(
        request_.redirect_uri,
        {"error": error.code, "error_description": error.message, "state": request_.state},
    )
    return _redirect(target)


async def _page(template: str, status: int = 200, **values: Any) -> Response:
    ctx = current_context()
    body = await render_template(
        template, instance_name=ctx.config.instance.name, domain=ctx.domain, **values
    )
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    # The consent page must never be framed or cached (RFC 6749 §10.13).
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_cookie(response: Response, spec: CookieSpec, value: str) -> None:
    response.set_cookie(
        spec.name,
        value,
        max_age=spec.max_age,
        path=spec.path,
        secure=spec.secure,
        httponly=spec.http_only,
        samesite=spec.same_site,
    )


async def _sign_in_page(
    fields: dict[str, str | None], *, message: str | None = None, status: int = 200
) -> Response:
    ctx = current_context()
    token = auth.new_form_token()
    response = await _page(
        "oauth/sign_in.html", status, fields=fields, form_token=token, message=message
    )
    _set_cookie(response, auth.form_cookie(ctx), token)
    return response


async def _consent_page(
    fields: dict[str, str | None], checked: AuthorizationRequest, person: SignedIn | None = None,
    *, username: str | None = None, csrf: str | None = None,
) -> Response:  # fmt: skip
    response = await _page(
        "oauth/consent.html",
        fields=fields,
        app=checked.app,
        scopes=[(scope, _scope_label(scope)) for scope in checked.scopes],
        username=username or (person.username if person else ""),
        # Not `csrf_token`: the web pages' templates use that name for a function.
        consent_token=csrf or (person.csrf_token if person else ""),
    )
    response.headers["Content-Security-Policy"] = _consent_policy(checked.redirect_uri)
    return response


async def _signed_in() -> SignedIn | None:
    ctx = current_context()
    return await auth.session_for(ctx, request.cookies.get(auth.session_cookie(ctx).name))


@blueprint.get("/oauth/authorize")
async def authorize_page() -> Response:
    fields = {name: request.args.get(name) for name in AUTHORIZE_FIELDS}
    try:
        checked = await _check(fields)
    except RedirectableError as error:
        return _error_redirect(error)
    person = await _signed_in()
    if person is None or Params({"f": request.args.getlist("force_login")}).flag("f"):
        return await _sign_in_page(fields)
    return await _consent_page(fields, checked, person)


@blueprint.post("/oauth/authorize")
async def authorize_answer() -> Response:
    ctx = current_context()
    form = await request.form
    fields = {name: form.get(name) or None for name in AUTHORIZE_FIELDS}
    try:
        checked = await _check(fields)
    except RedirectableError as error:
        return _error_redirect(error)
    if form.get("step") == "sign_in":
        auth.check_form_token(
            request.cookies.get(auth.form_cookie(ctx).name), form.get("form_token")
        )
        try:
            grant = await auth.sign_in(
                ctx,
                form.get("username", ""),
                form.get("password", ""),
                address=client_address(),
                user_agent=request.headers.get("User-Agent"),
            )
        except FediverseError as error:
            page = await _sign_in_page(fields, message=error.message, status=error.status)
            page.headers.update(error.headers())
            return page
        # Signing in again (force_login) replaces the browser's session: end the old one.
        await auth.sign_out(ctx, request.cookies.get(auth.session_cookie(ctx).name))
        response = await _consent_page(
            fields, checked, username=grant.username, csrf=grant.csrf_token
        )
        _set_cookie(response, auth.session_cookie(ctx), grant.cookie_value)
        response.delete_cookie(auth.form_cookie(ctx).name)
        return response
    person = await _signed_in()
    if person is None:
        return await _sign_in_page(fields, message="Your session ended; sign in again.")
    auth.check_csrf(person, form.get("csrf_token"))
    if form.get("decision") != "approve":
        return _error_redirect(
            RedirectableError(checked, "access_denied", "The person declined the request.")
        )
    code = await oauth_codes.create_code(ctx, checked, person.user_id)
    if checked.redirect_uri == OOB_REDIRECT:
        return await _page("oauth/code.html", code=code, app=checked.app)
    return _redirect(_with_query(checked.redirect_uri, {"code": code, "state": checked.state}))


def _client_credentials(params: Params) -> tuple[str | None, str | None]:
    """Read client_id and secret from HTTP Basic (RFC 6749 §2.3.1) or the body."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, secret = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Malformed Basic credentials.", status=401) from None
        # Both parts are form-urlencoded before they are joined (RFC 6749 §2.3.1).
        return unquote_plus(client_id), unquote_plus(secret)
    return params.text("client_id"), params.text("client_secret")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@blueprint.post("/oauth/token")
async def token() -> Response:
    ctx = current_context()
    params = await read_params()
    grant_type = params.text("grant_type")
    if grant_type != "authorization_code":
        raise OAuthError(
            "unsupported_grant_type",
            "Only the authorization_code grant is supported; sign in through /oauth/authorize.",
        )
    app = await oauth.authenticate_client(ctx, *_client_credentials(params))
    issued = await oauth_codes.exchange_code(
        ctx,
        app,
        code=params.text("code"),
        redirect_uri=params.text("redirect_uri"),
        code_verifier=params.text("code_verifier"),
    )
    return _no_store(json_response(entities.token_json(issued)))


@blueprint.post("/oauth/revoke")
async def revoke() -> Response:
    ctx = current_context()
    params = await read_params()
    app = await oauth.authenticate_client(ctx, *_client_credentials(params))
    await oauth.revoke(ctx, app, params.text("token"))
    return _no_store(json_response({}))
