"""What-if HTTP transports for the fan-out benchmark (`--transport`), to measure before changing
`fediverse/activitypub/client.py`.

`stock` leaves the client exactly as `fediverse serve` builds it. The others are handed to
`build_context(transport=...)`, the same hook the test network uses:

- `keepalive:N` is the stock pool with at most N idle keep-alive connections. httpcore scans
  every pooled connection (and polls each idle socket) whenever a request starts or ends, so a
  pool full of idle connections to servers we will not call again costs CPU on every request.
- `shards:K` spreads hosts over K smaller pools (PERFORMANCE.md: "spread deliveries over
  several clients"); a host always maps to the same pool, so its connections are reused.
- `null` answers 202 in-process without a socket: what is left is our bookkeeping, signing
  and httpx's request/response objects. Receivers then see nothing (the run says so).
"""

from __future__ import annotations

import zlib

import httpx


def _pool(connections: int, keepalive: int) -> httpx.AsyncHTTPTransport:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=keepalive)
    return httpx.AsyncHTTPTransport(limits=limits, http1=True, http2=False)


class ShardedTransport(httpx.AsyncBaseTransport):
    """Route each origin to one of several connection pools, chosen by a stable hash."""

    def __init__(self, shards: int, connections: int) -> None:
        # Headroom over connections / shards: hashing does not spread hosts perfectly evenly.
        per_shard = max(2, -(-2 * connections // shards))
        self._pools = [_pool(per_shard, per_shard) for _ in range(shards)]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = b"%s://%s:%d" % (
            request.url.raw_scheme,
            request.url.raw_host,
            request.url.port or 0,
        )
        pool = self._pools[zlib.crc32(origin) % len(self._pools)]
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


class NullTransport(httpx.AsyncBaseTransport):
    """Answer every request 202 at once, with no network at all."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return httpx.Response(202, request=request)


def build_transport(spec: str, connections: int) -> httpx.AsyncBaseTransport | None:
    """Return the transport named by `--transport`, or None for the client's own (stock)."""
    kind, _, value = spec.partition(":")
    if kind == "stock":
        return None
    if kind == "null":
        return NullTransport()
    if kind == "keepalive" and value.isdigit():
        return _pool(connections, int(value))
    if kind == "shards" and value.isdigit() and int(value) > 0:
        return ShardedTransport(int(value), connections)
    raise SystemExit(f"--transport {spec!r}: use stock, keepalive:N, shards:K or null")
