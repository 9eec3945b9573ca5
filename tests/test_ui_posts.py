"""Web pages: writing notes and articles, threads across servers, the reach of one's own posts,
likes, boosts and deletes."""

from __future__ import annotations

import re

import pytest

from fediverse.services import follows, interactions, posts, remote_posts
from fediverse.services.actors import NewUser, create_user
from fediverse.services.posts import NewPost
from tests.fakenet import FakeNet, Instance
from tests.ui_helpers import PASSWORD, browser, signed_in, text_of


@pytest.fixture
async def site(net: FakeNet) -> Instance:
    return await net.add_instance("a.test")


def _post_id(location: str) -> int:
    match = re.fullmatch(r"/(?:posts|objects)/(\d+)", location)
    assert match, location
    return int(match.group(1))


async def test_a_note_and_its_reach_on_the_home_timeline(net: FakeNet, site: Instance) -> None:
    other = await net.add_instance("b.test")
    await create_user(other.ctx, NewUser(username="bob"))
    async with signed_in(net, site, "alice") as alice:
        await follows.follow(other.ctx, "bob", "alice@a.test")
        await net.settle()
        answer = await alice.submit(
            "/compose", "/compose", {"text": "Hello #fediverse", "visibility": "public"}
        )
        post_id = _post_id(answer.headers["Location"])
        await net.settle()
        page = await alice.get(f"/posts/{post_id}")
        assert "Hello" in page.text and 'href="https://a.test/tags/fediverse"' in page.text
        home = await alice.get("/")
        assert "reached 1 of 1 followers on 1 server" in text_of(home.text)
        assert f'id="post-{post_id}"' in home.text
    async with browser(net, site) as visitor:
        public = await visitor.get(f"/posts/{post_id}")
        assert "Hello" in public.text
        assert "reached" not in public.text  # reach is for the author only
        assert 'rel="alternate" type="application/activity+json"' in public.text


async def test_an_article_with_a_title_and_a_content_warning(net: FakeNet, site: Instance) -> None:
    async with signed_in(net, site, "alice") as alice:
        article = await alice.submit(
            "/compose?kind=article",
            "/compose",
            {"kind": "article", "title": "Moving to FHIR", "text": "## Why\n\nBecause **records**.",
             "visibility": "public"},
        )  # fmt: skip
        article_page = await alice.get(article.headers["Location"])
        assert re.search(r'<h2 class="post-title">\s*Moving to FHIR', article_page.text)
        assert "<strong>records</strong>" in article_page.text
        home = await alice.get("/")
        assert "Read the article" in home.text
        warned = await alice.submit(
            "/compose", "/compose",
            {"kind": "note", "text": "Spoilers inside", "summary": "Film plot",
             "visibility": "unlisted"},
        )  # fmt: skip
        warned_page = await alice.get(warned.headers["Location"])
        assert re.search(r'<details class="cw" open>', warned_page.text)
        assert "Film plot" in warned_page.text and "Unlisted" in warned_page.text
        home = await alice.get("/")
        assert re.search(r'<details class="cw">', home.text)


async def test_a_refused_post_keeps_the_text_and_says_why(net: FakeNet, site: Instance) -> None:
    async with signed_in(net, site, "alice") as alice:
        empty = await alice.submit("/compose", "/compose", {"text": "   ", "kind": "note"})
        assert empty.status_code == 422
        assert "A post needs some text." in text_of(empty.text)
        untitled = await alice.submit(
            "/compose", "/compose", {"text": "Body only", "kind": "article"}
        )
        assert untitled.status_code == 422
        assert "An article needs a title." in text_of(untitled.text)
        assert "Body only" in untitled.text


