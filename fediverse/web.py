"""Helpers shared by the HTTP edges (webfinger, inbox, outbox, api, ui): request → context,
and documents → responses. Edges only; services never import this."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from typing import Any

from quart import Response, current_app, request

from fediverse.activitypub.negotiation import wants_activity_json
from fediverse.services.context import Context
from fediverse.services.rate_limits import Limit, address_key

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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in networks)


def _forwarded_hop(entry: str) -> str | None:
    """Return the address one X-Forwarded-For entry names, or None when it names none."""
    entry = entry.strip()
    if entry.startswith("["):  # [2001:db8::1]:443
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:  # 192.0.2.1:443
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def resolve_client_address(
    peer: str | None, forwarded_for: list[str], trusted: tuple[str, ...]
) -> str:
    """Return the client's address: the socket's peer, unless the peer is a trusted proxy.

    Only then is X-Forwarded-For read, from the right (each proxy appends the address it saw):
    the first address that is not one of our proxies is the client. Anything to its left was
    written by the client itself and may be forged, so it is never used.
    """
    address = peer or "unknown"
    networks = _networks(trusted)
    if not networks or not _is_trusted(address, networks):
        return address
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for entry in reversed(hops):
        hop = _forwarded_hop(entry)
        if hop is None:
            # A garbled hop: stop at the last proxy we trust rather than guess past it.
            return address
        address = hop
        if not _is_trusted(hop, networks):
            return hop
    return address


def client_address() -> str:
    """Return the address of the client of this request (see `resolve_client_address`)."""
    return resolve_client_address(
        request.remote_addr,
        request.headers.getlist("X-Forwarded-For"),
        current_context().config.server.trusted_proxies,
    )


async def limit_address(limit: Limit) -> None:
    """Count this request against a per-address limit; raise TooManyRequests when it is spent."""
    await current_context().limiter.hit(limit, address_key(client_address()))


def query_int(name: str) -> int | None:
    """Return an integer query parameter, or None when absent; bad values count as absent."""
    raw = request.args.get(name)
    if raw is None or not raw.isdigit() or len(raw) > 19:
        return None
    return int(raw)
