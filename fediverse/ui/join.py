"""Joining: the sign-up form in every registration mode, and the waitlist status page.

Modes are the admin's (`services.registration`): open, approval (a waitlist with a reason and
a place in line), invite (links with expiry and use limits, made on the invites page), closed.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from fediverse.errors import FediverseError
from fediverse.services import invites, registration
from fediverse.services.passwords import MIN_PASSWORD_LENGTH
from fediverse.services.registration import MAX_REASON_CHARS, Application
from fediverse.ui import forms, render
from fediverse.ui.session import sign_in, start_session
from fediverse.web import current_context, limit_address

blueprint = Blueprint("join", __name__)


async def _invite_problem(code: str | None) -> str | None:
    """Return what is wrong with an invite code, or None when it is usable (or absent)."""
    if not code:
        return None
    try:
        await invites.check_invite(current_context(), code)
    except FediverseError as error:
        return error.message
    return None


async def _join_form(
    *, invite: str | None, values: dict[str, str], message: str | None = None, status: int = 200
) -> Response:
    mode = await registration.get_mode(current_context())
    problem = await _invite_problem(invite)
    return await render.page(
        "join.html",
        status=status,
        mode=mode,
        invite=invite if problem is None else None,
        invite_problem=problem,
        values=values,
        message=message,
        min_length=MIN_PASSWORD_LENGTH,
        max_reason=MAX_REASON_CHARS,
    )


@blueprint.get("/join")
async def join_page() -> Response:
    return await _join_form(invite=request.args.get("invite") or None, values={})


@blueprint.post("/join")
async def join_answer() -> Response:
    ctx = current_context()
    # Before anything is looked up: this form creates accounts and waitlist entries.
    await limit_address(ctx.limiter.join_per_address)
    form = await forms.read_form()
    invite = forms.text(form, "invite", limit=200) or None
    values = {
        "username": forms.text(form, "username", limit=64),
        "email": forms.text(form, "email", limit=320),
        "reason": forms.text(form, "reason", limit=MAX_REASON_CHARS * 2),
    }
    password = form.get("password", "")
    try:
        applied = await registration.apply(
            ctx,
            Application(
                username=values["username"],
                email=values["email"],
                password=password,
                reason=values["reason"],
                invite_code=invite,
            ),
        )
    except FediverseError as error:
        page = await _join_form(
            invite=invite, values=values, message=error.message, status=error.status
        )
        page.headers.update(error.headers())
        return page
    if applied.status == "pending" and applied.status_token:
        return forms.redirect(f"/join/status/{applied.status_token}")
    # Signed up (open mode or an invite): sign in at once and start on the profile.
    grant = await sign_in(values["username"], password)
    response = forms.redirect("/settings/profile?welcome=1")
    start_session(response, grant)
    return response


@blueprint.get("/join/status/<token>")
async def status_page(token: str) -> Response:
    application = await registration.status_of(current_context(), token)
    return await render.page("join_status.html", application=application)
