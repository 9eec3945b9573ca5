"""Helpers shared by the HTTP edges (webfinger, inbox, outbox, api, ui): request → context,
and documents → responses. Edges only; services never import this."""

from __future__ import annotations

import json
from typing import Any

from quart import Response, current_app, request

from fediverse.activitypub.negotiation import wants_activity_json
from fediverse.services.context import Context

ACTIVITY_JSON_TYPE = "application/activity+json; charset=utf-8"
CONTEXT_KEY = "fediverse.context"
RUNNER_KEY = "fediverse.runner"


def current_context() -> Context:
    """Return the Context that `create_app` attached to the running app."""
    context: Context = current_app.extensions[CONTEXT_KEY]
    return context


def json_body(document: Any) -> str:
    # Compact separators: these documents travel to many servers.
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def activity_response(document: dict[str, Any], status: int = 200) -> Response:
    """Render an ActivityStreams document with the media type Mastodon expects."""
    response = Response(json_body(document), status=status, content_type=ACTIVITY_JSON_TYPE)
    response.headers["Vary"] = "Accept"
    return response


def json_response(document: Any, status: int = 200, *, content_type: str | None = None) -> Response:
    return Response(
        json_body(document), status=status, content_type=content_type or "application/json"
    )


def client_wants_activity_json() -> bool:
    return wants_activity_json(request.headers.get("Accept"))


def client_wants_json() -> bool:
    """Tell whether an error should be rendered as JSON rather than an HTML page."""
    accept = request.headers.get("Accept", "")
    if request.path.startswith(("/api/", "/oauth/", "/.well-known/", "/nodeinfo/")):
        return True
    if request.path.endswith("/inbox") or wants_activity_json(accept):
        return True
    return "json" in accept and "html" not in accept


def query_int(name: str) -> int | None:
    """Return an integer query parameter, or None when absent; bad values count as absent."""
    raw = request.args.get(name)
    if raw is None or not raw.isdigit() or len(raw) > 19:
        return None
    return int(raw)
