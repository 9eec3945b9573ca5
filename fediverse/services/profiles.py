"""Professional profiles: edit them, show them, and federate them the way Mastodon reads them.

Skills, interests and hobbies travel as `Hashtag` tags on the actor; headline, role, industry,
company, city and links as `PropertyValue` attachments (Mastodon's profile fields). Every edit
sends `Update` of the actor to its followers.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.builders import build_update_actor
from fediverse.activitypub.parse import ParseError, parse_actor
from fediverse.activitypub.sanitize import text_to_html
from fediverse.errors import NotFound, Unprocessable
from fediverse.ids import new_id
from fediverse.outbox.audience import followers_fan_out
from fediverse.outbox.publish import publish_fan_out
from fediverse.services import media
from fediverse.services.context import Context
from fediverse.services.converters.actors import actor_to_ap
from fediverse.store import actors as actor_queries
from fediverse.store.tables import Actor, Profile

TEXT_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("headline", "Headline", 200),
    ("role", "Role", 120),
    ("industry", "Industry", 120),
    ("company", "Company", 120),
    ("city", "City", 120),
)
LIST_FIELDS = ("skills", "interests", "hobbies")
MAX_LIST_ITEMS = 30
MAX_ITEM_CHARS = 50
MAX_LINKS = 8
MAX_BIO_CHARS = 2000
MAX_DISPLAY_NAME = 100
LINK_REL = "me nofollow noopener noreferrer"


@dataclass
class ProfileData:
    display_name: str = ""
    headline: str = ""
    role: str = ""
    industry: str = ""
    company: str = ""
    city: str = ""
    bio: str = ""
    skills: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    hobbies: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    # Rendered, sanitised bio (for remote actors this is all we have).
    bio_html: str = ""


def hashtag_name(item: str) -> str:
    """Turn a skill like "machine learning" into the hashtag name "MachineLearning"."""
    words = re.findall(r"\w+", item)
    return "".join(word[:1].upper() + word[1:] for word in words)


def _clean_list(values: list[str], label: str) -> list[str]:
    cleaned: list[str] = []
    for value in values:
        item = " ".join(value.split())
        if not item:
            continue
        if len(item) > MAX_ITEM_CHARS:
            raise Unprocessable(
                f"Each of your {label} may have at most {MAX_ITEM_CHARS} "
                f"characters: shorten {item[:20]!r}…."
            )
        if item.lower() not in (c.lower() for c in cleaned):
            cleaned.append(item)
    if len(cleaned) > MAX_LIST_ITEMS:
        raise Unprocessable(f"List at most {MAX_LIST_ITEMS} {label}.")
    return cleaned


def validate(data: ProfileData) -> ProfileData:
    """Return a cleaned copy of a profile, or raise naming the field that is wrong."""
    if len(data.display_name.strip()) > MAX_DISPLAY_NAME:
        raise Unprocessable(f"The display name may have at most {MAX_DISPLAY_NAME} characters.")
    for name, label, limit in TEXT_FIELDS:
        if len(getattr(data, name).strip()) > limit:
            raise Unprocessable(f"{label} may have at most {limit} characters.")
    if len(data.bio) > MAX_BIO_CHARS:
        raise Unprocessable(f"The bio may have at most {MAX_BIO_CHARS} characters.")
    links = [(label.strip(), url.strip()) for label, url in data.links if url.strip()]
    if len(links) > MAX_LINKS:
        raise Unprocessable(f"Add at most {MAX_LINKS} links.")
    for label, url in links:
        if not url.startswith(("https://", "http://")) or " " in url or len(url) > 2000:
            raise Unprocessable(f"{url!r} is not a web address; links start with https://.")
        if len(label) > 60:
            raise Unprocessable("A link's label may have at most 60 characters.")
    return ProfileData(
        display_name=data.display_name.strip(),
        **{name: getattr(data, name).strip() for name, _, _ in TEXT_FIELDS},
        bio=data.bio.strip(),
        skills=_clean_list(data.skills, "skills"),
        interests=_clean_list(data.interests, "interests"),
        hobbies=_clean_list(data.hobbies, "hobbies"),
        links=[(label or url.split("//", 1)[1].split("/", 1)[0], url) for label, url in links],
    )


def profile_fields(profile: Profile | None) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Return (attachment, tag) entries for an actor document from a local profile."""
    if profile is None:
        return [], []
    attachment: list[dict[str, Any]] = [
        {"type": "PropertyValue", "name": label, "value": html.escape(getattr(profile, name))}
        for name, label, _ in TEXT_FIELDS
        if getattr(profile, name)
    ]
    for link in profile.links:
        url = html.escape(link.get("url", ""))
        shown = html.escape(url.split("//", 1)[-1].rstrip("/"))
        attachment.append(
            {
                "type": "PropertyValue",
                "name": link.get("label") or "Link",
                "value": f'<a href="{url}" rel="{LINK_REL}" target="_blank">{shown}</a>',
            }
        )
    tags = []
    seen: set[str] = set()
    for item in [*profile.skills, *profile.interests, *profile.hobbies]:
        name = hashtag_name(item)
        if name and name.lower() not in seen:
            seen.add(name.lower())
            tags.append({"type": "Hashtag", "name": f"#{name}"})
    return attachment, tags


