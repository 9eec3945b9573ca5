"""Web pages: signing in and out, sessions, CSRF on every form, changing the password, and the
page-wide rules (strict CSP, no external assets, labelled fields)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from fediverse.services import posts
from fediverse.services.actors import NewUser, create_user
from tests.api_helpers import api, token_for
from tests.fakenet import FakeNet, Instance
from tests.ui_helpers import PASSWORD, browser, csrf_of, signed_in, text_of


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    instance = await net.add_instance("a.test")
    await create_user(instance.ctx, NewUser(username="alice", password=PASSWORD))
    return instance


async def test_private_pages_send_to_sign_in_and_back(net: FakeNet, site: Instance) -> None:
    async with browser(net, site) as person:
        response = await person.get("/notifications")
        assert response.status_code == 303
        assert response.headers["Location"] == "/sign-in?next=%2Fnotifications"
        page = await person.get(response.headers["Location"])
        assert 'name="next" value="/notifications"' in page.text
        answer = await person.client.post(
            "/sign-in",
            data={
                "csrf_token": csrf_of(page.text),
                "username": "alice",
                "password": PASSWORD,
                "next": "/notifications",
            },
        )
        assert answer.status_code == 303
        assert answer.headers["Location"] == "/notifications"
        assert (await person.get("/notifications")).status_code == 200


async def test_sign_in_never_redirects_to_another_site(net: FakeNet, site: Instance) -> None:
    async with browser(net, site) as person:
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
            page = await person.get("/sign-in", params={"next": target})
            assert f'value="{target}"' not in page.text
    async with browser(net, site) as person:
        shown = await person.get("/sign-in")
        answer = await person.client.post(
            "/sign-in",
            data={"csrf_token": csrf_of(shown.text), "username": "alice",
                  "password": PASSWORD, "next": "//evil.example/"},
        )  # fmt: skip
        assert answer.headers["Location"] == "/"


async def test_session_cookie_is_secure_http_only_and_same_site(
    net: FakeNet, site: Instance
) -> None:
    async with browser(net, site) as person:
        answer = await person.sign_in("alice")
    cookie = next(
        value
        for name, value in answer.headers.multi_items()
        if name == "set-cookie" and value.startswith("__Host-fediverse_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "path"} <= attributes
    assert "samesite=lax" in cookie.lower()


async def test_wrong_passwords_are_said_plainly_then_rate_limited(
    net: FakeNet, site: Instance
) -> None:
    async with browser(net, site) as person:
        for _ in range(5):
            answer = await person.submit(
                "/sign-in", "/sign-in", {"username": "alice", "password": "wrong password"}
            )
            assert answer.status_code == 401
            assert "Wrong username or password." in text_of(answer.text)
            assert 'value="alice"' in answer.text  # the name stays filled in
        blocked = await person.submit(
            "/sign-in", "/sign-in", {"username": "alice", "password": PASSWORD}
        )
        assert blocked.status_code == 429
        assert "Too many failed sign-ins" in text_of(blocked.text)


async def test_forms_without_their_csrf_token_are_refused(net: FakeNet, site: Instance) -> None:
    async with signed_in(net, site, "alice", create=False) as alice:
        for data in ({}, {"csrf_token": "not-the-token-at-all-not-the-token-at-all"}):
            forged = await alice.client.post(
                "/compose", data={**data, "text": "forged", "visibility": "public"}
            )
            assert forged.status_code == 403
            assert "reload the page" in text_of(forged.text)
        assert (await alice.client.post("/sign-out")).status_code == 403
        profile = await alice.get("/users/alice")
        assert "forged" not in profile.text
        assert "Sign out" in profile.text  # still signed in
    async with browser(net, site) as stranger:
        refused = await stranger.client.post(
            "/sign-in", data={"username": "alice", "password": PASSWORD}
        )
        assert refused.status_code == 403


async def test_sign_out_ends_the_session(net: FakeNet, site: Instance) -> None:
    async with signed_in(net, site, "alice", create=False) as alice:
        answer = await alice.submit("/", "/sign-out")
        assert answer.status_code == 303
        home = await alice.get("/")
        assert "Sign in" in home.text
        assert "Sign out" not in home.text
        assert (await alice.get("/compose")).status_code == 303


async def test_change_password(net: FakeNet, site: Instance) -> None:
    token = await token_for(site, "alice", "read")
    async with signed_in(net, site, "alice", create=False) as alice:
        wrong = await alice.submit(
            "/settings/password",
            "/settings/password",
            {"current_password": "nope", "new_password": "a new passphrase",
             "confirm_password": "a new passphrase"},
        )  # fmt: skip
        assert wrong.status_code == 403
        assert "current password is not right" in text_of(wrong.text)
        differ = await alice.submit(
            "/settings/password",
            "/settings/password",
            {"current_password": PASSWORD, "new_password": "a new passphrase",
             "confirm_password": "another passphrase"},
        )  # fmt: skip
        assert differ.status_code == 422
        done = await alice.submit(
            "/settings/password",
            "/settings/password",
            {"current_password": PASSWORD, "new_password": "a new passphrase",
             "confirm_password": "a new passphrase"},
        )  # fmt: skip
        assert done.headers["Location"] == "/settings/password?changed=1"
        said = text_of((await alice.get(done.headers["Location"])).text)
        assert "Your password was changed." in said
        assert "every app and script with access to your account was cut off" in said
        # That is true: the token made before the change no longer works.
        async with api(net, site, token) as client:
            refused = await client.get("/api/v1/accounts/verify_credentials")
            assert refused.status_code == 401
    async with browser(net, site) as again:
        await again.sign_in("alice", "a new passphrase")


class _Fields(HTMLParser):
    """Collect form fields, labels and anything that would load from elsewhere or run inline."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, str | None]] = []
        self.label_targets: set[str] = set()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "style" in found or tag == "style":
            self.problems.append(f"inline style on <{tag}>")
        if tag == "script" and not (found.get("src") or "").startswith("/static/"):
            self.problems.append("a script that is not ours")
        rel, href = found.get("rel"), found.get("href") or ""
        if tag == "link" and rel in ("stylesheet", "icon") and not href.startswith("/static/"):
            self.problems.append(f"an external {rel}")
        if any(name.startswith("on") for name in found):
            self.problems.append(f"an inline event handler on <{tag}>")
        if tag == "label" and found.get("for"):
            self.label_targets.add(found["for"] or "")
        shown = found.get("type") != "hidden" and "hidden" not in found
        if tag in ("input", "select", "textarea") and shown:
            self.fields.append(found)


