"""Authoring: turn what a member typed into safe HTML with links, mentions and hashtags.

Notes are plain text; articles are Markdown. Either way the result goes through the one bleach
policy, and `@user@host` mentions are resolved (WebFinger for remote people) so they become real
`Mention` tags with addressing, as Mastodon expects.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import markdown

from fediverse.activitypub.sanitize import sanitize_html
from fediverse.errors import FediverseError
from fediverse.services import remote_actors
from fediverse.services.context import Context
from fediverse.store.tables import Actor

log = logging.getLogger(__name__)

# @user or @user@host, not preceded by a word character (so e-mail addresses are left alone).
MENTION = re.compile(
    r"(?<![\w/])@([a-zA-Z0-9_](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9_])?)"
    r"(?:@([a-zA-Z0-9.-]+(?::\d+)?))?"
)
HASHTAG = re.compile(r"(?<![\w#&/])#(\w{1,100})", re.UNICODE)
URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
MAX_MENTIONS = 20
LINK_REL = "nofollow noopener noreferrer"


@dataclass
class Authored:
    html: str
    mentions: list[Actor] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def _hashtag_link(ctx: Context, name: str) -> str:
    href = ctx.uris.absolute(f"/tags/{name.lower()}")
    return (
        f'<a href="{href}" class="mention hashtag" rel="{LINK_REL} tag">'
        f"#<span>{html.escape(name)}</span></a>"
    )


def _mention_link(actor: Actor) -> str:
    href = actor.url or actor.uri
    return (
        f'<span class="h-card"><a href="{html.escape(href)}" class="u-url mention" '
        f'rel="{LINK_REL}">@<span>{html.escape(actor.username)}</span></a></span>'
    )


async def _resolve_mentions(ctx: Context, text: str) -> dict[str, Actor]:
    """Resolve each distinct @mention; unknown ones stay plain text."""
    found: dict[str, Actor] = {}
    for match in MENTION.finditer(text):
        handle = match.group(0)
        if handle in found or len(found) >= MAX_MENTIONS:
            continue
        user, host = match.group(1), match.group(2) or ctx.domain
        try:
            found[handle] = await remote_actors.resolve_handle_to_actor(ctx, f"{user}@{host}")
        except FediverseError as exc:
            log.info("mention not resolved", extra={"handle": handle, "reason": exc.message})
    return found


def _link_plain_text(ctx: Context, text: str, mentions: dict[str, Actor]) -> tuple[str, list[str]]:
    """Escape plain text and turn URLs, mentions and hashtags into links, paragraph by paragraph."""
    tags: list[str] = []
    pattern = re.compile("|".join(f"(?:{p.pattern})" for p in (URL, MENTION, HASHTAG)), re.UNICODE)

    def render_line(line: str) -> str:
        out, last = [], 0
        for match in pattern.finditer(line):
            token = match.group(0)
            out.append(html.escape(line[last : match.start()]))
            last = match.end()
            if token.startswith("http"):
                shown = html.escape(token)
                out.append(f'<a href="{shown}" rel="{LINK_REL}">{shown}</a>')
            elif token.startswith("@") and token in mentions:
                out.append(_mention_link(mentions[token]))
            elif token.startswith("#"):
                name = token[1:]
                if name.lower() not in tags:
                    tags.append(name.lower())
                out.append(_hashtag_link(ctx, name))
            else:
                out.append(html.escape(token))
        out.append(html.escape(line[last:]))
        return "".join(out)

    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rendered = "".join(
        "<p>" + "<br>".join(render_line(line) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
    )
    return rendered, tags


async def author_note(ctx: Context, text: str) -> Authored:
    """Render a plain-text note."""
    mentions = await _resolve_mentions(ctx, text)
    rendered, tags = _link_plain_text(ctx, text, mentions)
    return Authored(sanitize_html(rendered), _unique(mentions.values()), tags)


async def author_article(ctx: Context, text: str) -> Authored:
    """Render a Markdown article; mentions and hashtags in its text are linked too."""
    mentions = await _resolve_mentions(ctx, text)
    rendered = markdown.markdown(
        text, extensions=["fenced_code", "sane_lists"], output_format="html"
    )
    tags: list[str] = []
    for match in HASHTAG.finditer(text):
        if match.group(1).lower() not in tags:
            tags.append(match.group(1).lower())
    for handle, actor in mentions.items():
        rendered = rendered.replace(html.escape(handle), _mention_link(actor))
    return Authored(sanitize_html(rendered), _unique(mentions.values()), tags)


def _unique(actors: Iterable[Actor]) -> list[Actor]:
    seen: dict[int, Actor] = {}
    for actor in actors:
        seen.setdefault(actor.id, actor)
    return list(seen.values())
