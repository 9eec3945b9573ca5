"""Writing, editing, deleting and reading posts.

A post is stored, its activity built, its audience computed and one delivery per inbox queued,
all in one transaction: a post never exists without its deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.activitypub.builders import build_create, build_delete, build_update
from fediverse.activitypub.sanitize import html_to_text
from fediverse.activitypub.vocab import PUBLIC
from fediverse.errors import Forbidden, Gone, NotFound, Unprocessable
from fediverse.ids import new_id
from fediverse.outbox.audience import FanOut, add_addressed_actors, followers_fan_out
from fediverse.outbox.publish import publish_fan_out
from fediverse.services import content, groups, notifications, remote_posts
from fediverse.services.context import Context
from fediverse.services.converters.posts import post_to_ap, tombstone_to_ap
from fediverse.services.visibility import can_see, visible_to
from fediverse.store import actors as actor_queries
from fediverse.store import posts as post_queries
from fediverse.store.tables import Actor, Mention, Post, PostEdit, PostTag
from fediverse.store.types import utcnow

VISIBILITIES = ("public", "unlisted", "followers", "direct")
MAX_NOTE_CHARS = 5000
MAX_ARTICLE_CHARS = 100_000
SUMMARY_CHARS = 280


@dataclass(frozen=True)
class NewPost:
    text: str
    visibility: str = "public"
    summary: str | None = None
    sensitive: bool = False
    language: str | None = None
    in_reply_to_id: int | None = None
    kind: Literal["Note", "Article"] = "Note"
    title: str | None = None


@dataclass(frozen=True)
class Published:
    post: Post
    activity_id: int
    inboxes: int
    followers_targeted: int


def addressing(
    visibility: str, followers: str, mentioned: list[str]
) -> tuple[list[str], list[str]]:
    """Return (to, cc) exactly as Mastodon addresses each visibility."""
    if visibility == "public":
        return [PUBLIC], [followers, *mentioned]
    if visibility == "unlisted":
        return [followers], [PUBLIC, *mentioned]
    if visibility == "followers":
        return [followers], list(mentioned)
    return list(mentioned), []


async def _author(session: AsyncSession, name: str) -> Actor:
    author = await actor_queries.get_local_by_name(session, name)
    if author is None or author.deleted_at is not None or author.kind == "Application":
        raise NotFound(f"No local account called {name!r}.")
    return author


async def post_extras(session: AsyncSession, post: Post) -> tuple[list[Actor], list[str]]:
    """Return a post's mentioned actors and hashtags."""
    mentioned = await session.scalars(
        select(Actor).join(Mention, Mention.actor_id == Actor.id).where(Mention.post_id == post.id)
    )
    tags = await session.scalars(select(PostTag.tag).where(PostTag.post_id == post.id))
    return list(mentioned.all()), list(tags.all())


def _document(
    ctx: Context,
    post: Post,
    author: Actor,
    mentions: list[Actor],
    tags: list[str],
    *,
    with_context: bool = True,
) -> dict[str, Any]:
    return post_to_ap(
        post,
        author,
        mentions=mentions,
        tags=tags,
        tag_url=lambda name: ctx.uris.absolute(f"/tags/{name}"),
        with_context=with_context,
    )


async def _audience(
    session: AsyncSession, post: Post, author: Actor, mentions: list[Actor]
) -> FanOut:
    fan_out = (
        FanOut() if post.visibility == "direct" else await followers_fan_out(session, author.id)
    )
    add_addressed_actors(fan_out, mentions)
    return fan_out


async def _validate(session: AsyncSession, new: NewPost, author: Actor) -> tuple[str, Post | None]:
    text = new.text.strip()
    limit = MAX_ARTICLE_CHARS if new.kind == "Article" else MAX_NOTE_CHARS
    if not text:
        raise Unprocessable("A post needs some text.")
    if len(text) > limit:
        raise Unprocessable(f"A {new.kind.lower()} may have at most {limit:,} characters.")
    if new.visibility not in VISIBILITIES:
        raise Unprocessable(f"Visibility must be one of {', '.join(VISIBILITIES)}.")
    if new.kind == "Article" and not (new.title or "").strip():
        raise Unprocessable("An article needs a title.")
    parent = None
    if new.in_reply_to_id is not None:
        parent = await session.get(Post, new.in_reply_to_id)
        if parent is None or not await can_see(session, parent, author.id):
            raise NotFound(f"No post {new.in_reply_to_id} to reply to.")
        if parent.boost_of_id is not None:
            raise Unprocessable("Reply to the boosted post, not to the boost.")
    return text, parent


