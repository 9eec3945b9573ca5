"""Entity shapes: exactly the attributes Mastodon 4.3 documents (docs.joinmastodon.org/entities/),
no more and no fewer, with the types clients rely on."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fediverse.services import registration
from fediverse.services.actors import NewUser, create_user
from tests.api_helpers import api, token_for
from tests.fakenet import FakeNet, Instance

# Non-optional attributes of Mastodon 4.3 (attributes added later are left out, as are the
# optional ones we never send: noindex, moved, memorial, suspended, limited).
ACCOUNT_KEYS = {
    "id", "username", "acct", "url", "uri", "display_name", "note", "avatar", "avatar_static",
    "header", "header_static", "locked", "fields", "emojis", "bot", "group", "discoverable",
    "indexable", "hide_collections", "roles", "created_at", "last_status_at", "statuses_count",
    "followers_count", "following_count",
}  # fmt: skip
CREDENTIAL_ACCOUNT_KEYS = ACCOUNT_KEYS | {"source", "role"}
SOURCE_KEYS = {"privacy", "sensitive", "language", "note", "fields", "follow_requests_count"}
ROLE_KEYS = {"id", "name", "permissions", "color", "highlighted"}
STATUS_KEYS = {
    "id", "uri", "created_at", "account", "content", "visibility", "sensitive", "spoiler_text",
    "media_attachments", "mentions", "tags", "emojis", "reblogs_count", "favourites_count",
    "replies_count", "url", "in_reply_to_id", "in_reply_to_account_id", "reblog", "poll", "card",
    "language", "text", "edited_at",
}  # fmt: skip
# Present when the request was made with a token (Mastodon's "optional" viewer attributes).
VIEWER_KEYS = {"favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered"}
MENTION_KEYS = {"id", "username", "url", "acct"}
STATUS_TAG_KEYS = {"name", "url"}
NOTIFICATION_KEYS = {"id", "type", "group_key", "created_at", "account"}
RELATIONSHIP_KEYS = {
    "id", "following", "showing_reblogs", "notifying", "languages", "followed_by", "blocking",
    "blocked_by", "muting", "muting_notifications", "requested", "requested_by",
    "domain_blocking", "endorsed", "note",
}  # fmt: skip
STATUS_EDIT_KEYS = {
    "content", "spoiler_text", "sensitive", "created_at", "account", "media_attachments", "emojis",
}  # fmt: skip
CONTEXT_KEYS = {"ancestors", "descendants"}
SEARCH_KEYS = {"accounts", "statuses", "hashtags"}
SEARCH_TAG_KEYS = {"id", "name", "url", "history"}
INSTANCE_V1_KEYS = {
    "uri", "title", "short_description", "description", "email", "version", "urls", "stats",
    "thumbnail", "languages", "registrations", "approval_required", "invites_enabled",
    "configuration", "contact_account", "rules",
}  # fmt: skip
INSTANCE_V2_KEYS = {
    "domain", "title", "version", "source_url", "description", "usage", "thumbnail", "icon",
    "languages", "configuration", "registrations", "api_versions", "contact", "rules",
}  # fmt: skip
INSTANCE_V2_CONFIGURATION_KEYS = {
    "urls", "vapid", "accounts", "statuses", "media_attachments", "polls", "translation",
}  # fmt: skip
REACH_KEYS = {
    "activity", "followers_targeted", "followers_reached", "servers", "inboxes", "delivered",
    "pending", "failed", "gone", "dropped", "complete", "hosts", "summary",
}  # fmt: skip

DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DATE = re.compile(r"\d{4}-\d\d-\d\d")


def assert_account(document: dict[str, Any]) -> None:
    assert set(document) == ACCOUNT_KEYS, set(document) ^ ACCOUNT_KEYS
    assert isinstance(document["id"], str) and document["id"].isdigit()
    assert DATETIME.fullmatch(document["created_at"])
    assert document["created_at"].endswith("T00:00:00.000Z")
    assert document["last_status_at"] is None or DATE.fullmatch(document["last_status_at"])
    for name in ("statuses_count", "followers_count", "following_count"):
        assert isinstance(document[name], int)
    for name in ("locked", "bot", "group", "discoverable", "indexable"):
        assert isinstance(document[name], bool)
    assert document["avatar"].startswith("https://")


def assert_status(document: dict[str, Any], *, viewer: bool, own: bool = False) -> None:
    expected = STATUS_KEYS | (VIEWER_KEYS if viewer else set()) | ({"reach"} if own else set())
    assert set(document) == expected, set(document) ^ expected
    assert isinstance(document["id"], str) and DATETIME.fullmatch(document["created_at"])
    assert_account(document["account"])
    for mention in document["mentions"]:
        assert set(mention) == MENTION_KEYS
    for tag in document["tags"]:
        assert set(tag) == STATUS_TAG_KEYS
    if document["reblog"] is not None:
        assert_status(document["reblog"], viewer=viewer, own=False)
    if own:
        assert set(document["reach"]) == REACH_KEYS


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    await create_user(instance.ctx, NewUser(username="alice", is_admin=True))
    await create_user(instance.ctx, NewUser(username="bob"))
    return instance


async def test_every_entity_has_the_documented_attributes(net: FakeNet, site: Instance) -> None:
    alice = await token_for(site, "alice")
    bob = await token_for(site, "bob")
    async with api(net, site, alice) as as_alice, api(net, site, bob) as as_bob:
        me = (await as_alice.get("/api/v1/accounts/verify_credentials")).json()
        assert set(me) == CREDENTIAL_ACCOUNT_KEYS
        assert set(me["source"]) == SOURCE_KEYS and set(me["role"]) == ROLE_KEYS
        bob_id = (await as_bob.get("/api/v1/accounts/verify_credentials")).json()["id"]

        relationship = (await as_bob.post(f"/api/v1/accounts/{me['id']}/follow")).json()
        assert set(relationship) == RELATIONSHIP_KEYS and relationship["following"] is True

        posted = await as_alice.post(
            "/api/v1/statuses",
            data={"status": "Hello @bob, welcome to #fediverse", "spoiler_text": "greeting"},
        )
        assert posted.status_code == 200, posted.text
        status = posted.json()
        assert_status(status, viewer=True, own=True)
        assert status["mentions"][0]["id"] == bob_id
        assert status["tags"] == [{"name": "fediverse", "url": "https://a.test/tags/fediverse"}]
        assert status["spoiler_text"] == "greeting" and status["sensitive"] is True

        reply = (
            await as_bob.post(
                "/api/v1/statuses", data={"status": "thanks!", "in_reply_to_id": status["id"]}
            )
        ).json()
        assert_status(reply, viewer=True, own=True)
        assert reply["in_reply_to_account_id"] == me["id"]

        await as_bob.post(f"/api/v1/statuses/{status['id']}/favourite")
        boost = (await as_bob.post(f"/api/v1/statuses/{status['id']}/reblog")).json()
        assert_status(boost, viewer=True)
        assert boost["reblog"]["id"] == status["id"] and boost["content"] == ""

        seen_by_bob = (await as_bob.get(f"/api/v1/statuses/{status['id']}")).json()
        assert_status(seen_by_bob, viewer=True)
        assert seen_by_bob["favourited"] is seen_by_bob["reblogged"] is True

        context = (await as_bob.get(f"/api/v1/statuses/{reply['id']}/context")).json()
        assert set(context) == CONTEXT_KEYS
        assert [s["id"] for s in context["ancestors"]] == [status["id"]]
        assert_status(context["ancestors"][0], viewer=True)

        found = (await as_alice.get("/api/v2/search", params={"q": "fedi"})).json()
        assert set(found) == SEARCH_KEYS
        assert [set(tag) for tag in found["hashtags"]] == [SEARCH_TAG_KEYS]

        await as_alice.put(f"/api/v1/statuses/{status['id']}", data={"status": "Hello again"})
        history = (await as_alice.get(f"/api/v1/statuses/{status['id']}/history")).json()
        assert len(history) == 2
        for version in history:
            assert set(version) == STATUS_EDIT_KEYS
            assert_account(version["account"])

        notifications = (await as_alice.get("/api/v1/notifications")).json()
        assert {n["type"] for n in notifications} == {"follow", "mention", "favourite", "reblog"}
        for notification in notifications:
            extra = {"status"} if notification["type"] != "follow" else set()
            assert set(notification) == NOTIFICATION_KEYS | extra
            assert notification["group_key"] == f"ungrouped-{notification['id']}"
            assert_account(notification["account"])
            if extra:
                own = notification["status"]["account"]["id"] == me["id"]
                assert_status(notification["status"], viewer=True, own=own)


async def test_anonymous_statuses_carry_no_viewer_attributes(net: FakeNet, site: Instance) -> None:
    alice = await token_for(site, "alice")
    async with api(net, site, alice) as client:
        status = (await client.post("/api/v1/statuses", data={"status": "public"})).json()
    async with api(net, site) as anonymous:
        document = (await anonymous.get(f"/api/v1/statuses/{status['id']}")).json()
        assert_status(document, viewer=False)
        account = (await anonymous.get(f"/api/v1/accounts/{status['account']['id']}")).json()
        assert_account(account)
        assert account["statuses_count"] == 1
        assert account["acct"] == "alice" and account["uri"] == "https://a.test/users/alice"
        assert account["avatar"] == "https://a.test/static/avatar.png"
        assert (await anonymous.get("/static/avatar.png")).headers["content-type"] == "image/png"


async def test_instance_entities(net: FakeNet, site: Instance) -> None:
    async with api(net, site) as client:
        v1 = (await client.get("/api/v1/instance")).json()
        v2 = (await client.get("/api/v2/instance")).json()
    assert set(v1) == INSTANCE_V1_KEYS
    assert set(v2) == INSTANCE_V2_KEYS
    assert set(v2["configuration"]) == INSTANCE_V2_CONFIGURATION_KEYS
    assert v2["version"].startswith("4.3.0 (compatible; fediverse ")
    assert v2["api_versions"] == {"mastodon": 2}
    assert v2["usage"] == {"users": {"active_month": 2}}
    assert v1["uri"] == v2["domain"] == "a.test"
    assert v1["stats"]["user_count"] == 2
    # The contact is the first admin.
    assert v1["contact_account"]["username"] == v2["contact"]["account"]["username"] == "alice"
    assert_account(v2["contact"]["account"])
    assert set(v2["registrations"]) == {"enabled", "approval_required", "message", "url"}
    # Registration follows the runtime mode (approval by default).
    assert v2["registrations"]["enabled"] is v1["registrations"] is True
    assert v2["registrations"]["approval_required"] is v1["approval_required"] is True
    await registration.set_mode(site.ctx, "closed")
    async with api(net, site) as client:
        closed = (await client.get("/api/v2/instance")).json()
    assert closed["registrations"]["enabled"] is False
