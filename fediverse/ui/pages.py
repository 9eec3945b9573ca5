"""The web interface: one blueprint made of one module per area, and what every page shares.

Other edges call these from here: `actor_page(actor)` (profiles of local people and groups,
negotiated at /users/NAME and /groups/NAME), `post_page(post_id)` (the HTML face of
/objects/ID), `follow_list_page(kind, name, collection)` (the HTML face of .../followers and
.../following) and `error_page(status, message)`.

The areas: `timeline` (/, /public, /tags/NAME), `posts` (/compose, /posts/ID and its actions),
`profiles` (/@name@host, follower lists, follow and unfollow), `settings` (/settings/profile),
`account` (/sign-in, /sign-out, /settings/password), `join` (/join, /join/status/TOKEN),
`invites` (/invites), `notifications` (/notifications, /follow-requests), `search` (/search)
and `admin` (/admin, /admin/registrations).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, render_template, request

from fediverse.errors import NotFound
from fediverse.services import directory
from fediverse.services.auth import SignedIn
from fediverse.ui import (
    account,
    admin,
    forms,
    invites,
    join,
    notifications,
    posts,
    profiles,
    search,
    settings,
    timeline,
)
from fediverse.ui.render import FILTERS
from fediverse.ui.session import SignInRequired, current_viewer
from fediverse.ui.views import actor_view
from fediverse.web import current_context

__all__ = ["actor_page", "blueprint", "error_page", "follow_list_page", "post_page"]

log = logging.getLogger(__name__)

actor_page = profiles.actor_page
follow_list_page = profiles.follow_list_page
post_page = posts.post_page

blueprint = Blueprint("ui", __name__)
for area in (
    account,
    admin,
    invites,
    join,
    notifications,
    posts,
    profiles,
    search,
    settings,
    timeline,
):
    blueprint.register_blueprint(area.blueprint)
for name, function in FILTERS.items():
    blueprint.add_app_template_filter(function, name)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@blueprint.before_request
async def refuse_forged_forms() -> None:
    """Check the CSRF token of every form posted to any page (403 without it)."""
    if request.method in SAFE_METHODS:
        return
    form = await request.form
    await forms.check_csrf(form.get(forms.CSRF_FIELD))


@blueprint.after_app_request
async def remember_form_token(response: Response) -> Response:
    return forms.remember_form_token(response)


@blueprint.app_errorhandler(SignInRequired)
async def send_to_sign_in(error: SignInRequired) -> Response:
    """Send a signed-out visitor to the sign-in page, which brings them back afterwards."""
    del error
    target = request.full_path.rstrip("?") if request.method == "GET" else "/"
    if target == "/":
        return forms.redirect("/sign-in")
    return forms.redirect("/sign-in?" + urlencode({"next": target}))


async def _viewer_or_none() -> SignedIn | None:
    try:
        return await current_viewer()
    except Exception:
        # An error page must render even when the store is what failed.
        log.warning("could not look up the session for a page", exc_info=True)
        return None


@blueprint.app_context_processor
async def shared_values() -> dict[str, Any]:
    """Give every template the instance's name, the viewer and a CSRF token maker."""
    ctx = current_context()
    viewer = await _viewer_or_none()
    me = None
    if viewer is not None:
        try:
            me = actor_view(ctx, await directory.get_account(ctx, viewer.actor_id))
        except NotFound:
            viewer = None
    return {
        "instance_name": ctx.config.instance.name,
        "domain": ctx.domain,
        "viewer": viewer,
        "me": me,
        "csrf_token": partial(forms.token_for, viewer),
    }


async def error_page(status: int, message: str) -> str:
    """Render an error for a browser: what went wrong and what to do next."""
    return await render_template("error.html", status=status, message=message, path=request.path)
