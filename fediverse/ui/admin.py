"""The admin's registration desk: the registration mode, the waitlist, and who may invite.

The same decisions can be made from the command line (`fediverse registrations ...`).
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from fediverse.errors import Forbidden, Unprocessable
from fediverse.services import invites, registration
from fediverse.services.auth import SignedIn
from fediverse.services.registration import MODES
from fediverse.ui import forms, render
from fediverse.ui.session import SignInRequired, current_viewer
from fediverse.web import current_context

blueprint = Blueprint("admin", __name__)

MODE_LABELS = {
    "open": "Open: anyone can sign up",
    "approval": "Approval: applicants join a waitlist and an admin decides",
    "invite": "Invite only: sign-up needs an invite link",
    "closed": "Closed: nobody can sign up",
}
WHO_LABELS = {
    "admins": "Only admins",
    "moderators": "Moderators and admins",
    "members": "Every member, up to the cap below (moderators and admins without one)",
}


async def _require_admin() -> SignedIn:
    """Return the signed-in admin, or refuse: a visitor asking for a page is sent to sign in
    (and brought back); any other request, a signed-in non-admin included, gets 403."""
    viewer = await current_viewer()
    if viewer is None and request.method == "GET":
        raise SignInRequired()
    if viewer is None or not viewer.is_admin:
        raise Forbidden("Only admins can use the registration desk; sign in as an admin.")
    return viewer


@blueprint.get("/admin")
async def admin_home() -> Response:
    await _require_admin()
    return forms.redirect("/admin/registrations")


@blueprint.get("/admin/registrations")
async def registrations_page() -> Response:
    await _require_admin()
    ctx = current_context()
    return await render.page(
        "admin_registrations.html",
        mode=await registration.get_mode(ctx),
        modes=[(mode, MODE_LABELS[mode]) for mode in MODES],
        pending=await registration.list_pending(ctx),
        policy=await invites.get_policy(ctx),
        who_choices=[(who, WHO_LABELS[who]) for who in invites.WHO_CHOICES],
        max_per_member=invites.MAX_PER_MEMBER,
    )


@blueprint.post("/admin/registrations/invites")
async def set_invite_policy() -> Response:
    await _require_admin()
    form = await forms.read_form()
    raw_cap = forms.text(form, "per_member", limit=16)
    if not raw_cap.isdigit():
        raise Unprocessable(
            f"The per-member cap is a number from 0 to {invites.MAX_PER_MEMBER}; go back and "
            "type one."
        )
    await invites.set_policy(current_context(), who=form.get("who", ""), per_member=int(raw_cap))
    return forms.redirect("/admin/registrations")


@blueprint.post("/admin/registrations/mode")
async def set_mode() -> Response:
    await _require_admin()
    form = await forms.read_form()
    await registration.set_mode(current_context(), form.get("mode", ""))
    return forms.redirect("/admin/registrations")


@blueprint.post("/admin/registrations/<any(approve, reject):decision>")
async def decide(decision: str) -> Response:
    await _require_admin()
    form = await forms.read_form()
    username = forms.text(form, "username", limit=64)
    decide_one = registration.approve if decision == "approve" else registration.reject
    await decide_one(current_context(), username)
    return forms.redirect("/admin/registrations")
