"""Every entry point a stranger can reach is rate-limited: the inbox per address and per verified
server, the client API per token and per address, OAuth's credential endpoints, and every other
request per address; 429s carry Retry-After and name the limit; client addresses come from the
socket unless a trusted proxy forwarded the request.

The counters live in the rate limiter, not the store, so these run on SQLite only, each with
tiny limits; no test waits for a window to pass.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from fediverse.activitypub.signatures import SigningKey, sign_cavage
from fediverse.config import ConfigError, config_from_dict
from fediverse.services.actors import NewUser, create_user
from fediverse.services.rate_limits import address_key
from fediverse.store.tables import InboxItem, OAuthApp
from fediverse.web import resolve_client_address
from tests.api_helpers import user_with_token
from tests.conftest import Database
from tests.fakenet import FakeNet, Instance, fakenet
from tests.remote import make_remote_actor

INBOX = "https://a.test/inbox"


@pytest.fixture
async def sqlite_net(tmp_path: Path) -> AsyncIterator[FakeNet]:
    async with fakenet(tmp_path, Database("sqlite", "")) as network:
        yield network


@asynccontextmanager
async def client_at(
    instance: Instance, address: str, **headers: str
) -> AsyncIterator[httpx.AsyncClient]:
    """Yield an HTTP client whose requests reach `instance` from the socket address `address`."""
    transport = httpx.ASGITransport(app=instance.app, client=(address, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url=instance.base_url, headers=headers
    ) as client:
        yield client


def assert_refused(response: httpx.Response, words: str, window_seconds: int) -> None:
    assert response.status_code == 429, response.text
    assert window_seconds - 10 <= int(response.headers["Retry-After"]) <= window_seconds
    assert words in response.text


# --- client addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        # No trusted proxy: the header is ignored, whoever sent it.
        ("198.51.100.7", ["203.0.113.1"], (), "198.51.100.7"),
        # A peer that is not one of our proxies cannot speak for anyone else.
        ("198.51.100.7", ["203.0.113.1"], ("10.0.0.0/8",), "198.51.100.7"),
        ("10.0.0.2", ["203.0.113.1"], ("10.0.0.0/8",), "203.0.113.1"),
        # What the client wrote itself (left of the address our proxy saw) is never used.
        ("10.0.0.2", ["6.6.6.6, 203.0.113.1"], ("10.0.0.0/8",), "203.0.113.1"),
        # A chain of our proxies is walked from the right; several headers are one list.
        ("10.0.0.2", ["6.6.6.6, 203.0.113.1", "10.1.1.1"], ("10.0.0.0/8",), "203.0.113.1"),
        ("::1", ["[2001:db8::5]:443"], ("::1",), "2001:db8::5"),
        ("10.0.0.2", ["203.0.113.1:5555"], ("10.0.0.2",), "203.0.113.1"),
        # Garbled or missing: stop at the last proxy we trust rather than guess.
        ("10.0.0.2", ["203.0.113.1, not-an-address"], ("10.0.0.0/8",), "10.0.0.2"),
        ("10.0.0.2", [], ("10.0.0.0/8",), "10.0.0.2"),
        ("10.0.0.2", ["10.0.0.9"], ("10.0.0.0/8",), "10.0.0.9"),
        ("::ffff:10.0.0.2", ["203.0.113.1"], ("10.0.0.0/8",), "203.0.113.1"),
    ],
)
def test_the_client_address_comes_from_trusted_proxies_only(
    peer: str, forwarded: list[str], trusted: tuple[str, ...], client: str
) -> None:
    assert resolve_client_address(peer, forwarded, trusted) == client


def test_ipv6_clients_count_per_64() -> None:
    assert address_key("2001:db8:1:2::10") == address_key("2001:db8:1:2:ffff::1")
    assert address_key("2001:db8:1:2::10") != address_key("2001:db8:1:3::10")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.1") == "192.0.2.1"


async def test_a_forged_forwarded_for_buys_no_budget_but_a_proxy_s_does(
    sqlite_net: FakeNet,
) -> None:
    site = await sqlite_net.add_instance(
        "a.test",
        rate_limits={"requests_per_address": "2 per minute"},
        server={"trusted_proxies": ["10.0.0.0/8"]},
    )
    async with client_at(site, "198.51.100.7") as stranger:
        for index in range(2):
            forged = {"X-Forwarded-For": f"203.0.113.{index}"}
            assert (await stranger.get("/public", headers=forged)).status_code == 200
        forged = {"X-Forwarded-For": "203.0.113.99"}
        assert_refused(await stranger.get("/public", headers=forged), "requests from", 60)
    async with client_at(site, "10.0.0.2") as proxy:
        for index in range(2):
            seen = {"X-Forwarded-For": f"6.6.6.6, 203.0.113.{index}"}
            assert (await proxy.get("/public", headers=seen)).status_code == 200
        # The proxy's clients have budgets of their own: 203.0.113.0 spent one of its two.
        again = {"X-Forwarded-For": "203.0.113.0"}
        assert (await proxy.get("/public", headers=again)).status_code == 200
        assert (await proxy.get("/public", headers=again)).status_code == 429


# --- pages, ActivityPub, WebFinger --------------------------------------------------------------


async def test_every_other_request_is_limited_per_address(sqlite_net: FakeNet) -> None:
    site = await sqlite_net.add_instance(
        "a.test", rate_limits={"requests_per_address": "3 per minute"}
    )
    await create_user(site.ctx, NewUser(username="alice"))
    async with client_at(site, "198.51.100.7", Accept="text/html") as visitor:
        assert (await visitor.get("/public")).status_code == 200
        assert (
            await visitor.get("/users/alice", headers={"Accept": "application/activity+json"})
        ).status_code == 200
        webfinger = await visitor.get("/.well-known/webfinger?resource=acct:alice@a.test")
        assert webfinger.status_code == 200
        page = await visitor.get("/public")
        assert_refused(page, "Too many requests from your address (at most 3 per minute)", 60)
        assert page.headers["Content-Type"].startswith("text/html")
        # The page's own style sheet is not counted; the client API has limits of its own.
        assert (await visitor.get("/static/site.css")).status_code == 200
        assert (await visitor.get("/api/v1/instance")).status_code == 200
        assert (await visitor.get("/nothing-here")).status_code == 429
    async with client_at(site, "198.51.100.8", Accept="text/html") as other:
        assert (await other.get("/public")).status_code == 200


# --- the client API and OAuth -------------------------------------------------------------------


async def test_the_api_is_limited_per_token_and_per_address_without_one(
    sqlite_net: FakeNet,
) -> None:
    site = await sqlite_net.add_instance(
        "a.test",
        rate_limits={"api_per_token": "3 per 5 minutes", "api_per_address": "2 per 5 minutes"},
    )
    alice = await user_with_token(site, "alice")
    bob = await user_with_token(site, "bob")
    async with client_at(site, "198.51.100.7") as anonymous:
        for _ in range(2):
            assert (await anonymous.get("/api/v1/timelines/public")).status_code == 200
        refused = await anonymous.get("/api/v1/instance")
        assert_refused(refused, "API requests from your address (at most 2 per 5 minutes)", 300)
        assert refused.headers["Access-Control-Allow-Origin"] == "*"
        assert set(refused.json()) == {"error"}
    # A token has a budget of its own, from the same address; and one token's does not spend
    # another's.
    async with client_at(site, "198.51.100.7", Authorization=f"Bearer {alice}") as app:
        for _ in range(3):
            assert (await app.get("/api/v1/accounts/verify_credentials")).status_code == 200
        assert_refused(
            await app.get("/api/v1/timelines/home"), "API requests with this access token", 300
        )
    async with client_at(site, "198.51.100.7", Authorization=f"Bearer {bob}") as other:
        assert (await other.get("/api/v1/timelines/home")).status_code == 200
    # Invented tokens buy no budget: they count against the address.
    async with client_at(site, "198.51.100.9", Authorization="Bearer invented") as guesser:
        for _ in range(2):
            assert (await guesser.get("/api/v1/timelines/public")).status_code == 401
        assert (await guesser.get("/api/v1/timelines/public")).status_code == 429


async def test_oauth_credential_endpoints_are_limited_per_address(sqlite_net: FakeNet) -> None:
    site = await sqlite_net.add_instance(
        "a.test", rate_limits={"oauth_per_address": "3 per 5 minutes"}
    )
    async with client_at(site, "198.51.100.7") as stranger:
        registered = await stranger.post(
            "/api/v1/apps", data={"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
        )
        assert registered.status_code == 200
        guesses = {"grant_type": "authorization_code", "client_id": "x", "client_secret": "y"}
        for _ in range(2):
            assert (await stranger.post("/oauth/token", data=guesses)).status_code == 401
        refused = await stranger.post("/oauth/token", data=guesses)
        assert_refused(refused, "OAuth token and app requests from your address", 300)
        assert (await stranger.post("/api/v1/apps", data={"client_name": "x"})).status_code == 429
    async with site.ctx.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OAuthApp)) == 1
    async with client_at(site, "198.51.100.8") as other:
        assert (await other.post("/oauth/token", data=guesses)).status_code == 401


# --- the inbox ------------------------------------------------------------------------------------


def _follow(actor: str, number: int) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}/follows/{number}",
        "type": "Follow",
        "actor": actor,
        "object": "https://a.test/users/alice",
    }


async def _deliver(
    client: httpx.AsyncClient, activity: dict[str, Any], key: SigningKey, *, forge: bool = False
) -> httpx.Response:
    body = json.dumps(activity).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers.update(sign_cavage("POST", INBOX, headers, body, key))
    return await client.post(INBOX, content=body + (b" " if forge else b""), headers=headers)


async def _stored_items(site: Instance) -> int:
    async with site.ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxItem)) or 0)


async def test_inbox_posts_are_limited_per_address_before_anything_is_read(
    sqlite_net: FakeNet,
) -> None:
    site = await sqlite_net.add_instance(
        "a.test", rate_limits={"inbox_per_address": "2 per minute"}
    )
    async with client_at(site, "198.51.100.7") as flood:
        for _ in range(2):
            garbage = await flood.post(
                INBOX, content=b"{", headers={"Content-Type": "application/activity+json"}
            )
            assert garbage.status_code == 400
        refused = await flood.post(INBOX, content=b"{", headers={"Content-Type": "text/plain"})
        assert_refused(refused, "inbox deliveries from your address (at most 2 per minute)", 60)
        assert set(refused.json()) == {"error"}
    async with client_at(site, "198.51.100.8") as other:
        garbage = await other.post(
            INBOX, content=b"{", headers={"Content-Type": "application/activity+json"}
        )
        assert garbage.status_code == 400


async def test_inbox_posts_are_limited_per_verified_server_and_forgeries_spend_nothing(
    sqlite_net: FakeNet,
) -> None:
    site = await sqlite_net.add_instance("a.test", rate_limits={"inbox_per_host": "2 per minute"})
    await create_user(site.ctx, NewUser(username="alice"))
    rita = make_remote_actor(sqlite_net, "https://remote.example/users/rita")
    ross = make_remote_actor(sqlite_net, "https://remote.example/users/ross")
    mallory = make_remote_actor(sqlite_net, "https://evil.example/users/mallory")
    # Someone else posts activities claiming remote.example's actors: with broken signatures
    # (refused, counted for nobody) and with signatures of their own (refused, counted against
    # the signer's server). remote.example's budget is untouched either way.
    async with client_at(site, "198.51.100.66") as forger:
        for number in range(3):
            forged = await _deliver(forger, _follow(rita.iri, 100 + number), rita.key, forge=True)
            assert forged.status_code == 401
        for number in range(2):
            impostor = await _deliver(forger, _follow(rita.iri, 200 + number), mallory.key)
            assert impostor.status_code == 403
        assert (await _deliver(forger, _follow(rita.iri, 300), mallory.key)).status_code == 429
    async with client_at(site, "192.0.2.10") as first, client_at(site, "192.0.2.11") as second:
        assert (await _deliver(first, _follow(rita.iri, 1), rita.key)).status_code == 202
        assert (await _deliver(second, _follow(ross.iri, 1), ross.key)).status_code == 202
        # The server's third in the window is refused, from whichever of its addresses.
        refused = await _deliver(first, _follow(ross.iri, 2), ross.key)
        assert_refused(refused, "inbox deliveries from your server (at most 2 per minute)", 60)
    assert await _stored_items(site) == 2
    # Another server is not affected.
    tom = make_remote_actor(sqlite_net, "https://third.example/users/tom")
    async with client_at(site, "192.0.2.10") as shared_address:
        assert (await _deliver(shared_address, _follow(tom.iri, 1), tom.key)).status_code == 202


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "values", "key", "words"),
    [
        ("rate_limits", {"api_per_token": "often"}, "rate_limits.api_per_token", "300 per 5"),
        ("rate_limits", {"join_per_address": "0 per hour"}, "rate_limits.join_per_address", "rate"),
        ("rate_limits", {"storage_url": "mysql://x"}, "rate_limits.storage_url", "Redis URL"),
        (
            "server",
            {"trusted_proxies": ["10.0.0.0/8", "proxy"]},
            "server.trusted_proxies",
            "'proxy'",
        ),
        ("server", {"trusted_proxies": "10.0.0.1"}, "server.trusted_proxies", "list of strings"),
    ],
)
def test_bad_limits_and_proxies_stop_start_up_with_the_key(
    section: str, values: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({section: values}, source="x.toml")
    assert str(caught.value).startswith(f"x.toml: {key}: ")
    assert words in str(caught.value)


def test_limits_and_proxies_load() -> None:
    config = config_from_dict(
        {
            "server": {"trusted_proxies": ["127.0.0.1", "fd00::/8"]},
            "rate_limits": {"storage_url": "redis://cache:6379/0", "api_per_token": "10/second"},
        }
    )
    assert config.server.trusted_proxies == ("127.0.0.1", "fd00::/8")
    assert config.rate_limits.api_per_token == "10/second"
    assert config.rate_limits.storage_url == "redis://cache:6379/0"


REDIS_ENV = "FEDIVERSE_TEST_REDIS_URL"


async def test_processes_sharing_a_redis_share_their_counts() -> None:
    """Two limiters stand for two `serve` processes; a third instance keeps its own counts."""
    import os

    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"needs {REDIS_ENV}, e.g. redis://127.0.0.1:6379/15, and fediverse[redis]")
    pytest.importorskip("coredis")
    from fediverse.errors import TooManyRequests
    from fediverse.services.rate_limits import RateLimiter

    settings = config_from_dict(
        {"rate_limits": {"storage_url": url, "join_per_address": "2 per hour"}}
    ).rate_limits
    namespace = f"test-{os.getpid()}.example"
    one, two = (RateLimiter(settings, namespace=namespace) for _ in range(2))
    elsewhere = RateLimiter(settings, namespace="other-" + namespace)
    await one.clear(one.join_per_address, "192.0.2.1")
    await elsewhere.clear(elsewhere.join_per_address, "192.0.2.1")
    await one.hit(one.join_per_address, "192.0.2.1")
    await two.hit(two.join_per_address, "192.0.2.1")
    with pytest.raises(TooManyRequests) as refused:
        await one.hit(one.join_per_address, "192.0.2.1")
    assert 3590 <= (refused.value.retry_after or 0) <= 3600
    await elsewhere.hit(elsewhere.join_per_address, "192.0.2.1")
    await one.clear(one.join_per_address, "192.0.2.1")
    assert await two.allows(two.join_per_address, "192.0.2.1")
