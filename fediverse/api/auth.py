"""Bearer tokens on API routes: `@bearer("read:statuses")` checks the token and its scope.

A missing or invalid token is 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3); a valid token
without the scope is 403 `insufficient_scope`. On `optional=True` routes anonymous requests pass,
but a token that is sent must still be valid and carry the scope, as on Mastodon.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from quart import g, request

from fediverse.errors import Forbidden, Unauthorized
from fediverse.services import oauth
from fediverse.services.oauth import Grant
from fediverse.web import current_context, limit_address

P = ParamSpec("P")
R = TypeVar("R")
GRANT_KEY = "api_grant"
LOOKUP_KEY = "api_token_lookup"


class TokenRequired(Unauthorized):
    default_message = "The access token is invalid."

    def www_authenticate(self) -> str:
        realm = current_context().domain.replace('"', "")
        if request.headers.get("Authorization"):
            return f'Bearer realm="{realm}", error="invalid_token"'
        return f'Bearer realm="{realm}"'


class MissingScope(Forbidden):
    default_message = "This action is outside the authorized scopes."

    def __init__(self, scopes: tuple[str, ...]) -> None:
        super().__init__()
        self.scopes = scopes

    def www_authenticate(self) -> str:
        return f'Bearer error="insufficient_scope", scope="{" ".join(self.scopes)}"'


def _token_from_request() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def _grant_of_request() -> Grant | None:
    """Return what the request's bearer token grants (looked up once per request), or None."""
    if not hasattr(g, LOOKUP_KEY):
        token = _token_from_request()
        grant = await oauth.authenticate(current_context(), token) if token else None
        setattr(g, LOOKUP_KEY, grant)
    found: Grant | None = getattr(g, LOOKUP_KEY)
    return found


async def count_request() -> None:
    """Count an API request against its access token's limit, or its address's without one.

    A token that is sent but invalid counts against the address: inventing tokens must not
    buy fresh budgets.
    """
    ctx = current_context()
    grant = await _grant_of_request()
    if grant is not None:
        await ctx.limiter.hit(ctx.limiter.api_per_token, str(grant.token_id))
    else:
        await limit_address(ctx.limiter.api_per_address)


async def _load_grant(scopes: tuple[str, ...], optional: bool) -> Grant | None:
    token = _token_from_request()
    if token is None:
        if request.headers.get("Authorization") or not optional:
            raise TokenRequired()
        return None
    grant = await _grant_of_request()
    if grant is None:
        raise TokenRequired()
    if scopes and not any(grant.allows(scope) for scope in scopes):
        raise MissingScope(scopes)
    return grant


def bearer(
    *scopes: str, optional: bool = False
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Require (or, with `optional`, accept) a bearer token carrying one of `scopes`.

    With no scopes any valid token will do.
    """

    def decorate(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(view)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            setattr(g, GRANT_KEY, await _load_grant(scopes, optional))
            return await view(*args, **kwargs)

        return wrapper

    return decorate


def viewer() -> Grant | None:
    """Return the grant of the request's token, or None for an anonymous request."""
    grant: Grant | None = getattr(g, GRANT_KEY, None)
    return grant


def signed_in() -> Grant:
    """Return the grant of a route decorated with a required `@bearer`."""
    grant = viewer()
    if grant is None:
        raise TokenRequired()
    return grant


def viewer_id() -> int | None:
    """Return the actor id of the request's account, or None when anonymous."""
    grant = viewer()
    return grant.actor.id if grant is not None else None
