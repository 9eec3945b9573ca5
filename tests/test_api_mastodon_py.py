"""The real client library Mastodon.py (from PyPI) drives two real `fediverse serve` processes
over loopback: register an app, sign in through the consent page, post, reply, favourite,
boost, edit, delete, page through timelines, then search for and follow an account on the other
server and see its posts arrive."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from mastodon import Mastodon, MastodonNotFoundError, MastodonUnauthorizedError

from tests.api_helpers import hidden_fields
from tests.processes import ServerProcess, servers

pytestmark = pytest.mark.e2e

REDIRECT = "https://app.example/callback"
SCOPES = ["read", "write", "follow"]
PASSWORD = "a long password"
T = TypeVar("T")


def _eventually(probe: Callable[[], T | None], what: str, server: ServerProcess) -> T:
    """Poll until `probe` returns something (federation between processes takes a moment)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{server.log_text()[-3000:]}")


def _sign_in_and_consent(auth_url: str, base_url: str) -> str:
    """Do what the person does in a browser; return the code from the redirect."""
    browser = requests.Session()
    page = browser.get(auth_url, timeout=10)
    assert page.status_code == 200, page.text
    form = hidden_fields(page.text) | {"username": "alice", "password": PASSWORD}
    consent = browser.post(f"{base_url}/oauth/authorize", data=form, timeout=10)
    assert consent.status_code == 200, consent.text
    answer = hidden_fields(consent.text) | {"decision": "approve"}
    done = browser.post(
        f"{base_url}/oauth/authorize", data=answer, allow_redirects=False, timeout=10
    )
    assert done.status_code == 302, done.text
    location = urlsplit(done.headers["Location"])
    assert location.netloc == "app.example"
    query = parse_qs(location.query)
    assert query["state"] == ["e2e-state"]
    return query["code"][0]


def _log_in(server: ServerProcess) -> Mastodon:
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py e2e", scopes=SCOPES, redirect_uris=REDIRECT, api_base_url=server.base_url
    )
    client = Mastodon(
        client_id=client_id, client_secret=client_secret, api_base_url=server.base_url
    )
    # allow_http: these servers live on loopback without TLS.
    url = client.auth_request_url(
        redirect_uris=REDIRECT, scopes=SCOPES, state="e2e-state", allow_http=True
    )
    code = _sign_in_and_consent(url, server.base_url)
    client.log_in(code=code, redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)
    return client


def _ids(page: list[Any]) -> list[str]:
    return [str(status["id"]) for status in page]


def test_mastodon_py_end_to_end(tmp_path: Path) -> None:
    with servers(tmp_path, 2) as (home, away):
        created = home.run("users", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        assert created.returncode == 0, created.stderr
        assert away.run("users", "create", "bob").returncode == 0
        home.start()
        away.start()
        bob_token = away.run("tokens", "create", "bob", "--scopes", "read", "write")
        assert bob_token.returncode == 0, bob_token.stderr

        alice = _log_in(home)
        me = alice.account_verify_credentials()
        assert me["username"] == "alice" and me["acct"] == "alice"
        assert alice.retrieve_mastodon_version() == "4.3.0"
        assert alice.app_verify_credentials()["name"] == "Mastodon.py e2e"

        # Post, reply, favourite, boost, edit, delete.
        post = alice.status_post("Hello from Mastodon.py #e2e", spoiler_text="a test")
        assert post["spoiler_text"] == "a test" and post["tags"][0]["name"] == "e2e"
        assert post["reach"]["followers_targeted"] == 0  # our extension field
        reply = alice.status_post("and a reply", in_reply_to_id=post["id"])
        assert str(reply["in_reply_to_id"]) == str(post["id"])
        assert alice.status_favourite(post["id"])["favourited"] is True
        boost = alice.status_reblog(post["id"])
        assert str(boost["reblog"]["id"]) == str(post["id"])
        edited = alice.status_update(post["id"], "Hello, edited #e2e", spoiler_text="a test")
        assert "edited" in edited["content"] and edited["edited_at"] is not None
        assert len(alice.status_history(post["id"])) == 2
        context = alice.status_context(reply["id"])
        assert _ids(context["ancestors"]) == [str(post["id"])]
        deleted = alice.status_delete(reply["id"])
        assert deleted["text"] == "and a reply"
        with pytest.raises(MastodonNotFoundError):
            alice.status(reply["id"])
        assert alice.status_unreblog(post["id"])["reblogged"] is False
        assert alice.status_unfavourite(post["id"])["favourited"] is False

        # Timelines with paging, through the Link header as Mastodon.py reads it.
        extra = [alice.status_post(f"page {index}") for index in range(4)]
        newest = [*_ids(reversed(extra)), str(post["id"])]
        first = alice.timeline_home(limit=2)
        assert _ids(first) == newest[:2]
        second = alice.fetch_next(first)
        assert _ids(second) == newest[2:4]
        assert _ids(alice.fetch_previous(second)) == newest[:2]
        assert str(post["id"]) in _ids(alice.timeline_local(limit=10))
        assert _ids(alice.timeline_hashtag("e2e")) == [str(post["id"])]

        # Find bob on the other server, follow him and see his posts arrive.
        found = alice.search_v2(f"bob@{away.host}", resolve=True)
        bob = found["accounts"][0]
        assert bob["acct"] == f"bob@{away.host}"
        alice.account_follow(bob["id"])
        _eventually(
            lambda: alice.account_relationships(bob["id"])[0]["following"], "the Accept", away
        )
        bob_client = Mastodon(access_token=bob_token.stdout.strip(), api_base_url=away.base_url)
        news = bob_client.status_post("News from the other server")
        arrived = _eventually(
            lambda: [s for s in alice.timeline_home() if s["uri"] == news["uri"]],
            "bob's post in alice's home timeline",
            home,
        )
        assert arrived[0]["account"]["acct"] == f"bob@{away.host}"
        follows = bob_client.notifications(types=["follow"])
        assert follows[0]["account"]["acct"] == f"alice@{home.host}"
        by_url = alice.search_v2(news["url"], resolve=True)
        assert by_url["statuses"][0]["uri"] == news["uri"]

        token = alice.access_token
        alice.revoke_access_token(allow_http=True)
        revoked = Mastodon(access_token=token, api_base_url=home.base_url)
        with pytest.raises(MastodonUnauthorizedError):
            revoked.account_verify_credentials()
