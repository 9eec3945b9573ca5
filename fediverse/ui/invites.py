"""The invites page: make an invite link under the admin's policy, list one's invites (an admin
sees everyone's) and revoke them.

The form offers what `services.invites.choices_for` allows the viewer's role, and the service
refuses anything else, so a hand-made POST gets no more than the form would.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from fediverse.errors import Forbidden, Unprocessable
from fediverse.services import invites, registration
from fediverse.services.auth import SignedIn
from fediverse.services.roles import at_least
from fediverse.ui import forms, render
from fediverse.ui.session import require_viewer
from fediverse.web import current_context

blueprint = Blueprint("invites", __name__)

USES_LABELS = {"1": "1 person", "5": "5 people", "25": "25 people", "unlimited": "No limit"}
EXPIRY_LABELS = {"1": "1 day", "7": "7 days", "30": "30 days", "never": "Does not expire"}
STATE_LABELS = {
    "usable": "Usable",
    "used up": "Used up",
    "expired": "Expired",
    "revoked": "Revoked",
}


async def _page(
    viewer: SignedIn,
    *,
    code: str | None = None,
    message: str | None = None,
    status: int = 200,
    chosen_uses: str = "1",
    chosen_expiry: str = "7",
) -> Response:
    ctx = current_context()
    policy = await invites.get_policy(ctx)
    uses, expiries = invites.choices_for(viewer.role)
    listing = await invites.list_for(ctx, viewer)
    held = sum(
        1
        for invite in listing
        if invite.state == "usable" and invite.created_by_id == viewer.user_id
    )
    return await render.page(
        "invites.html",
        status=status,
        link=ctx.uris.absolute(f"/join?invite={code}") if code else None,
        mode=await registration.get_mode(ctx),
        may_invite=policy.allows(viewer.role),
        who_label=invites.WHO_LABELS[policy.who],
        capped=not at_least(viewer.role, "moderator"),
        cap=policy.per_member,
        held=held,
        uses=[(value, USES_LABELS[value]) for value in uses],
        expiries=[(value, EXPIRY_LABELS[value]) for value in expiries],
        chosen_uses=chosen_uses,
        chosen_expiry=chosen_expiry,
        listing=listing,
        states=STATE_LABELS,
        message=message,
        revoked=request.args.get("revoked") == "1",
    )


@blueprint.get("/invites")
async def invites_page() -> Response:
    return await _page(await require_viewer())


@blueprint.post("/invites")
async def create_invite() -> Response:
    viewer = await require_viewer()
    form = await forms.read_form()
    uses = forms.text(form, "max_uses", limit=32)
    expiry = forms.text(form, "expires_in", limit=32)
    try:
        code = await invites.invite_as(current_context(), viewer, uses=uses, expires=expiry)
    except (Forbidden, Unprocessable) as error:
        return await _page(
            viewer,
            message=error.message,
            status=error.status,
            chosen_uses=uses,
            chosen_expiry=expiry,
        )
    return await _page(viewer, code=code, chosen_uses=uses, chosen_expiry=expiry)


@blueprint.post("/invites/<int:invite_id>/revoke")
async def revoke_invite(invite_id: int) -> Response:
    viewer = await require_viewer()
    await invites.revoke_invite(current_context(), invite_id, by=viewer)
    return forms.redirect("/invites?revoked=1")