async def actor_document(session: AsyncSession, ctx: Context, actor: Actor) -> dict[str, Any]:
    """Build a local actor's document including its professional profile."""
    profile = await session.get(Profile, actor.id)
    attachment, tags = profile_fields(profile)
    for tag in tags:
        tag["href"] = ctx.uris.absolute(f"/tags/{tag['name'][1:].lower()}")
    return actor_to_ap(actor, attachment=attachment, tags=tags)


async def get_profile(ctx: Context, actor_id: int) -> ProfileData:
    """Return the profile of any actor: ours from the table, others' from their document."""
    async with ctx.sessions() as session:
        actor = await actor_queries.get_by_id(session, actor_id)
        if actor is None:
            raise NotFound("No such account.")
        profile = await session.get(Profile, actor_id) if actor.local else None
    if profile is not None:
        return ProfileData(
            display_name=actor.display_name,
            **{name: getattr(profile, name) for name, _, _ in TEXT_FIELDS},
            bio=profile.bio,
            skills=list(profile.skills),
            interests=list(profile.interests),
            hobbies=list(profile.hobbies),
            links=[(link.get("label", ""), link.get("url", "")) for link in profile.links],
            bio_html=actor.summary_html,
        )
    data = ProfileData(display_name=actor.display_name, bio_html=actor.summary_html)
    if actor.raw:
        try:
            doc = parse_actor(actor.raw)
        except ParseError:
            return data
        labels = {label.lower(): name for name, label, _ in TEXT_FIELDS}
        for entry in doc.attachments:
            name = labels.get(entry.name.strip().lower())
            if name is not None:
                setattr(data, name, re.sub(r"<[^>]+>", "", entry.value_html).strip())
        data.interests = [tag.lstrip("#") for tag in doc.hashtags]
    return data


async def update_profile(ctx: Context, username: str, data: ProfileData) -> None:
    """Save a local person's profile and send `Update` to their followers."""
    clean = validate(data)
    async with ctx.sessions() as session:
        actor = await _local(session, username)
        profile = await session.get(Profile, actor.id)
        if profile is None:
            profile = Profile(actor_id=actor.id)
            session.add(profile)
        for name, _, _ in TEXT_FIELDS:
            setattr(profile, name, getattr(clean, name))
        profile.bio = clean.bio
        profile.skills, profile.interests, profile.hobbies = (
            clean.skills,
            clean.interests,
            clean.hobbies,
        )
        profile.links = [{"label": label, "url": url} for label, url in clean.links]
        actor.display_name = clean.display_name
        actor.summary_html = text_to_html(clean.bio) if clean.bio else ""
        await session.flush()
        await _send_update(session, ctx, actor)
        await session.commit()
    ctx.notify()


async def set_image(ctx: Context, username: str, purpose: media.Purpose, data: bytes) -> str:
    """Replace a person's avatar or header and tell their followers; return the new URL."""
    async with ctx.sessions() as session:
        actor = await _local(session, username)
    url = await media.store_image(ctx, actor.id, purpose, data)
    async with ctx.sessions() as session:
        actor = await _local(session, username)
        if purpose == "avatar":
            actor.icon_url = url
        else:
            actor.image_url = url
        await session.flush()
        await _send_update(session, ctx, actor)
        await session.commit()
    ctx.notify()
    return url


async def _local(session: AsyncSession, username: str) -> Actor:
    actor = await actor_queries.get_local_by_name(session, username)
    if actor is None or actor.deleted_at is not None:
        raise NotFound(f"No local account called {username!r}.")
    return actor


async def _send_update(session: AsyncSession, ctx: Context, actor: Actor) -> None:
    activity_id = new_id()
    document = await actor_document(session, ctx, actor)
    activity = build_update_actor(
        ctx.uris.activity(activity_id), document, followers=actor.followers_url
    )
    fan_out = await followers_fan_out(session, actor.id)
    await publish_fan_out(
        session,
        ctx.uris,
        activity_id=activity_id,
        sender_id=actor.id,
        activity=activity,
        fan_out=fan_out,
        public=True,
    )
