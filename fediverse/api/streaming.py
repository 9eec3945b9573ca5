"""The streaming API (docs.joinmastodon.org/methods/streaming/) is not implemented yet.

Apps open a websocket to `/api/v1/streaming` (the instance entity names the server to use).
Until streaming exists the socket is accepted and closed at once with a reason, so apps see why
and fall back to polling the timelines, instead of a failed handshake they retry blindly.
"""

from __future__ import annotations

from quart import websocket

from fediverse.api.routing import ApiBlueprint

blueprint = ApiBlueprint("streaming", __name__)

# RFC 6455 §7.4.1: 1008 is the generic refusal when no more specific code applies.
CLOSE_CODE = 1008
CLOSE_REASON = "Streaming is not available on this server yet; poll the timelines instead."


@blueprint.websocket("/api/v1/streaming")
async def stream() -> None:
    await websocket.accept()
    await websocket.close(CLOSE_CODE, CLOSE_REASON)
