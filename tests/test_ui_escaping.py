"""Text people type (display names, headlines, search terms) and text other servers send (a
remote display name) shows as text on every page that shows it: markup in it is escaped, never
rendered."""

from __future__ import annotations

import httpx
from markupsafe import escape

from fediverse.services import posts
from fediverse.services.actors import NewUser, create_user
from tests.fakenet import FakeNet
from tests.remote import make_remote_actor, post_signed
from tests.ui_helpers import browser, signed_in

NAME = "<script>alert('name')</script>Ann <b>Bold</b>"
HEADLINE = '<img src=x onerror="alert(1)">Head of <i>Data</i>'
TERM = "<svg onload=alert(3)>ann"
# Markup in a remote name is dropped on the way in, but entities decode to plain text that
# reads like markup: that text must still be escaped on the page.
REMOTE_NAME = "Rita &lt;script&gt;alert(4)&lt;/script&gt;<b>!</b>"
REMOTE_TEXT = "Rita <script>alert(4)</script>!"


def assert_shown_as_text(page: httpx.Response, raw: str) -> None:
    assert page.status_code == 200, page.text
    assert raw not in page.text
    assert str(escape(raw)) in page.text


async def test_names_headlines_and_search_terms_render_as_text(sqlite_net: FakeNet) -> None:
    net = sqlite_net
    site = await net.add_instance("a.test")
    async with signed_in(net, site, "ann") as ann:
        saved = await ann.submit(
            "/settings/profile", "/settings/profile", {"display_name": NAME, "headline": HEADLINE}
        )
        assert saved.status_code == 303, saved.text
        settings = await ann.get("/settings/profile")
        assert_shown_as_text(settings, HEADLINE)  # in the input's value
    published = await posts.create_post(site.ctx, "ann", posts.NewPost("a first post"))

    async with browser(net, site) as visitor:
        profile = await visitor.get("/users/ann")
        assert_shown_as_text(profile, NAME)
        assert_shown_as_text(profile, HEADLINE)
        for path in (f"/objects/{published.post.id}", "/public", "/search?q=ann"):
            assert_shown_as_text(await visitor.get(path), NAME)
        searched = await visitor.get("/search", params={"q": TERM})
        assert_shown_as_text(searched, TERM)
        assert searched.text.count(str(escape(TERM))) >= 2  # the title and the search box
        missing = await visitor.get("/nothing<script>alert(5)</script>")
        assert missing.status_code == 404
        assert "<script>alert(5)" not in missing.text and "&lt;script&gt;alert(5)" in missing.text


async def test_a_remote_display_name_renders_as_text(sqlite_net: FakeNet) -> None:
    net = sqlite_net
    site = await net.add_instance("a.test")
    await create_user(site.ctx, NewUser(username="alice"))
    rita = make_remote_actor(net, "https://remote.example/users/rita", name=REMOTE_NAME)
    follow = {
        "id": f"{rita.iri}/follows/1",
        "type": "Follow",
        "actor": rita.iri,
        "object": "https://a.test/users/alice",
    }
    assert (await post_signed(net, "https://a.test/inbox", follow, rita.key)).status_code == 202
    await net.settle()
    async with browser(net, site) as visitor:
        assert_shown_as_text(await visitor.get("/@rita@remote.example"), REMOTE_TEXT)
        assert_shown_as_text(await visitor.get("/users/alice/followers"), REMOTE_TEXT)