@pytest.mark.parametrize(
    "path",
    ["/", "/compose", "/settings/profile", "/settings/password", "/invites", "/search?q=a",
     "/notifications", "/users/alice", "/public", "/follow-requests"],
)  # fmt: skip
async def test_pages_are_self_contained_and_every_field_is_labelled(
    net: FakeNet, site: Instance, path: str
) -> None:
    async with signed_in(net, site, "alice", create=False) as alice:
        await alice.submit("/compose", "/compose", {"text": "A post to show", "kind": "note"})
        page = await alice.get(path)
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    parser = _Fields()
    parser.feed(page.text)
    assert parser.problems == []
    for field in parser.fields:
        assert field.get("aria-label") or field.get("id") in parser.label_targets, field
    assert re.search(r'<html lang="en">', page.text)
    assert 'class="skip" href="#main"' in page.text


async def test_anonymous_pages_and_errors_render(net: FakeNet, site: Instance) -> None:
    async with browser(net, site) as visitor:
        landing = await visitor.get("/")
        assert "Apply to join" in landing.text  # the default mode is approval
        missing = await visitor.get("/posts/12345")
        assert missing.status_code == 404
        assert "No post 12345." in text_of(missing.text)
        assert (await visitor.get("/tags/nothing")).status_code == 200


async def test_other_edges_reach_the_pages_they_call(net: FakeNet, site: Instance) -> None:
    """The ActivityPub URLs (outbox routes) answer browsers with the pages `ui.pages` exports:
    actor_page, post_page, follow_list_page and error_page."""
    published = await posts.create_post(site.ctx, "alice", posts.NewPost("seen by browsers"))
    async with browser(net, site) as visitor:
        profile = await visitor.get("/users/alice")
        post = await visitor.get(f"/objects/{published.post.id}")
        followers = await visitor.get("/users/alice/followers")
        missing = await visitor.get("/objects/12345")
    for page in (profile, post, followers, missing):
        assert page.headers["Content-Type"].startswith("text/html"), page.headers
    assert profile.status_code == 200 and '<h1 id="profile-name"' in profile.text
    assert post.status_code == 200 and "seen by browsers" in text_of(post.text)
    assert followers.status_code == 200 and "Followers" in text_of(followers.text)
    assert missing.status_code == 404 and "No post 12345." in text_of(missing.text)