async def test_a_reply_from_another_server_arrives_in_the_thread(
    net: FakeNet, site: Instance
) -> None:
    other = await net.add_instance("b.test")
    await create_user(other.ctx, NewUser(username="bob"))
    async with signed_in(net, site, "alice") as alice:
        answer = await alice.submit("/compose", "/compose", {"text": "Who works on FHIR?"})
        post_id = _post_id(answer.headers["Location"])
        await net.settle()
        theirs = await remote_posts.fetch_post(other.ctx, f"https://a.test/objects/{post_id}")
        await posts.create_post(
            other.ctx, "bob", NewPost(text="@alice@a.test I do!", in_reply_to_id=theirs.id)
        )
        await net.settle()
        thread = await alice.get(f"/posts/{post_id}")
        assert "1 reply" in text_of(thread.text)
        assert "I do!" in thread.text and "@bob@b.test" in thread.text
        notes = await alice.get("/notifications")
        assert "replied to your post" in text_of(notes.text)
        # Replying from the page: the form starts with a mention of the other author.
        reply_id = int(re.findall(r'id="post-(\d+)"', thread.text)[-1])
        compose = await alice.get(f"/compose?in_reply_to={reply_id}")
        assert "@bob@b.test </textarea>" in compose.text
        mine = await alice.submit(
            f"/posts/{post_id}",
            "/compose",
            {"text": "@bob@b.test great", "in_reply_to": str(reply_id),
             "next": f"/posts/{post_id}"},
        )  # fmt: skip
        assert mine.headers["Location"] == f"/posts/{post_id}"
        assert "great" in (await alice.get(f"/posts/{post_id}")).text


async def test_like_boost_and_delete(net: FakeNet, site: Instance) -> None:
    await create_user(site.ctx, NewUser(username="bob", password=PASSWORD))
    bobs = await posts.create_post(site.ctx, "bob", NewPost(text="Boost me"))
    post_id = bobs.post.id
    async with signed_in(net, site, "alice") as alice:
        liked = await alice.submit(
            f"/posts/{post_id}", f"/posts/{post_id}/like", {"next": f"/posts/{post_id}#post-1"}
        )
        assert liked.status_code == 303
        assert liked.headers["Location"] == f"/posts/{post_id}#post-1"
        page = await alice.get(f"/posts/{post_id}")
        assert re.search(r'class="action like" aria-pressed="true"', page.text)
        assert f'action="/posts/{post_id}/unlike"' in page.text
        boosted = await alice.submit(
            f"/posts/{post_id}",
            f"/posts/{post_id}/boost",
            headers={"Accept": "application/json"},
        )
        assert boosted.json() == {"liked": True, "boosted": True, "likes": 1, "boosts": 1}
        unliked = await alice.submit(
            f"/posts/{post_id}", f"/posts/{post_id}/unlike", headers={"Accept": "application/json"}
        )
        assert unliked.json()["liked"] is False
        home = await alice.get("/")
        assert "boosted" in text_of(home.text)
        # Only the author may delete; the page then is gone.
        assert (await alice.submit("/", f"/posts/{post_id}/delete")).status_code == 403
    async with signed_in(net, site, "bob", create=False) as bob:
        notes = await bob.get("/notifications")
        assert "boosted your post" in text_of(notes.text)
        deleted = await bob.submit(f"/posts/{post_id}", f"/posts/{post_id}/delete",
                                   {"next": f"/posts/{post_id}"})  # fmt: skip
        assert deleted.headers["Location"] == "/"
        assert (await bob.get(f"/posts/{post_id}")).status_code == 404


async def test_followers_only_posts_stay_private(net: FakeNet, site: Instance) -> None:
    await create_user(site.ctx, NewUser(username="bob", password=PASSWORD))
    private = await posts.create_post(
        site.ctx, "bob", NewPost(text="For followers", visibility="followers")
    )
    async with browser(net, site) as visitor:
        assert (await visitor.get(f"/posts/{private.post.id}")).status_code == 404
    async with signed_in(net, site, "alice") as alice:
        assert (await alice.get(f"/posts/{private.post.id}")).status_code == 404
        await follows.follow(site.ctx, "alice", "bob@a.test")
        page = await alice.get(f"/posts/{private.post.id}")
        assert page.status_code == 200 and "Followers only" in page.text
        # A followers-only post cannot be boosted: the button says so.
        assert 'disabled title="Only public posts can be boosted"' in page.text


async def test_boost_pages_lead_to_the_boosted_post(net: FakeNet, site: Instance) -> None:
    await create_user(site.ctx, NewUser(username="bob", password=PASSWORD))
    original = await posts.create_post(site.ctx, "bob", NewPost(text="Original"))
    async with signed_in(net, site, "alice") as alice:
        boost = await interactions.boost(site.ctx, "alice", original.post.id)
        answer = await alice.get(f"/posts/{boost.id}")
        assert answer.status_code == 303
        assert answer.headers["Location"] == f"/posts/{original.post.id}"
