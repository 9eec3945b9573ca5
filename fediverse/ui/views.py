"""What the templates show: accounts and posts turned into plain view objects.

Templates never reach into rows or services; they get these, with links, handles and flags
already worked out. Remote HTML is used as stored: it was sanitised once, on the way in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fediverse.errors import FediverseError
from fediverse.services import directory, reach
from fediverse.services.auth import SignedIn
from fediverse.services.context import Context
from fediverse.services.timelines import TimelineEntry
from fediverse.store.tables import Actor, Post
from fediverse.uris import PATH_SEGMENT_BY_KIND

DEFAULT_AVATAR = "/static/avatar.png"
VISIBILITY_LABELS = {
    "public": "Public",
    "unlisted": "Unlisted",
    "followers": "Followers only",
    "direct": "Only people mentioned",
}


@dataclass(frozen=True)
class ActorView:
    id: int
    uri: str
    username: str
    name: str
    handle: str
    href: str
    avatar: str
    header: str | None
    local: bool
    kind: str
    locked: bool
    summary_html: str
    # The page on the actor's own server, for remote actors.
    remote_url: str | None

    @property
    def acct(self) -> str:
        return self.handle.lstrip("@")


def handle_of(ctx: Context, actor: Actor) -> str:
    """Return `@name@domain` (ours use the instance's domain)."""
    return f"@{actor.username}@{ctx.domain if actor.local else actor.domain}"


def actor_href(ctx: Context, actor: Actor) -> str:
    """Return the page of an account here: /users/NAME, /groups/NAME, or /@name@host."""
    if actor.local and actor.kind in PATH_SEGMENT_BY_KIND:
        return f"/{PATH_SEGMENT_BY_KIND[actor.kind]}/{actor.username}"
    return "/" + handle_of(ctx, actor)


def _image(actor: Actor, url: str | None) -> str | None:
    """Return an account's image URL if pages may show it: ours, or another server's on https
    (the page policy allows no plain-http images, which would be mixed content anyway)."""
    if not url or not (actor.local or url.startswith("https://")):
        return None
    return url


def actor_view(ctx: Context, actor: Actor) -> ActorView:
    return ActorView(
        id=actor.id,
        uri=actor.uri,
        username=actor.username,
        name=actor.display_name or actor.username,
        handle=handle_of(ctx, actor),
        href=actor_href(ctx, actor),
        avatar=_image(actor, actor.icon_url) or DEFAULT_AVATAR,
        header=_image(actor, actor.image_url),
        local=actor.local,
        kind=actor.kind,
        locked=actor.manually_approves_followers,
        summary_html=actor.summary_html or "",
        remote_url=None if actor.local else (actor.url or actor.uri),
    )


def post_href(post: Post) -> str:
    """Return the page of a post here: ours at its own id (the URL other servers link to, which
    negotiates HTML or ActivityStreams), remote ones by our id."""
    if post.local and post.boost_of_id is None:
        return f"/objects/{post.id}"
    return f"/posts/{post.id}"


@dataclass
class PostView:
    id: int
    href: str
    uri: str
    remote_url: str | None
    author: ActorView
    kind: str
    title: str | None
    summary: str | None
    content_html: str
    published_at: datetime
    edited_at: datetime | None
    visibility: str
    replies: int
    likes: int
    boosts: int
    liked: bool = False
    boosted: bool = False
    own: bool = False
    can_boost: bool = False
    boosted_by: ActorView | None = None
    reply_to_href: str | None = None
    reply_to_name: str | None = None
    reach: str | None = None
    tags: list[str] = field(default_factory=list)
    depth: int = 0

    @property
    def visibility_label(self) -> str:
        return VISIBILITY_LABELS.get(self.visibility, self.visibility)

    @property
    def is_article(self) -> bool:
        return self.kind == "Article"


async def _reach_summary(ctx: Context, post: Post) -> str | None:
    try:
        return (await reach.reach_for_post(ctx, str(post.id))).summary()
    except FediverseError:
        return None


async def post_views(
    ctx: Context, entries: Sequence[TimelineEntry], viewer: SignedIn | None
) -> list[PostView]:
    """Turn timeline entries into views; the viewer's own posts carry their reach."""
    parents = await _parent_authors(ctx, entries)
    views = []
    for entry in entries:
        shown = entry.shown
        author = entry.boost_of_author if entry.boost_of is not None else entry.author
        assert author is not None
        own = viewer is not None and shown.author_id == viewer.actor_id
        view = PostView(
            id=shown.id,
            href=post_href(shown),
            uri=shown.uri,
            remote_url=None if shown.local else (shown.url or shown.uri),
            author=actor_view(ctx, author),
            kind=shown.type,
            title=shown.name,
            summary=shown.summary,
            content_html=shown.content_html,
            published_at=shown.published_at,
            edited_at=shown.edited_at,
            visibility=shown.visibility,
            replies=shown.replies_count,
            likes=shown.likes_count,
            boosts=shown.boosts_count,
            liked=entry.favourited,
            boosted=entry.reblogged,
            own=own,
            can_boost=shown.visibility in ("public", "unlisted"),
            boosted_by=actor_view(ctx, entry.author) if entry.boost_of is not None else None,
            reply_to_href=_reply_href(shown),
            reply_to_name=parents.get(shown.in_reply_to_id or 0),
            tags=list(entry.tags),
        )
        if own and shown.local:
            view.reach = await _reach_summary(ctx, shown)
        views.append(view)
    return views


async def _parent_authors(ctx: Context, entries: Sequence[TimelineEntry]) -> dict[int, str]:
    """Return the name of the author of each replied-to post, by the replied-to post's id."""
    parent_ids = [e.shown.in_reply_to_id for e in entries if e.shown.in_reply_to_id is not None]
    if not parent_ids:
        return {}
    author_of = await directory.reply_authors(ctx, parent_ids)
    authors = await directory.get_accounts(ctx, list(set(author_of.values())))
    return {
        post_id: authors[author_id].display_name or authors[author_id].username
        for post_id, author_id in author_of.items()
        if author_id in authors
    }


def _reply_href(post: Post) -> str | None:
    if post.in_reply_to_id is not None:
        return f"/posts/{post.in_reply_to_id}"
    return post.in_reply_to_uri


def thread_depths(focus: Post, descendants: Sequence[Post]) -> dict[int, int]:
    """Return how deep each reply sits below the focused post (1 = a direct reply)."""
    depth_by_uri = {focus.uri: 0}
    depths: dict[int, int] = {}
    for reply in descendants:
        depth = depth_by_uri.get(reply.in_reply_to_uri or "", 0) + 1
        depth_by_uri[reply.uri] = depth
        depths[reply.id] = depth
    return depths
