"""OAuth 2: app registration, the authorisation code flow with PKCE, tokens, scopes, revocation,
and the password sign-in (rate limits, sessions, CSRF) behind the consent page."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from fediverse.errors import Forbidden
from fediverse.services import auth, oauth, oauth_codes
from fediverse.services.actors import NewUser, create_user
from fediverse.services.oauth import OAuthError, scope_allows
from fediverse.store.tables import OAuthApp, OAuthToken, WebSession
from tests.api_helpers import api, hidden_fields, token_for
from tests.fakenet import FakeNet, Instance

REDIRECT = "https://app.example/callback"
PASSWORD = "correct horse battery"
APPLICATION_KEYS = {"id", "name", "website", "scopes", "redirect_uri", "redirect_uris"}
CREDENTIAL_APPLICATION_KEYS = APPLICATION_KEYS | {"client_id", "client_secret"}
TOKEN_KEYS = {"access_token", "token_type", "scope", "created_at"}


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    await create_user(instance.ctx, NewUser(username="alice", password=PASSWORD))
    return instance


async def _register(client: httpx.AsyncClient, scopes: str = "read write follow") -> dict[str, str]:
    response = await client.post(
        "/api/v1/apps",
        data={
            "client_name": "Test App",
            "redirect_uris": f"{REDIRECT}\nurn:ietf:wg:oauth:2.0:oob",
            "scopes": scopes,
            "website": "https://app.example",
        },
    )
    assert response.status_code == 200, response.text
    document: dict[str, str] = response.json()
    return document


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def _authorize(
    client: httpx.AsyncClient,
    app: dict[str, str],
    *,
    scope: str = "read write",
    redirect_uri: str | None = REDIRECT,
    challenge: str | None = None,
    decision: str = "approve",
) -> httpx.Response:
    """Sign in and answer the consent page; return the final (redirect) response.

    `redirect_uri=None` leaves the parameter out (allowed when the app registered only one).
    """
    query = {
        "client_id": app["client_id"],
        "response_type": "code",
        "scope": scope,
        "state": "xyz",
    }
    if redirect_uri is not None:
        query["redirect_uri"] = redirect_uri
    if challenge:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200, page.text
    assert 'name="password"' in page.text
    form = hidden_fields(page.text) | {"username": "alice", "password": PASSWORD}
    consent = await client.post("/oauth/authorize", data=form)
    assert consent.status_code == 200, consent.text
    assert "Allow Test App to use your account?" in consent.text
    answer = hidden_fields(consent.text) | {"decision": decision}
    return await client.post("/oauth/authorize", data=answer)


async def _approve_again(client: httpx.AsyncClient, app: dict[str, str]) -> str:
    """Answer the consent page of a browser that is signed in already; return the new code."""
    query = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
             "scope": "read", "state": "xyz"}  # fmt: skip
    consent = await client.get("/oauth/authorize", params=query)
    assert "Allow Test App to use your account?" in consent.text
    answer = hidden_fields(consent.text) | {"decision": "approve"}
    return _code_of(await client.post("/oauth/authorize", data=answer))


def _code_of(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


async def test_code_flow_with_pkce_then_revocation(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        app = await _register(client)
        assert set(app) == CREDENTIAL_APPLICATION_KEYS
        assert app["redirect_uris"] == [REDIRECT, "urn:ietf:wg:oauth:2.0:oob"]
        verifier, challenge = _pkce()
        code = _code_of(await _authorize(client, app, challenge=challenge))

        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "code_verifier": verifier,
        }
        issued = await client.post("/oauth/token", data=exchange)
        assert issued.status_code == 200, issued.text
        token = issued.json()
        assert set(token) == TOKEN_KEYS
        assert token["token_type"] == "Bearer" and token["scope"] == "read write"
        assert issued.headers["Cache-Control"] == "no-store"

        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer)
        assert me.status_code == 200 and me.json()["username"] == "alice"
        who = await client.get("/api/v1/apps/verify_credentials", headers=bearer)
        assert set(who.json()) == APPLICATION_KEYS and who.json()["name"] == "Test App"

        # A code works once.
        again = await client.post("/oauth/token", data=exchange)
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"

        revoked = await client.post(
            "/oauth/revoke",
            data={
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "token": token["access_token"],
            },
        )
        assert revoked.status_code == 200 and revoked.json() == {}
        after = await client.get("/api/v1/accounts/verify_credentials", headers=bearer)
        assert after.status_code == 401
        assert after.json() == {"error": "The access token is invalid."}
        assert after.headers["WWW-Authenticate"].startswith("Bearer ")
        assert 'error="invalid_token"' in after.headers["WWW-Authenticate"]

    async with site.ctx.sessions() as session:
        stored = (await session.scalars(select(OAuthToken))).one()
        stored_app = (await session.scalars(select(OAuthApp))).one()
    # Only hashes are kept.
    assert stored.token_hash == hashlib.sha256(token["access_token"].encode()).hexdigest()
    assert stored.revoked_at is not None
    assert app["client_secret"] not in stored_app.client_secret


async def test_session_cookie_is_host_only_secure_and_lax(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        app = await _register(client)
        page = await client.get(
            "/oauth/authorize",
            params={"client_id": app["client_id"], "redirect_uri": REDIRECT,
                    "response_type": "code"},
        )  # fmt: skip
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        form = hidden_fields(page.text) | {"username": "alice", "password": PASSWORD}
        consent = await client.post("/oauth/authorize", data=form)
    cookie = next(
        value
        for name, value in consent.headers.multi_items()
        if name == "set-cookie" and value.startswith("__Host-fediverse_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "path"} <= attributes
    assert "samesite=lax" in cookie.lower()
    # The consent form may redirect to the app: Chrome checks form-action on redirects.
    assert "form-action 'self' https://app.example" in consent.headers["Content-Security-Policy"]
    assert consent.headers["Cache-Control"] == "no-store"
    # Signed in already: the next authorisation goes straight to the consent page.
    async with api(net, site) as client:
        client.cookies.set(cookie.split("=", 1)[0], cookie.split("=", 1)[1].split(";")[0])
        again = await client.get(
            "/oauth/authorize",
            params={"client_id": app["client_id"], "redirect_uri": REDIRECT,
                    "response_type": "code"},
        )  # fmt: skip
        assert again.status_code == 200, again.text
        assert "Allow Test App to use your account?" in again.text
        assert 'name="password"' not in again.text


async def test_pkce_mismatch_burns_the_code(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        app = await _register(client)
        verifier, challenge = _pkce()
        code = _code_of(await _authorize(client, app, challenge=challenge))
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        }
        missing = await client.post("/oauth/token", data=exchange)
        assert missing.status_code == 400
        assert missing.json()["error"] == "invalid_grant"
        assert "code_verifier" in missing.json()["error_description"]
        # The failed attempt used the code up: even the right verifier is too late now.
        late = await client.post("/oauth/token", data=exchange | {"code_verifier": verifier})
        assert late.json()["error"] == "invalid_grant"


async def test_redirect_uri_must_be_registered_and_match(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        app = await _register(client)
        wrong = await client.get(
            "/oauth/authorize",
            params={
                "client_id": app["client_id"],
                "redirect_uri": "https://evil.example/steal",
                "response_type": "code",
            },
        )
        # Never redirected to an unregistered URI (RFC 6749 §4.1.2.1).
        assert wrong.status_code == 400 and "Location" not in wrong.headers
        assert wrong.json()["error"] == "invalid_redirect_uri"

        code = _code_of(await _authorize(client, app))
        exchange = await client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
            },
        )
        assert exchange.status_code == 400 and exchange.json()["error"] == "invalid_grant"


async def test_a_redirect_uri_named_at_authorisation_must_be_repeated_exactly(
    net: FakeNet, site: Instance
) -> None:
    async with api(net, site) as client:
        app = await _register(client)
        client_auth = {"grant_type": "authorization_code", "client_id": app["client_id"],
                       "client_secret": app["client_secret"]}  # fmt: skip
        code = _code_of(await _authorize(client, app))
        missing = await client.post("/oauth/token", data=client_auth | {"code": code})
        assert missing.status_code == 400, missing.text
        assert missing.json()["error"] == "invalid_grant"
        assert "redirect_uri" in missing.json()["error_description"]
        # Nearly the same is not the same (RFC 6749 §4.1.3: "identical").
        for near in (REDIRECT + "/", "HTTPS://app.example/callback", REDIRECT + "?", ""):
            code = await _approve_again(client, app)
            refused = await client.post(
                "/oauth/token", data=client_auth | {"code": code, "redirect_uri": near}
            )
            assert refused.status_code == 400, near
            assert refused.json()["error"] == "invalid_grant"
        code = await _approve_again(client, app)
        issued = await client.post(
            "/oauth/token", data=client_auth | {"code": code, "redirect_uri": REDIRECT}
        )
        assert issued.status_code == 200, issued.text


async def test_a_redirect_uri_left_out_at_authorisation_may_be_left_out_again(
    net: FakeNet, site: Instance
) -> None:
    async with api(net, site) as client:
        registered = await client.post(
            "/api/v1/apps",
            data={"client_name": "Test App", "redirect_uris": REDIRECT, "scopes": "read"},
        )
        app = registered.json()
        code = _code_of(await _authorize(client, app, scope="read", redirect_uri=None))
        issued = await client.post(
            "/oauth/token",
            data={"grant_type": "authorization_code", "code": code},
            auth=(app["client_id"], app["client_secret"]),
        )
        assert issued.status_code == 200, issued.text


async def test_a_reused_code_revokes_the_token_it_bought(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        app = await _register(client)
        code = _code_of(await _authorize(client, app))
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        }
        first = (await client.post("/oauth/token", data=exchange)).json()["access_token"]
        other_code = await _approve_again(client, app)
        other = await client.post("/oauth/token", data=exchange | {"code": other_code})
        second = other.json()["access_token"]
        replayed = await client.post("/oauth/token", data=exchange)
        assert replayed.status_code == 400
        assert replayed.json()["error"] == "invalid_grant"

    # The code leaked (RFC 6749 §4.1.2): the token first issued from it is revoked; a token from
    # another code of the same person is not.
    async with api(net, site, first) as client:
        assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 401
    async with api(net, site, second) as client:
        assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 200
    async with site.ctx.sessions() as session:
        tokens = (await session.scalars(select(OAuthToken).order_by(OAuthToken.id))).all()
    assert [token.revoked_at is not None for token in tokens] == [True, False]


async def test_two_exchanges_of_one_code_at_once_leave_no_working_token(site: Instance) -> None:
    ctx = site.ctx
    registered = await oauth.register_app(
        ctx, name="Racer", redirect_uris=REDIRECT, scopes="read", website=None
    )
    request = await oauth.check_authorization(
        ctx, client_id=registered.app.client_id, redirect_uri=REDIRECT, response_type="code",
        scope="read", state=None, code_challenge=None, code_challenge_method=None,
    )  # fmt: skip
    user_id = (await auth.sign_in(ctx, "alice", PASSWORD, address="192.0.2.9")).user_id
    code = await oauth_codes.create_code(ctx, request, user_id)
    results = await asyncio.gather(
        *(
            oauth_codes.exchange_code(
                ctx, registered.app, code=code, redirect_uri=REDIRECT, code_verifier=None
            )
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    issued = [result for result in results if isinstance(result, oauth.IssuedToken)]
    refused = [result for result in results if isinstance(result, OAuthError)]
    assert len(issued) == 1 and len(refused) == 1, results
    # The loser saw the code used: the winner's token is revoked as well.
    assert await oauth.authenticate(ctx, issued[0].access_token) is None


async def test_errors_after_the_client_is_known_go_back_to_the_app(
    net: FakeNet, site: Instance
) -> None:
    async with api(net, site) as client:
        app = await _register(client, scopes="read")
        too_much = await client.get(
            "/oauth/authorize",
            params={
                "client_id": app["client_id"],
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "scope": "read write",
                "state": "s1",
            },
        )
        assert too_much.status_code == 302
        query = parse_qs(urlsplit(too_much.headers["Location"]).query)
        assert query["error"] == ["invalid_scope"] and query["state"] == ["s1"]

        plain = await client.get(
            "/oauth/authorize",
            params={
                "client_id": app["client_id"],
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "code_challenge": "x" * 43,
                "code_challenge_method": "plain",
            },
        )
        assert parse_qs(urlsplit(plain.headers["Location"]).query)["error"] == ["invalid_request"]

        denied = await _authorize(client, app, scope="read", decision="deny")
        assert parse_qs(urlsplit(denied.headers["Location"]).query)["error"] == ["access_denied"]


async def test_out_of_band_code_is_shown_on_the_page(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        app = await _register(client)
        page = await _authorize(client, app, redirect_uri="urn:ietf:wg:oauth:2.0:oob")
        assert page.status_code == 200
        code = page.text.split('id="authorization-code">', 1)[1].split("<", 1)[0]
        token = await client.post(
            "/oauth/token",
            data={"grant_type": "authorization_code", "code": code,
                  "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"},
            auth=(app["client_id"], app["client_secret"]),  # HTTP Basic, RFC 6749 §2.3.1
        )  # fmt: skip
        assert token.status_code == 200, token.text


async def test_forms_need_their_csrf_tokens(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        app = await _register(client)
        params = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code"}
        page = await client.get("/oauth/authorize", params=params)
        form = hidden_fields(page.text) | {"username": "alice", "password": PASSWORD}
        forged = await client.post("/oauth/authorize", data=form | {"form_token": "forged"})
        assert forged.status_code == 403
        consent = await client.post("/oauth/authorize", data=form)
        answer = hidden_fields(consent.text) | {"decision": "approve"}
        bad = await client.post("/oauth/authorize", data=answer | {"csrf_token": "forged"})
        assert bad.status_code == 403 and "Location" not in bad.headers
        wrong_password = await client.post(
            "/oauth/authorize",
            data=hidden_fields(
                (await client.get("/oauth/authorize", params=params | {"force_login": "1"})).text
            )
            | {"username": "alice", "password": "not it at all"},
        )
        assert wrong_password.status_code == 401
        assert "Wrong username or password." in wrong_password.text


async def test_client_authentication_and_grant_types(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        app = await _register(client)
        unknown = await client.get(
            "/oauth/authorize", params={"client_id": "nope", "response_type": "code"}
        )
        assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
        bad_secret = await client.post(
            "/oauth/token",
            data={"grant_type": "authorization_code", "code": "x",
                  "client_id": app["client_id"], "client_secret": "wrong"},
        )  # fmt: skip
        assert bad_secret.status_code == 401
        assert bad_secret.json()["error"] == "invalid_client"
        for grant in ("password", "client_credentials", "refresh_token"):
            refused = await client.post("/oauth/token", data={"grant_type": grant})
            assert refused.status_code == 400
            assert refused.json()["error"] == "unsupported_grant_type"
        bad_app = await client.post(
            "/api/v1/apps",
            data={"client_name": "X", "redirect_uris": "javascript:alert(1)", "scopes": "read"},
        )
        assert bad_app.status_code == 422 and bad_app.json()["error"] == "invalid_redirect_uri"
        bad_scope = await client.post(
            "/api/v1/apps",
            data={"client_name": "X", "redirect_uris": REDIRECT, "scopes": "read admin:write"},
        )
        assert bad_scope.status_code == 422 and bad_scope.json()["error"] == "invalid_scope"
        metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
        assert metadata["token_endpoint"] == "https://a.test/oauth/token"
        assert metadata["code_challenge_methods_supported"] == ["S256"]


async def test_a_token_without_the_scope_gets_403(net: FakeNet, site: Instance) -> None:
    reader = await token_for(site, "alice", "read")
    narrow = await token_for(site, "alice", "read:accounts")
    async with api(net, site, reader) as client:
        refused = await client.post("/api/v1/statuses", data={"status": "hello"})
        assert refused.status_code == 403
        assert refused.json() == {"error": "This action is outside the authorized scopes."}
        assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
        assert (await client.get("/api/v1/timelines/home")).status_code == 200
    for scope in (narrow, await token_for(site, "alice", "profile")):
        async with api(net, site, scope) as client:
            assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 200
            assert (await client.get("/api/v1/timelines/home")).status_code == 403
    async with api(net, site, "not-a-token") as client:
        # Even a public route refuses a token that is sent and invalid, as Mastodon does.
        assert (await client.get("/api/v1/timelines/public")).status_code == 401
    async with api(net, site) as client:
        missing = await client.get("/api/v1/timelines/home")
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="a.test"'


def test_scope_rules() -> None:
    assert scope_allows({"read"}, "read:statuses")
    assert scope_allows({"write:statuses"}, "write:statuses")
    assert not scope_allows({"write:statuses"}, "write:favourites")
    assert scope_allows({"follow"}, "write:follows")
    assert not scope_allows({"follow"}, "read:statuses")
    assert not scope_allows({"read:statuses"}, "read")
    assert oauth.parse_scopes(None) == ("read",)
    assert oauth.parse_scopes("read  write read") == ("read", "write")
    with pytest.raises(OAuthError):
        oauth.parse_scopes("read admin:read")


async def test_sessions_csrf_and_sign_out(site: Instance) -> None:
    ctx = site.ctx
    grant = await auth.sign_in(ctx, "alice", PASSWORD, address="192.0.2.1")
    person = await auth.session_for(ctx, grant.cookie_value)
    assert person is not None and person.username == "alice"
    assert person.csrf_token == grant.csrf_token
    auth.check_csrf(person, grant.csrf_token)
    with pytest.raises(Forbidden):
        auth.check_csrf(person, "something else")
    with pytest.raises(Forbidden):
        auth.check_csrf(person, None)
    async with ctx.sessions() as session:
        stored = (await session.scalars(select(WebSession))).one()
    assert stored.token_hash != grant.cookie_value
    assert await auth.session_for(ctx, "unknown") is None
    await auth.sign_out(ctx, grant.cookie_value)
    assert await auth.session_for(ctx, grant.cookie_value) is None
    spec = auth.session_cookie(ctx)
    assert spec.name == "__Host-fediverse_session" and spec.secure and spec.http_only
