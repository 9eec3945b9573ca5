"""CSRF tokens of the web pages: once someone signs in, only their session's own token counts.

Before sign-in a form carries a double-submit token (a field and a SameSite=Strict cookie). That
pair must die at sign-in: a signed-in browser that posts it (a stale tab, or a pair planted by
someone who saw the pre-sign-in page) is refused, and the pair is replaced by a fresh one after
sign-out. These tests check HTTP behaviour, not storage, so they run on SQLite only.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from fediverse.services import auth
from fediverse.services.actors import NewUser, create_user
from fediverse.store.tables import Post
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance
from tests.ui_helpers import PASSWORD, browser, csrf_of


@pytest.fixture
def database(tmp_path: Path) -> Database:
    """Override the two-engine fixture: nothing here depends on the engine."""
    return Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    await create_user(instance.ctx, NewUser(username="alice", password=PASSWORD))
    return instance


def _form_cookie(client: httpx.AsyncClient, site: Instance) -> str | None:
    return client.cookies.get(auth.form_cookie(site.ctx).name)


async def _posts(site: Instance) -> int:
    async with site.ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Post)) or 0)


async def test_the_pre_sign_in_token_is_refused_once_signed_in(
    net: FakeNet, site: Instance
) -> None:
    async with browser(net, site) as person:
        shown = await person.get("/sign-in")
        before = csrf_of(shown.text)
        assert _form_cookie(person.client, site) == before
        signed = await person.client.post(
            "/sign-in", data={"csrf_token": before, "username": "alice", "password": PASSWORD}
        )
        assert signed.status_code == 303, signed.text
        # Sign-in rotates the token: the browser is told to drop the pre-sign-in cookie.
        assert _form_cookie(person.client, site) is None

        # Even when the old pair is sent again (a stale tab, or a cookie someone planted), a
        # signed-in form must carry the session's own token.
        person.client.cookies.set(auth.form_cookie(site.ctx).name, before, domain="a.test")
        stale = await person.client.post(
            "/compose", data={"csrf_token": before, "text": "stale", "visibility": "public"}
        )
        assert stale.status_code == 403
        assert await _posts(site) == 0

        fresh = await person.submit("/compose", "/compose", {"text": "hi", "visibility": "public"})
        assert fresh.status_code == 303
        assert await _posts(site) == 1


async def test_the_session_token_is_not_the_pre_sign_in_one_and_dies_with_it(
    net: FakeNet, site: Instance
) -> None:
    async with browser(net, site) as person:
        before = csrf_of((await person.get("/sign-in")).text)
        await person.sign_in("alice")
        session_token = csrf_of((await person.get("/compose")).text)
        assert session_token != before
        await person.submit("/", "/sign-out")
        # Signed out: the session's token is no good, and the next form gets a new pair.
        anonymous = csrf_of((await person.get("/sign-in")).text)
        assert anonymous not in (before, session_token)
        refused = await person.client.post(
            "/sign-in",
            data={"csrf_token": session_token, "username": "alice", "password": PASSWORD},
        )
        assert refused.status_code == 403


async def test_signing_in_again_replaces_the_browsers_session(net: FakeNet, site: Instance) -> None:
    async with browser(net, site) as person:
        await person.sign_in("alice")
        first = person.client.cookies.get(auth.session_cookie(site.ctx).name)
        again = await person.submit(
            "/compose", "/sign-in", {"username": "alice", "password": PASSWORD}
        )
        assert again.status_code == 303
        assert person.client.cookies.get(auth.session_cookie(site.ctx).name) != first
        assert await auth.session_for(site.ctx, first) is None
