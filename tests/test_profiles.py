"""Professional profiles: validation, federation as Mastodon reads it, Update to followers,
and uploaded images."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from fediverse.activitypub.parse import parse_actor
from fediverse.errors import PayloadTooLarge, Unprocessable
from fediverse.services import follows, profiles
from fediverse.services.actors import NewUser, create_user
from fediverse.services.media import process_image
from fediverse.store.tables import Actor
from tests.fakenet import FakeNet, Instance

AP = {"Accept": "application/activity+json"}
PROFILE = profiles.ProfileData(
    display_name="Alice Archer",
    headline="Builds federated things",
    role="Staff engineer",
    industry="Software",
    company="Example Co",
    city="Lisbon",
    bio="Hello!\nI like ActivityPub.",
    skills=["Python", "distributed systems"],
    interests=["open source"],
    hobbies=["climbing"],
    links=[("Blog", "https://alice.example/blog")],
)


def png(width: int, height: int, *, alpha: bool = False) -> bytes:
    image = Image.new(
        "RGBA" if alpha else "RGB", (width, height), (200, 30, 30, 128) if alpha else (200, 30, 30)
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_profile_federates_as_fields_and_hashtags_and_updates_followers(
    net: FakeNet, local_instance: Instance
) -> None:
    other = await net.add_instance("b.test")
    await create_user(other.ctx, NewUser(username="bob"))
    await follows.follow(other.ctx, "bob", "alice@a.test")
    await net.settle()
    await profiles.update_profile(local_instance.ctx, "alice", PROFILE)
    await net.settle()

    async with net.client() as http:
        doc = (await http.get("https://a.test/users/alice", headers=AP)).json()
    assert doc["name"] == "Alice Archer"
    assert "<p>Hello!<br>I like ActivityPub.</p>" in doc["summary"]
    fields = {f["name"]: f["value"] for f in doc["attachment"]}
    assert fields["Role"] == "Staff engineer" and fields["City"] == "Lisbon"
    assert 'href="https://alice.example/blog"' in fields["Blog"]
    assert {t["name"] for t in doc["tag"]} == {
        "#Python",
        "#DistributedSystems",
        "#OpenSource",
        "#Climbing",
    }
    assert all(
        t["type"] == "Hashtag" and t["href"].startswith("https://a.test/tags/") for t in doc["tag"]
    )
    parsed = parse_actor(doc)  # what any remote server (and our parser) reads back
    assert {a.name for a in parsed.attachments} >= {"Headline", "Role", "Company", "Blog"}

    # bob's server got the Update and refreshed its copy of alice.
    async with other.ctx.sessions() as session:
        cached = await session.scalar(
            select(Actor).where(Actor.uri == "https://a.test/users/alice")
        )
    assert cached is not None and cached.display_name == "Alice Archer"
    seen_from_b = await profiles.get_profile(other.ctx, cached.id)
    assert (seen_from_b.role, seen_from_b.city) == ("Staff engineer", "Lisbon")
    assert "Python" in seen_from_b.interests


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"skills": ["x" * 51]}, "at most 50"),
        ({"links": [("Site", "javascript:alert(1)")]}, "not a web address"),
        ({"headline": "h" * 201}, "Headline"),
        ({"skills": [f"s{i}" for i in range(31)]}, "at most 30"),
    ],
)
async def test_bad_profiles_are_refused_and_change_nothing(
    net: FakeNet, local_instance: Instance, change: dict, words: str
) -> None:
    bad = profiles.ProfileData(**{**PROFILE.__dict__, **change})
    with pytest.raises(Unprocessable, match=words):
        await profiles.update_profile(local_instance.ctx, "alice", bad)
    async with local_instance.ctx.sessions() as session:
        alice = await session.scalar(select(Actor).where(Actor.username == "alice"))
    assert alice is not None and alice.display_name == ""


async def test_avatar_upload_is_resized_served_and_federated(
    net: FakeNet, local_instance: Instance
) -> None:
    url = await profiles.set_image(local_instance.ctx, "alice", "avatar", png(1200, 900))
    assert url.startswith("https://a.test/media/") and url.endswith(".jpg")
    async with net.client() as http:
        served = await http.get(url)
        doc = (await http.get("https://a.test/users/alice", headers=AP)).json()
        traversal = await http.get("https://a.test/media/..%2Finstance.toml")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == (400, 400)
    assert doc["icon"]["url"] == url
    assert traversal.status_code == 404


def test_images_are_checked() -> None:
    with pytest.raises(Unprocessable, match="not an image"):
        process_image(b"<svg onload=alert(1)>", "avatar", 1_000_000)
    with pytest.raises(PayloadTooLarge):
        process_image(png(10, 10), "avatar", 10)
    encoded, stored = process_image(png(3000, 600, alpha=True), "header", 10_000_000)
    assert (stored.width, stored.height, stored.media_type) == (1500, 500, "image/png")
    assert Image.open(io.BytesIO(encoded)).size == (1500, 500)


async def test_client_api_shows_the_profile_as_account_fields(
    net: FakeNet, local_instance: Instance
) -> None:
    from tests.api_helpers import api, token_for

    await profiles.update_profile(local_instance.ctx, "alice", PROFILE)
    token = await token_for(local_instance, "alice")
    async with api(net, local_instance, token) as client:
        response = await client.get("/api/v1/accounts/verify_credentials")
    fields = {f["name"]: f["value"] for f in response.json()["fields"]}
    assert fields["Headline"] == "Builds federated things"
    assert (
        fields["Company"] == "Example Co" and 'href="https://alice.example/blog"' in fields["Blog"]
    )
