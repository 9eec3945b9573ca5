"""Helpers for client API tests: a token for a local user and an HTTP client that speaks to an
instance of the fake network the way a Mastodon app would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape

import httpx

from fediverse.services import oauth
from fediverse.services.actors import NewUser, create_user
from tests.fakenet import FakeNet, Instance

ALL_SCOPES = "read write follow"


async def token_for(instance: Instance, username: str, scopes: str = ALL_SCOPES) -> str:
    """Issue a bearer token for a local user, as `fediverse tokens create` does."""
    return (await oauth.create_token(instance.ctx, username, scopes)).access_token


async def user_with_token(
    instance: Instance, username: str, scopes: str = ALL_SCOPES, **extra: object
) -> str:
    await create_user(instance.ctx, NewUser(username=username, **extra))  # type: ignore[arg-type]
    return await token_for(instance, username, scopes)


@asynccontextmanager
async def api(
    net: FakeNet, instance: Instance, token: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Yield a client for `instance` (its base URL), sending `token` as a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(
        transport=net.transport(), base_url=instance.base_url, headers=headers
    ) as client:
        yield client


def hidden_fields(page: str) -> dict[str, str]:
    """Return the hidden inputs of an HTML form (name → value)."""
    fields = {}
    for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", page):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    return fields


def link_params(response: httpx.Response) -> dict[str, httpx.URL]:
    """Return the Link header's URLs by rel."""
    links: dict[str, httpx.URL] = {}
    for part in response.headers.get("Link", "").split(","):
        match = re.search(r'<([^>]+)>;\s*rel="([^"]+)"', part)
        if match:
            links[match.group(2)] = httpx.URL(match.group(1))
    return links