async def create_post(ctx: Context, author_name: str, new: NewPost) -> Published:
    """Store a post by a local actor and queue it for every follower's and mentioned inbox."""
    async with ctx.sessions() as session:
        author = await _author(session, author_name)
        text, parent = await _validate(session, new, author)
    authored = await (content.author_article if new.kind == "Article" else content.author_note)(
        ctx, text
    )
    async with ctx.sessions() as session:
        author = await _author(session, author_name)
        mentions = list(authored.mentions)
        if parent is not None:
            # Reload in this session so the reply count below is written with the post.
            parent = await session.get(Post, parent.id)
        if parent is not None:
            parent_author = await session.get(Actor, parent.author_id)
            if (
                parent_author is not None
                and parent_author.id != author.id
                and all(m.id != parent_author.id for m in mentions)
            ):
                mentions.append(parent_author)
        post_id, activity_id = new_id(), new_id()
        followers = author.followers_url or ctx.uris.actor_collection(author.uri, "followers")
        to, cc = addressing(new.visibility, followers, [m.uri for m in mentions])
        summary = new.summary or None
        if new.kind == "Article" and not summary:
            # Mastodon shows an Article as title, summary and link: it must have a summary.
            plain = html_to_text(authored.html)
            summary = plain if len(plain) <= SUMMARY_CHARS else plain[: SUMMARY_CHARS - 1] + "…"
        uri = ctx.uris.object(post_id)
        post = Post(
            id=post_id,
            uri=uri,
            url=uri,
            author_id=author.id,
            local=True,
            type=new.kind,
            name=(new.title or "").strip() or None,
            summary=summary,
            sensitive=new.sensitive or (new.kind == "Note" and bool(new.summary)),
            content_html=authored.html,
            source=text,
            language=new.language,
            visibility=new.visibility,
            to=to,
            cc=cc,
            published_at=utcnow(),
            in_reply_to_uri=parent.uri if parent else None,
            in_reply_to_id=parent.id if parent else None,
            conversation=(parent.conversation or parent.uri) if parent else uri,
        )
        session.add(post)
        await session.flush()
        for actor in mentions:
            session.add(Mention(post_id=post.id, actor_id=actor.id))
        for tag in authored.tags:
            session.add(PostTag(post_id=post.id, tag=tag))
        if parent is not None:
            await post_queries.bump(session, parent.id, "replies_count", 1)
        await notifications.for_new_post(session, post, author, mentions, parent)
        addressed_groups = await groups.local_groups_addressed(session, [m.uri for m in mentions])
        fan_out = await _audience(session, post, author, mentions)
        note = _document(ctx, post, author, mentions, authored.tags, with_context=False)
        activity = build_create(ctx.uris.activity(activity_id), author.uri, note, to=to, cc=cc)
        inboxes = await publish_fan_out(
            session,
            ctx.uris,
            activity_id=activity_id,
            sender_id=author.id,
            activity=activity,
            fan_out=fan_out,
            public=new.visibility in ("public", "unlisted"),
        )
        # After the Create is queued, so a group's Announce never overtakes the post itself.
        await groups.announce_to_members(session, ctx, post, author, addressed_groups)
        await session.commit()
    ctx.notify()
    return Published(post, activity_id, inboxes, fan_out.followers_targeted)


async def edit_post(
    ctx: Context,
    author_name: str,
    post_id: int,
    *,
    text: str,
    summary: str | None = None,
    sensitive: bool | None = None,
    language: str | None = None,
    title: str | None = None,
) -> Post:
    """Edit a local post, keep the previous version in its history, and send `Update`."""
    async with ctx.sessions() as session:
        author = await _author(session, author_name)
        post = await _own_live_post(session, author, post_id)
        kind = post.type
    authored = await (content.author_article if kind == "Article" else content.author_note)(
        ctx, text.strip()
    )
    if not text.strip():
        raise Unprocessable("A post needs some text.")
    async with ctx.sessions() as session:
        author = await _author(session, author_name)
        post = await _own_live_post(session, author, post_id)
        session.add(
            PostEdit(
                post_id=post.id,
                content_html=post.content_html,
                summary=post.summary,
                name=post.name,
                sensitive=post.sensitive,
                created_at=post.edited_at or post.published_at,
            )
        )
        post.content_html, post.source = authored.html, text.strip()
        post.summary = summary if summary is not None else post.summary
        post.sensitive = sensitive if sensitive is not None else post.sensitive
        post.language = language or post.language
        post.name = title.strip() if title else post.name
        post.edited_at = utcnow()
        mentions, _ = await post_extras(session, post)
        await session.execute(delete(PostTag).where(PostTag.post_id == post.id))
        for tag in authored.tags:
            session.add(PostTag(post_id=post.id, tag=tag))
        activity_id = new_id()
        note = _document(ctx, post, author, mentions, authored.tags, with_context=False)
        activity = build_update(
            ctx.uris.activity(activity_id), author.uri, note, to=list(post.to), cc=list(post.cc)
        )
        fan_out = await _audience(session, post, author, mentions)
        await publish_fan_out(
            session,
            ctx.uris,
            activity_id=activity_id,
            sender_id=author.id,
            activity=activity,
            fan_out=fan_out,
        )
        await session.commit()
    ctx.notify()
    return post


async def _own_live_post(session: AsyncSession, author: Actor, post_id: int) -> Post:
    post = await session.get(Post, post_id)
    if post is None or post.deleted_at is not None or post.boost_of_id is not None:
        raise NotFound(f"No post {post_id}.")
    if post.author_id != author.id:
        raise Forbidden("Only the author can change a post.")
    return post


