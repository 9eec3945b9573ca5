"""Profile pages of people and groups, here and elsewhere; follower lists; follow and unfollow.

Local accounts live at /users/NAME and /groups/NAME (the same URLs as their actor documents:
content negotiation picks). Accounts on other servers are shown at /@name@host.
"""

from __future__ import annotations

from quart import Blueprint, Response

from fediverse.errors import NotFound
from fediverse.services import directory, follows, profiles, remote_actors, timelines
from fediverse.services.actors import get_local_actor
from fediverse.services.directory import MAX_FOLLOW_PAGE
from fediverse.services.timelines import Page
from fediverse.store.tables import Actor
from fediverse.ui import forms, render
from fediverse.ui.session import current_viewer, require_viewer
from fediverse.ui.timeline import PAGE_SIZE, older_link
from fediverse.ui.views import actor_href, actor_view, post_views
from fediverse.web import current_context, query_int

blueprint = Blueprint("profiles", __name__)

LIST_TITLES = {"followers": "Followers", "following": "Following"}


async def actor_page(actor: Actor) -> Response:
    """Render the profile of an account: who they are, what they do, and their posts."""
    ctx = current_context()
    viewer = await current_viewer()
    viewer_id = viewer.actor_id if viewer else None
    data = await profiles.get_profile(ctx, actor.id)
    stats = (await directory.account_stats(ctx, [actor.id]))[actor.id]
    is_self = viewer_id == actor.id
    relation = None
    if viewer_id is not None and not is_self:
        relation = (await directory.relationships(ctx, viewer_id, [actor.id]))[actor.id]
    entries = await timelines.profile(
        ctx, actor.id, viewer_id, Page(max_id=query_int("max_id"), limit=PAGE_SIZE)
    )
    who = actor_view(ctx, actor)
    return await render.page(
        "profile.html",
        who=who,
        profile=data,
        stats=stats,
        relation=relation,
        is_self=is_self,
        posts=await post_views(ctx, entries, viewer),
        older=older_link(entries),
        lists_base="/" + who.handle,
    )


async def _find(acct: str) -> Actor:
    """Find an account by handle; signed-in people may look up other servers (WebFinger)."""
    ctx = current_context()
    acct = acct.strip().lstrip("@")
    try:
        return await directory.lookup(ctx, acct)
    except NotFound:
        if "@" not in acct or await current_viewer() is None:
            raise NotFound(
                f"No account @{acct} is known here. Signed-in members can look up accounts "
                "on other servers with the search page."
            ) from None
    actor = await remote_actors.resolve_handle_to_actor(ctx, acct)
    if actor.deleted_at is not None:
        raise NotFound(f"The account @{acct} was deleted.")
    return actor


@blueprint.get("/@<acct>")
async def profile_by_handle(acct: str) -> Response:
    actor = await _find(acct)
    if actor.local:
        return forms.redirect(actor_href(current_context(), actor))
    return await actor_page(actor)


async def _follow_list(actor: Actor, collection: str) -> Response:
    ctx = current_context()
    page = Page(max_id=query_int("max_id"), limit=MAX_FOLLOW_PAGE)
    lister = directory.followers_page if collection == "followers" else directory.following_page
    rows = await lister(ctx, actor.id, page)
    older = None
    if len(rows) == page.limit:
        older = f"?max_id={rows[-1][0]}"
    return await render.page(
        "follow_list.html",
        who=actor_view(ctx, actor),
        collection=collection,
        heading=LIST_TITLES[collection],
        accounts=[actor_view(ctx, account) for _, account in rows],
        older=older,
    )


@blueprint.get("/@<acct>/<any(followers, following):collection>")
async def follow_list(acct: str, collection: str) -> Response:
    return await _follow_list(await _find(acct), collection)


async def follow_list_page(kind: str, name: str, collection: str) -> Response:
    """Render the followers or following of a local person or group (for /users/NAME/...)."""
    actor = await get_local_actor(current_context(), name, kind=kind)
    return await _follow_list(actor, collection)


@blueprint.post("/follow")
async def follow() -> Response:
    viewer = await require_viewer()
    form = await forms.read_form()
    target = forms.text(form, "target", limit=2048)
    await follows.follow(current_context(), viewer.username, target)
    return forms.redirect(forms.safe_next(form.get("next")))


@blueprint.post("/unfollow")
async def unfollow() -> Response:
    viewer = await require_viewer()
    form = await forms.read_form()
    target = forms.text(form, "target", limit=2048)
    await follows.unfollow(current_context(), viewer.username, target)
    return forms.redirect(forms.safe_next(form.get("next")))
