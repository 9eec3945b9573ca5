"""Profile settings: the professional profile, and the avatar and header images."""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart.datastructures import FileStorage
from werkzeug.datastructures import MultiDict

from fediverse.errors import FediverseError
from fediverse.services import directory, profiles
from fediverse.services.media import Purpose
from fediverse.services.profiles import MAX_LINKS, ProfileData
from fediverse.ui import forms, render
from fediverse.ui.session import require_viewer
from fediverse.ui.views import actor_view
from fediverse.web import current_context

blueprint = Blueprint("settings", __name__)

LINK_ROWS = 4
PURPOSES: tuple[Purpose, ...] = ("avatar", "header")


def _profile_from_form(form: MultiDict[str, str]) -> ProfileData:
    labels = form.getlist("link_label")
    urls = form.getlist("link_url")

    def field(name: str) -> str:
        return forms.text(form, name, limit=10_000)

    return ProfileData(
        display_name=field("display_name"),
        headline=field("headline"),
        role=field("role"),
        industry=field("industry"),
        company=field("company"),
        city=field("city"),
        bio=field("bio"),
        skills=forms.items(field("skills")),
        interests=forms.items(field("interests")),
        hobbies=forms.items(field("hobbies")),
        links=[
            (label.strip(), url.strip())
            for label, url in zip(labels[:MAX_LINKS], urls[:MAX_LINKS], strict=False)
            if url.strip()
        ],
    )


def upload_limit() -> int:
    """Return the largest image the server accepts in one form (the smaller of two caps)."""
    config = current_context().config
    return min(config.media.max_upload_bytes, config.server.max_request_bytes)


async def _form_page(
    data: ProfileData, *, message: str | None = None, status: int = 200, saved: bool = False
) -> Response:
    ctx = current_context()
    viewer = await require_viewer()
    actor = await directory.get_account(ctx, viewer.actor_id)
    links = list(data.links) + [("", "")] * max(0, LINK_ROWS - len(data.links))
    return await render.page(
        "settings_profile.html",
        status=status,
        me=actor_view(ctx, actor),
        profile=data,
        links=links[: max(LINK_ROWS, len(data.links))],
        message=message,
        saved=saved,
        welcome=request.args.get("welcome") == "1",
        upload_limit=upload_limit(),
    )


@blueprint.get("/settings/profile")
async def profile_page() -> Response:
    viewer = await require_viewer()
    data = await profiles.get_profile(current_context(), viewer.actor_id)
    return await _form_page(data, saved=request.args.get("saved") == "1")


async def _uploads() -> list[tuple[Purpose, FileStorage]]:
    files = await request.files
    chosen: list[tuple[Purpose, FileStorage]] = []
    for purpose in PURPOSES:
        upload = files.get(purpose)
        if upload is not None and upload.filename:
            chosen.append((purpose, upload))
    return chosen


@blueprint.post("/settings/profile")
async def save_profile() -> Response:
    viewer = await require_viewer()
    ctx = current_context()
    form = await forms.read_form()
    data = _profile_from_form(form)
    try:
        await profiles.update_profile(ctx, viewer.username, data)
        for purpose, upload in await _uploads():
            content = upload.read()
            if content:
                await profiles.set_image(ctx, viewer.username, purpose, content)
    except FediverseError as error:
        if error.status >= 500:
            raise
        return await _form_page(data, message=error.message, status=error.status)
    return forms.redirect("/settings/profile?saved=1")
