"""What this server is and what it allows: `/api/v1/instance` and `/api/v2/instance`.

The version reads `4.3.0 (compatible; fediverse X)`, the convention other servers use so that
clients parse the Mastodon API level they can rely on (docs.joinmastodon.org/entities/Instance).
"""

from __future__ import annotations

from typing import Any

from quart import Response

from fediverse import __version__
from fediverse.api import render
from fediverse.api.entities import API_VERSION, COMPATIBLE_VERSION, DEFAULT_HEADER
from fediverse.api.routing import ApiBlueprint
from fediverse.services import directory, discovery, registration
from fediverse.services.posts import MAX_NOTE_CHARS
from fediverse.web import current_context, json_response

blueprint = ApiBlueprint("instance", __name__)

SOURCE_URL = "https://github.com/fediverse/fediverse"
# Posts carry no media and no polls here yet: every limit on them is zero.
MEDIA_LIMITS = {
    "supported_mime_types": [],
    "image_size_limit": 0,
    "image_matrix_limit": 0,
    "video_size_limit": 0,
    "video_frame_rate_limit": 0,
    "video_matrix_limit": 0,
}
POLL_LIMITS = {
    "max_options": 0,
    "max_characters_per_option": 0,
    "min_expiration": 0,
    "max_expiration": 0,
}
STATUS_LIMITS = {
    "max_characters": MAX_NOTE_CHARS,
    "max_media_attachments": 0,
    "characters_reserved_per_url": 23,
}


def _version() -> str:
    return f"{COMPATIBLE_VERSION} (compatible; fediverse {__version__})"


def _streaming_url() -> str:
    # No streaming API yet; a websocket to it is closed with a reason (`api/streaming.py`).
    scheme, _, rest = current_context().uris.base_url.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}"


async def _contact() -> dict[str, Any] | None:
    actor = await directory.contact_account(current_context())
    return await render.account(actor) if actor is not None else None


@blueprint.get("/api/v1/instance")
async def instance_v1() -> Response:
    ctx = current_context()
    usage = await discovery.instance_usage(ctx)
    mode = await registration.get_mode(ctx)
    name = ctx.config.instance.name
    return json_response(
        {
            "uri": ctx.domain,
            "title": name,
            "short_description": f"{name}, a community on the fediverse.",
            "description": "",
            "email": "",
            "version": _version(),
            "urls": {"streaming_api": _streaming_url()},
            "stats": {
                "user_count": usage.users_total,
                "status_count": usage.local_posts,
                "domain_count": await directory.count_known_domains(ctx),
            },
            "thumbnail": ctx.uris.absolute(DEFAULT_HEADER),
            "languages": ["en"],
            "registrations": mode in ("open", "approval"),
            "approval_required": mode == "approval",
            "invites_enabled": mode == "invite",
            "configuration": {
                "accounts": {"max_featured_tags": 0},
                "statuses": STATUS_LIMITS,
                "media_attachments": MEDIA_LIMITS,
                "polls": POLL_LIMITS,
            },
            "contact_account": await _contact(),
            "rules": [],
        }
    )


@blueprint.get("/api/v2/instance")
async def instance_v2() -> Response:
    ctx = current_context()
    usage = await discovery.instance_usage(ctx)
    mode = await registration.get_mode(ctx)
    name = ctx.config.instance.name
    return json_response(
        {
            "domain": ctx.domain,
            "title": name,
            "version": _version(),
            "source_url": SOURCE_URL,
            "description": f"{name}, a community on the fediverse.",
            "usage": {"users": {"active_month": usage.users_active_month}},
            "thumbnail": {"url": ctx.uris.absolute(DEFAULT_HEADER)},
            "icon": [],
            "languages": ["en"],
            "configuration": {
                "urls": {"streaming": _streaming_url(), "status": None},
                "vapid": {"public_key": ""},
                "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
                "statuses": STATUS_LIMITS,
                "media_attachments": MEDIA_LIMITS,
                "polls": POLL_LIMITS,
                "translation": {"enabled": False},
            },
            "registrations": {
                "enabled": mode in ("open", "approval"),
                "approval_required": mode == "approval",
                "message": None,
                "url": None,
            },
            "api_versions": {"mastodon": API_VERSION},
            "contact": {"email": "", "account": await _contact()},
            "rules": [],
        }
    )


@blueprint.get("/api/v1/instance/rules")
async def rules() -> Response:
    return json_response([])


@blueprint.get("/api/v1/custom_emojis")
async def custom_emojis() -> Response:
    # Clients load this at start; there are no custom emoji here.
    return json_response([])
