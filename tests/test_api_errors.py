"""How the client API answers bad requests: `{"error": "..."}` with the right status, CORS for
browser clients, and parameters accepted from the query, forms and JSON alike."""

from __future__ import annotations

import pytest

from fediverse.services.actors import NewUser, create_user
from tests.api_helpers import api, token_for
from tests.fakenet import FakeNet, Instance


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    await create_user(instance.ctx, NewUser(username="alice"))
    return instance


async def test_errors_are_json_with_the_right_status(net: FakeNet, site: Instance) -> None:
    async with api(net, site, await token_for(site, "alice")) as client:
        missing = await client.get("/api/v1/nothing/here")
        assert missing.status_code == 404
        assert missing.json() == {"error": "Nothing is at /api/v1/nothing/here."}
        wrong_method = await client.delete("/api/v1/timelines/home")
        assert wrong_method.status_code == 405 and "error" in wrong_method.json()
        bad_id = await client.get("/api/v1/accounts/abc")
        assert bad_id.status_code == 404 and bad_id.json()["error"]
        broken_json = await client.post(
            "/api/v1/statuses", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert broken_json.status_code == 422
        assert broken_json.json() == {"error": "A post needs some text."}
        # A trailing slash is tolerated, as Rails does for Mastodon (Mastodon.py relies on it).
        assert (await client.get("/api/v1/instance/")).status_code == 200
        assert (await client.get("/api/v1/timelines/home/")).status_code == 200
        oauth_page = await client.get("/oauth/authorize")
        assert oauth_page.status_code == 401 and oauth_page.json()["error"] == "invalid_client"


async def test_parameters_from_json_forms_and_query(net: FakeNet, site: Instance) -> None:
    async with api(net, site, await token_for(site, "alice")) as client:
        as_json = await client.post(
            "/api/v1/statuses", json={"status": "json", "sensitive": True, "visibility": "unlisted"}
        )
        assert as_json.json()["sensitive"] is True
        assert as_json.json()["visibility"] == "unlisted"
        as_form = await client.post("/api/v1/statuses", data={"status": "form", "sensitive": "1"})
        assert as_form.json()["sensitive"] is True
        bad_flag = await client.post(
            "/api/v1/statuses", data={"status": "form", "sensitive": "maybe"}
        )
        assert bad_flag.status_code == 422
        me = (await client.get("/api/v1/accounts/verify_credentials")).json()
        plain = await client.get("/api/v1/accounts/relationships", params={"id": me["id"]})
        braces = await client.get("/api/v1/accounts/relationships", params={"id[]": me["id"]})
        assert plain.json() == braces.json() and len(plain.json()) == 1


async def test_browser_clients_may_call_the_api(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        preflight = await client.request(
            "OPTIONS",
            "/api/v1/timelines/home",
            headers={
                "Origin": "https://client.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        answer = await client.get("/api/v1/instance", headers={"Origin": "https://x.example"})
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "Link" in answer.headers["Access-Control-Expose-Headers"]
        # The consent page is for this site's own forms only.
        page = await client.get("/oauth/authorize", headers={"Origin": "https://x.example"})
        assert "Access-Control-Allow-Origin" not in page.headers
        emojis = await client.get("/api/v1/custom_emojis")
        assert emojis.json() == []
