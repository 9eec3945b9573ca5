"""Web pages: the professional profile and its pictures, profiles here and on other servers,
following, follower lists, follow requests, and search."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import update

from fediverse.services import follows, posts
from fediverse.services.actors import NewUser, create_group, create_user
from fediverse.services.posts import NewPost
from fediverse.store.tables import Actor
from fediverse.ui import pages
from tests.fakenet import FakeNet, Instance
from tests.ui_helpers import PASSWORD, browser, signed_in, text_of


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    return await net.add_instance("a.test")


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (40, 90, 160)).save(out, format="PNG")
    return out.getvalue()


PROFILE = {
    "display_name": "Alice Martin",
    "headline": "Data platform lead",
    "role": "Head of Data",
    "company": "St. Mary's",
    "industry": "Healthcare",
    "city": "Lyon",
    "bio": "I like open standards.",
    "skills": "Python, PostgreSQL",
    "interests": "Interoperability",
    "hobbies": "Chess\nClimbing",
    "link_label": "Website",
    "link_url": "https://alice.example.org/",
}


async def test_the_professional_profile_and_its_pictures(net: FakeNet, site: Instance) -> None:
    async with signed_in(net, site, "alice") as alice:
        saved = await alice.submit(
            "/settings/profile",
            "/settings/profile",
            PROFILE,
            files={"avatar": ("me.png", _png((800, 600)), "image/png"),
                   "header": ("wide.png", _png((1600, 600)), "image/png")},
        )  # fmt: skip
        assert saved.status_code == 303, saved.text
        assert saved.headers["Location"] == "/settings/profile?saved=1"
        form = await alice.get(saved.headers["Location"])
        assert "Saved." in form.text
        assert 'value="Python, PostgreSQL"' in form.text
        page = await alice.get("/users/alice")
    text = text_of(page.text)
    expected = ("Alice Martin", "Data platform lead", "Head of Data at St. Mary's", "Healthcare",
                "Lyon", "I like open standards.", "Chess", "Climbing")  # fmt: skip
    for piece in expected:
        assert piece in text, piece
    media = "https://a.test/media/"
    assert re.search(f'<img class="avatar profile-avatar u-photo" src="{media}', page.text)
    assert re.search(f'<img class="profile-header" src="{media}', page.text)
    assert 'rel="me nofollow noopener noreferrer"' in page.text
    assert "Edit profile" in page.text


async def test_a_bad_profile_is_refused_with_the_reason(net: FakeNet, site: Instance) -> None:
    async with signed_in(net, site, "alice") as alice:
        refused = await alice.submit(
            "/settings/profile", "/settings/profile", {**PROFILE, "link_url": "javascript:x"}
        )
        assert refused.status_code == 422
        assert "is not a web address" in text_of(refused.text)
        assert 'value="Data platform lead"' in refused.text
        not_image = await alice.submit(
            "/settings/profile",
            "/settings/profile",
            PROFILE,
            files={"avatar": ("me.png", b"not an image at all", "image/png")},
        )
        assert not_image.status_code == 422
        assert "not an image" in text_of(not_image.text)


async def test_a_person_on_another_server_found_and_followed(net: FakeNet, site: Instance) -> None:
    other = await net.add_instance("b.test")
    await create_user(other.ctx, NewUser(username="bob", display_name="Bob Okafor"))
    await posts.create_post(other.ctx, "bob", NewPost(text="Hi from b"))
    async with browser(net, site) as visitor:
        unknown = await visitor.get("/@bob@b.test")
        assert unknown.status_code == 404
        assert "Signed-in members can look up" in text_of(unknown.text)
    async with signed_in(net, site, "alice") as alice:
        found = await alice.get("/search", params={"q": "bob@b.test"})
        assert "Bob Okafor" in found.text
        assert 'aria-label="Follow @bob@b.test"' in found.text
        profile = await alice.get("/@bob@b.test")
        assert profile.status_code == 200 and "Bob Okafor" in profile.text
        assert "See the full profile on b.test" in text_of(profile.text)
        followed = await alice.submit(
            "/@bob@b.test", "/follow",
            {"target": "https://b.test/users/bob", "next": "/@bob@b.test"},
        )  # fmt: skip
        assert followed.headers["Location"] == "/@bob@b.test"
        await net.settle()
        again = await alice.get("/@bob@b.test")
        assert 'aria-label="Unfollow @bob@b.test"' in again.text
        followers = await alice.get("/@bob@b.test/followers")
        assert "@alice@a.test" in followers.text
        following = await alice.get("/users/alice")
        assert "1</strong> following" in following.text
        await alice.submit("/@bob@b.test", "/unfollow", {"target": "https://b.test/users/bob"})
        await net.settle()
        assert 'aria-label="Follow @bob@b.test"' in (await alice.get("/@bob@b.test")).text
        assert (await alice.get("/@alice")).headers["Location"] == "/users/alice"


async def test_follow_requests_are_answered_from_the_page(net: FakeNet, site: Instance) -> None:
    await create_user(site.ctx, NewUser(username="bob", password=PASSWORD))
    await create_user(site.ctx, NewUser(username="alice", password=PASSWORD))
    async with site.ctx.sessions() as session:
        await session.execute(
            update(Actor).where(Actor.username == "alice").values(manually_approves_followers=True)
        )
        await session.commit()
    async with signed_in(net, site, "alice", create=False) as alice:
        await follows.follow(site.ctx, "bob", "alice@a.test")
        notes = await alice.get("/notifications")
        assert "asked to follow you" in text_of(notes.text)
        assert "1 follow request waiting" in text_of(notes.text)
        waiting = await alice.get("/follow-requests")
        assert "@bob@a.test" in waiting.text
        answered = await alice.submit(
            "/follow-requests", "/follow-requests/approve", {"follower": "https://a.test/users/bob"}
        )
        assert answered.headers["Location"] == "/follow-requests"
        assert "No follow requests are waiting." in (await alice.get("/follow-requests")).text
    async with signed_in(net, site, "bob", create=False) as bob:
        profile = await bob.get("/users/alice")
        assert 'aria-label="Unfollow @alice@a.test"' in profile.text


async def test_search_by_name_tag_and_link(net: FakeNet, site: Instance) -> None:
    other = await net.add_instance("b.test")
    await create_user(other.ctx, NewUser(username="bob"))
    theirs = await posts.create_post(other.ctx, "bob", NewPost(text="A post over there #fhir"))
    async with signed_in(net, site, "alice") as alice:
        await alice.submit("/compose", "/compose", {"text": "Learning #fhir"})
        by_name = await alice.get("/search", params={"q": "ali"})
        assert "@alice@a.test" in by_name.text
        by_tag = await alice.get("/search", params={"q": "#FHIR"})
        assert by_tag.headers["Location"] == "/tags/fhir"
        tag_page = await alice.get("/tags/fhir")
        assert "Learning" in tag_page.text
        by_link = await alice.get("/search", params={"q": theirs.post.uri})
        assert "A post over there" in by_link.text
        nothing = await alice.get("/search", params={"q": "nobody@b.test"})
        assert nothing.status_code == 200
        assert "Nobody found." in nothing.text
    async with browser(net, site) as visitor:
        anonymous = await visitor.get("/search", params={"q": "https://b.test/users/bob"})
        assert "Sign in to look up" in anonymous.text


async def test_a_group_is_joined_from_its_page(net: FakeNet, site: Instance) -> None:
    async with signed_in(net, site, "alice") as alice:
        await create_group(site.ctx, "hikers", owner_username="alice", title="Hikers")
        page = await alice.get("/groups/hikers")
        assert page.status_code == 200 and "Hikers" in page.text
        assert 'aria-label="Join @hikers@a.test"' in page.text
        await alice.submit(
            "/groups/hikers", "/follow",
            {"target": "https://a.test/groups/hikers", "next": "/groups/hikers"},
        )  # fmt: skip
        joined = await alice.get("/groups/hikers")
        assert 'aria-label="Leave @hikers@a.test"' in joined.text
        assert "1</strong> member" in joined.text


async def test_local_follower_lists_render_for_negotiation(net: FakeNet, site: Instance) -> None:
    await create_user(site.ctx, NewUser(username="alice"))
    await create_user(site.ctx, NewUser(username="bob"))
    await follows.follow(site.ctx, "bob", "alice@a.test")
    async with site.app.test_request_context("/users/alice/followers"):
        response = await pages.follow_list_page("Person", "alice", "followers")
        body = (await response.get_data()).decode()
    assert response.status_code == 200
    assert "@bob@a.test" in body
