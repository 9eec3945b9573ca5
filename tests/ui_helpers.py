"""Helpers for web page tests: a browser-like client that keeps cookies and fills in forms,
the CSRF token included, the way a person's browser would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape
from typing import Any

import httpx

from fediverse.services.actors import NewUser, create_user
from tests.fakenet import FakeNet, Instance

PASSWORD = "correct horse battery staple"


def csrf_of(page: str) -> str:
    """Return the CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no form with a CSRF token"
    return unescape(match.group(1))


class Browser:
    """An httpx client on one instance that submits forms with the token the page gave it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def submit(
        self,
        page: str,
        action: str,
        fields: dict[str, Any] | None = None,
        *,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Open `page`, then post `fields` to `action` with the page's CSRF token."""
        shown = await self.client.get(page)
        assert shown.status_code == 200, shown.text
        data = {"csrf_token": csrf_of(shown.text), **(fields or {})}
        return await self.client.post(action, data=data, files=files, headers=headers)

    async def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        response = await self.submit(
            "/sign-in", "/sign-in", {"username": username, "password": password}
        )
        assert response.status_code == 303, response.text
        return response


@asynccontextmanager
async def browser(net: FakeNet, instance: Instance) -> AsyncIterator[Browser]:
    async with httpx.AsyncClient(
        transport=net.transport(),
        base_url=instance.base_url,
        headers={"Accept": "text/html,application/xhtml+xml"},
    ) as client:
        yield Browser(client)


@asynccontextmanager
async def signed_in(
    net: FakeNet, instance: Instance, username: str, *, create: bool = True
) -> AsyncIterator[Browser]:
    """Yield a browser signed in as `username` (created first, with PASSWORD, by default)."""
    if create:
        await create_user(instance.ctx, NewUser(username=username, password=PASSWORD))
    async with browser(net, instance) as person:
        await person.sign_in(username)
        yield person


def text_of(page: str) -> str:
    """Return the visible text of a page, tags removed and spaces collapsed (for assertions)."""
    without_tags = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", "", page))
    return " ".join(unescape(without_tags).split())
