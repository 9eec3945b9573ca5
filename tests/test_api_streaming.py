"""The streaming API does not exist yet: a websocket to it is closed cleanly with a reason, and
no error handler assumes an HTTP request (a websocket has none), so nothing answers 500."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from quart import Quart

from tests.api_helpers import api
from tests.fakenet import FakeNet


async def _open_websocket(app: Quart, path: str, query: bytes = b"") -> list[dict[str, Any]]:
    """Connect to `path` over ASGI as a websocket client would; return what the app sent."""
    scope = {
        "type": "websocket",
        "asgi": {"spec_version": "2.3", "version": "3.0"},  # as Hypercorn says
        "http_version": "1.1",
        "scheme": "wss",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"a.test"), (b"sec-websocket-version", b"13")],
        "client": ("203.0.113.5", 50000),
        "server": ("a.test", 443),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }
    inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbound.put({"type": "websocket.connect"})
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        finished = message["type"] == "websocket.close" or (
            message["type"] == "websocket.http.response.body" and not message.get("more_body")
        )
        if finished:
            await inbound.put({"type": "websocket.disconnect", "code": 1000})

    await asyncio.wait_for(app(scope, inbound.get, send), timeout=10)  # type: ignore[arg-type]
    return sent


async def test_the_streaming_websocket_closes_with_a_reason(
    sqlite_net: FakeNet, caplog: pytest.LogCaptureFixture
) -> None:
    site = await sqlite_net.add_instance("a.test")
    caplog.set_level(logging.INFO)
    for path in ("/api/v1/streaming", "/api/v1/streaming/"):
        sent = await _open_websocket(site.app, path, b"stream=user&access_token=x")
        assert [message["type"] for message in sent] == ["websocket.accept", "websocket.close"]
        closing = sent[-1]
        assert closing["code"] == 1008  # policy: the generic refusal (RFC 6455 §7.4.1)
        assert "Streaming is not available" in closing["reason"]
        assert "poll" in closing["reason"] and len(closing["reason"].encode()) <= 123
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_websocket_elsewhere_is_refused_with_a_clear_status(
    sqlite_net: FakeNet, caplog: pytest.LogCaptureFixture
) -> None:
    site = await sqlite_net.add_instance("a.test")
    for path, status, message in (
        ("/api/v1/streaming/user", 404, "Nothing is at /api/v1/streaming/user."),
        ("/nothing", 404, "Nothing is at /nothing."),
        ("/users/alice", 400, "/users/alice does not take a websocket."),
    ):
        sent = await _open_websocket(site.app, path)
        assert sent[0]["type"] == "websocket.http.response.start"
        assert sent[0]["status"] == status
        body = b"".join(m.get("body", b"") for m in sent if m["type"].endswith(".body"))
        assert json.loads(body) == {"error": message}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_plain_request_to_the_streaming_path_says_it_needs_a_websocket(
    sqlite_net: FakeNet,
) -> None:
    site = await sqlite_net.add_instance("a.test")
    async with api(sqlite_net, site) as client:
        response = await client.get("/api/v1/streaming")
    assert response.status_code == 400
    assert response.json() == {"error": "/api/v1/streaming does not take a plain HTTP request."}
