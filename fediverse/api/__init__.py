"""The Mastodon-compatible client API (`/api/`) and its OAuth 2 server (`/oauth/`).

One blueprint holds every area's routes, so errors render one way: `{"error": "..."}` with the
right status, `WWW-Authenticate: Bearer` on 401 (RFC 6750), and RFC 6749's
`{"error": code, "error_description": ...}` from the OAuth endpoints. Browser-based clients may
call the API from any origin: tokens, not cookies, authorise it, so CORS is open.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from fediverse.api import (
    accounts,
    follow_requests,
    instance,
    notifications,
    oauth,
    search,
    statuses,
    timelines,
)
from fediverse.api.auth import count_request
from fediverse.api.entities import error_json
from fediverse.errors import FediverseError
from fediverse.services.oauth import OAuthError
from fediverse.web import current_context, json_response, limit_address

blueprint = Blueprint("api", __name__)
for area in (
    accounts,
    follow_requests,
    instance,
    notifications,
    oauth,
    search,
    statuses,
    timelines,
):
    blueprint.register_blueprint(area.blueprint)

CORS_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/oauth-")
# Where apps trade secrets and codes, or register themselves: stricter, per address.
CREDENTIAL_ROUTES = frozenset({"/oauth/token", "/oauth/revoke", "/api/v1/apps"})
EXPOSED_HEADERS = "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining"


@blueprint.before_request
async def count_against_limits() -> None:
    if request.method == "POST" and request.path.rstrip("/") in CREDENTIAL_ROUTES:
        await limit_address(current_context().limiter.oauth_per_address)
    else:
        await count_request()


@blueprint.errorhandler(FediverseError)
async def render_error(error: FediverseError) -> Response:
    if isinstance(error, OAuthError):
        response = json_response(error_json(error.code, error.message), status=error.status)
    else:
        response = json_response(error_json(error.message), status=error.status)
    response.headers.update(error.headers())
    challenge = getattr(error, "www_authenticate", None)
    if callable(challenge):
        response.headers["WWW-Authenticate"] = challenge()
    return response


@blueprint.after_app_request
async def allow_cross_origin(response: Response) -> Response:
    # Registered app-wide so that preflight OPTIONS and 404s under /api/ carry it too.
    if request.path.startswith(CORS_PREFIXES):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, Idempotency-Key"
            )
            response.headers["Access-Control-Max-Age"] = "3600"
    return response