async def delete_post(ctx: Context, author_name: str, post_id: int) -> Published:
    """Delete one of a local actor's posts and tell everyone who received it."""
    async with ctx.sessions() as session:
        author = await _author(session, author_name)
        post = await _own_live_post(session, author, post_id)
        post.deleted_at = utcnow()
        if post.in_reply_to_id is not None:
            parent = await session.get(Post, post.in_reply_to_id)
            if parent is not None:
                await post_queries.bump(session, parent.id, "replies_count", -1)
        mentions, _ = await post_extras(session, post)
        activity_id = new_id()
        tombstone = tombstone_to_ap(post)
        tombstone.pop("@context")
        fan_out = await _audience(session, post, author, mentions)
        activity = build_delete(
            ctx.uris.activity(activity_id),
            author.uri,
            tombstone,
            to=list(post.to),
            cc=list(post.cc),
        )
        inboxes = await publish_fan_out(
            session,
            ctx.uris,
            activity_id=activity_id,
            sender_id=author.id,
            activity=activity,
            fan_out=fan_out,
        )
        await session.commit()
    ctx.notify()
    return Published(post, activity_id, inboxes, fan_out.followers_targeted)


async def get_visible_post(ctx: Context, post_id: int, viewer_actor_id: int | None) -> Post:
    """Return a post the viewer may see, or raise NotFound (never reveal that it exists)."""
    async with ctx.sessions() as session:
        post = await session.get(Post, post_id)
        if post is None or not await can_see(session, post, viewer_actor_id):
            raise NotFound(f"No post {post_id}.")
        return post


@dataclass(frozen=True)
class Version:
    content_html: str
    summary: str | None
    name: str | None
    sensitive: bool
    created_at: Any


async def post_history(ctx: Context, post_id: int, viewer_actor_id: int | None) -> list[Version]:
    """Return every version of a post, oldest first, the current one last."""
    post = await get_visible_post(ctx, post_id, viewer_actor_id)
    async with ctx.sessions() as session:
        edits = (
            await session.scalars(
                select(PostEdit).where(PostEdit.post_id == post.id).order_by(PostEdit.id)
            )
        ).all()
    versions = [
        Version(e.content_html, e.summary, e.name, e.sensitive, e.created_at) for e in edits
    ]
    versions.append(
        Version(
            post.content_html,
            post.summary,
            post.name,
            post.sensitive,
            post.edited_at or post.published_at,
        )
    )
    return versions


MAX_THREAD = 200
MAX_THREAD_FETCHES = 10


async def thread(
    ctx: Context, post_id: int, viewer_actor_id: int | None
) -> tuple[list[Post], list[Post]]:
    """Return (ancestors oldest first, descendants in reply order) visible to the viewer."""
    post = await get_visible_post(ctx, post_id, viewer_actor_id)
    fetches = 0
    async with ctx.sessions() as session:
        ancestors: list[Post] = []
        current = post
        while current.in_reply_to_uri and len(ancestors) < MAX_THREAD:
            parent = await session.scalar(select(Post).where(Post.uri == current.in_reply_to_uri))
            if parent is None and fetches < MAX_THREAD_FETCHES:
                # A parent we never received: fetch it from its server now (threads on demand),
                # unless a reader's fetch of it failed lately.
                fetches += 1
                parent = await remote_posts.fetch_post_for_reader(ctx, current.in_reply_to_uri)
            if parent is None:
                break
            if await can_see(session, parent, viewer_actor_id):
                ancestors.insert(0, parent)
            current = parent
        descendants: list[Post] = []
        frontier = [post.uri]
        while frontier and len(descendants) < MAX_THREAD:
            replies = (
                await session.scalars(
                    select(Post)
                    .where(
                        Post.in_reply_to_uri.in_(frontier),
                        Post.deleted_at.is_(None),
                        visible_to(viewer_actor_id),
                    )
                    .order_by(Post.id)
                )
            ).all()
            descendants.extend(replies)
            frontier = [reply.uri for reply in replies]
    return ancestors, descendants[:MAX_THREAD]


async def load_post_document(ctx: Context, post_id: int) -> tuple[dict[str, Any], int]:
    """Return (document, status) for GET /objects/<id>: the post, or a Tombstone with 410."""
    async with ctx.sessions() as session:
        post = await session.get(Post, post_id)
        if post is None or not post.local or post.boost_of_id is not None:
            raise NotFound(f"No post {post_id} here.")
        if post.deleted_at is not None:
            return tombstone_to_ap(post), Gone.status
        if post.visibility not in ("public", "unlisted"):
            # Followers-only and direct posts are delivered, never served to anonymous fetches.
            raise NotFound(f"No post {post_id} here.")
        author = await session.get(Actor, post.author_id)
        assert author is not None
        mentions, tags = await post_extras(session, post)
        return _document(ctx, post, author, mentions, tags), 200
