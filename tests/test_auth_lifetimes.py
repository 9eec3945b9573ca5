"""How long a sign-in lasts, and who may have one: session expiry, authorisation code expiry,
and people whose account is not (or no longer) approved. Time comparisons and the approved flag
are storage semantics, so these run on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from fediverse.errors import Forbidden
from fediverse.services import auth, oauth, oauth_codes
from fediverse.services.actors import NewUser, create_user
from fediverse.services.oauth import OAuthError
from fediverse.store.tables import OAuthCode, OAuthToken, User, WebSession
from fediverse.store.types import utcnow
from tests.api_helpers import api
from tests.fakenet import FakeNet, Instance
from tests.ui_helpers import PASSWORD, browser

REDIRECT = "https://app.example/callback"


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    await create_user(instance.ctx, NewUser(username="alice", password=PASSWORD))
    return instance


async def _set_approved(site: Instance, user_id: int, approved: bool) -> None:
    async with site.ctx.sessions() as session:
        await session.execute(update(User).where(User.id == user_id).values(approved=approved))
        await session.commit()


async def _count(site: Instance, table: type[WebSession] | type[OAuthToken]) -> int:
    async with site.ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def _app_and_request(
    site: Instance,
) -> tuple[oauth.RegisteredApp, oauth.AuthorizationRequest]:
    registered = await oauth.register_app(
        site.ctx, name="App", redirect_uris=REDIRECT, scopes="read", website=None
    )
    request = await oauth.check_authorization(
        site.ctx, client_id=registered.app.client_id, redirect_uri=REDIRECT,
        response_type="code", scope="read", state=None, code_challenge=None,
        code_challenge_method=None,
    )  # fmt: skip
    return registered, request


async def test_a_session_ends_when_it_expires(net: FakeNet, site: Instance) -> None:
    grant = await auth.sign_in(site.ctx, "alice", PASSWORD, address="192.0.2.1")
    cookie_name = auth.session_cookie(site.ctx).name

    async def expire_in(delta: timedelta) -> None:
        async with site.ctx.sessions() as session:
            await session.execute(update(WebSession).values(expires_at=utcnow() + delta))
            await session.commit()

    await expire_in(timedelta(minutes=1))
    assert await auth.session_for(site.ctx, grant.cookie_value) is not None
    await expire_in(-timedelta(seconds=1))
    assert await auth.session_for(site.ctx, grant.cookie_value) is None
    # The pages and the consent page go by the same rule: the cookie opens nothing any more.
    async with browser(net, site) as person:
        person.client.cookies.set(cookie_name, grant.cookie_value, domain="a.test")
        page = await person.get("/compose")
        assert page.status_code == 303 and page.headers["Location"].startswith("/sign-in")
        registered, _ = await _app_and_request(site)
        consent = await person.get(
            "/oauth/authorize",
            params={"client_id": registered.app.client_id, "redirect_uri": REDIRECT,
                    "response_type": "code", "scope": "read"},
        )  # fmt: skip
        assert 'name="password"' in consent.text


async def test_an_authorisation_code_expires(site: Instance) -> None:
    registered, request = await _app_and_request(site)
    grant = await auth.sign_in(site.ctx, "alice", PASSWORD, address="192.0.2.1")
    fresh = await oauth_codes.create_code(site.ctx, request, grant.user_id)
    stale = await oauth_codes.create_code(site.ctx, request, grant.user_id)
    async with site.ctx.sessions() as session:
        stored = await session.get(OAuthCode, oauth.digest(fresh))
        assert stored is not None
        lifetime = stored.expires_at - utcnow()
        assert timedelta(minutes=9) < lifetime <= oauth_codes.CODE_LIFETIME == timedelta(minutes=10)
        await session.execute(
            update(OAuthCode)
            .where(OAuthCode.code_hash == oauth.digest(stale))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    with pytest.raises(OAuthError) as refused:
        await oauth_codes.exchange_code(
            site.ctx, registered.app, code=stale, redirect_uri=REDIRECT, code_verifier=None
        )
    assert refused.value.code == "invalid_grant" and "expired" in refused.value.message
    assert await _count(site, OAuthToken) == 0
    issued = await oauth_codes.exchange_code(
        site.ctx, registered.app, code=fresh, redirect_uri=REDIRECT, code_verifier=None
    )
    assert await oauth.authenticate(site.ctx, issued.access_token) is not None


async def test_people_not_approved_get_no_session_and_no_token(
    net: FakeNet, site: Instance
) -> None:
    ctx = site.ctx
    grant = await auth.sign_in(ctx, "alice", PASSWORD, address="192.0.2.1")
    token = (await oauth.create_token(ctx, "alice", "read")).access_token
    registered, request = await _app_and_request(site)
    code = await oauth_codes.create_code(ctx, request, grant.user_id)

    await _set_approved(site, grant.user_id, False)
    # The right password opens no session...
    with pytest.raises(Forbidden, match="awaiting approval"):
        await auth.sign_in(ctx, "alice", PASSWORD, address="192.0.2.1")
    assert await _count(site, WebSession) == 1
    async with browser(net, site) as person:
        refused = await person.submit(
            "/sign-in", "/sign-in", {"username": "alice", "password": PASSWORD}
        )
        assert refused.status_code == 403
    # ...the session opened before is no good...
    assert await auth.session_for(ctx, grant.cookie_value) is None
    # ...nor is a token, nor a code waiting to be exchanged.
    assert await oauth.authenticate(ctx, token) is None
    async with api(net, site, token) as client:
        assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 401
    with pytest.raises(OAuthError) as no_token:
        await oauth_codes.exchange_code(
            ctx, registered.app, code=code, redirect_uri=REDIRECT, code_verifier=None
        )
    assert no_token.value.code == "invalid_grant"
    assert await _count(site, OAuthToken) == 1
    with pytest.raises(Forbidden):
        await oauth.create_token(ctx, "alice", "read")

    # Approved again: the same session and token work (nothing was deleted by the check).
    await _set_approved(site, grant.user_id, True)
    assert await auth.session_for(ctx, grant.cookie_value) is not None
    assert await oauth.authenticate(ctx, token) is not None
