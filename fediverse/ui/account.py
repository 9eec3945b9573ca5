"""Signing in and out, and changing one's password."""

from __future__ import annotations

from quart import Blueprint, Response, request

from fediverse.errors import FediverseError, Forbidden, TooManyRequests, Unprocessable
from fediverse.services import actors, auth
from fediverse.services.passwords import MIN_PASSWORD_LENGTH
from fediverse.ui import forms, render
from fediverse.ui.session import (
    current_viewer,
    end_session,
    require_viewer,
    session_cookie_value,
    sign_in,
    start_session,
)
from fediverse.web import current_context

blueprint = Blueprint("account", __name__)


async def _sign_in_form(
    *, next_path: str, username: str = "", message: str | None = None, status: int = 200
) -> Response:
    return await render.page(
        "sign_in.html", status=status, next_path=next_path, username=username, message=message
    )


@blueprint.get("/sign-in")
async def sign_in_page() -> Response:
    next_path = forms.safe_next(request.args.get("next"))
    if await current_viewer() is not None:
        return forms.redirect(next_path)
    return await _sign_in_form(next_path=next_path)


@blueprint.post("/sign-in")
async def sign_in_answer() -> Response:
    form = await forms.read_form()
    next_path = forms.safe_next(form.get("next"))
    username = forms.text(form, "username", limit=320)
    try:
        grant = await sign_in(username, form.get("password", ""))
    except FediverseError as error:
        # Wrong password (401), too many attempts (429), not yet approved (403).
        page = await _sign_in_form(
            next_path=next_path, username=username, message=error.message, status=error.status
        )
        page.headers.update(error.headers())
        return page
    # Signing in again replaces the browser's session: end the one it had, if any.
    await auth.sign_out(current_context(), session_cookie_value())
    response = forms.redirect(next_path)
    start_session(response, grant)
    return response


@blueprint.post("/sign-out")
async def sign_out() -> Response:
    await auth.sign_out(current_context(), session_cookie_value())
    response = forms.redirect("/")
    end_session(response)
    return response


@blueprint.get("/settings/password")
async def password_page() -> Response:
    await require_viewer()
    done = request.args.get("changed") == "1"
    return await render.page("settings_password.html", done=done, min_length=MIN_PASSWORD_LENGTH)


@blueprint.post("/settings/password")
async def change_password() -> Response:
    viewer = await require_viewer()
    form = await forms.read_form()
    new = form.get("new_password", "")
    ctx = current_context()
    try:
        # Every attempt counts: each one checks the current password, which a stolen session
        # must not be able to guess at.
        await ctx.limiter.hit(ctx.limiter.password_change_per_account, str(viewer.user_id))
        if new != form.get("confirm_password", ""):
            raise Unprocessable("The new password and its repetition differ; type them again.")
        await actors.change_password(
            ctx,
            viewer.username,
            form.get("current_password", ""),
            new,
            keep_session_id=viewer.session_id,
        )
    except (Unprocessable, Forbidden, TooManyRequests) as error:
        page = await render.page(
            "settings_password.html",
            status=error.status,
            message=error.message,
            min_length=MIN_PASSWORD_LENGTH,
        )
        page.headers.update(error.headers())
        return page
    return forms.redirect("/settings/password?changed=1")
