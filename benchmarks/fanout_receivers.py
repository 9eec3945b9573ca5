"""Receiver servers for the fan-out benchmark: many virtual hosts on loopback, one process.

Each virtual host is a listening port on 127.0.0.1 speaking a minimal HTTP/1.1 (keep-alive,
Content-Length bodies only). Every POST is verified with our own `verify_request` against the
sender's public key, handed over up front, and answered 202. With faults on, a deterministic
share of hosts misbehaves on first contact (503 + Retry-After, 500, connection closed, an
answer slower than the sender's timeout) and behaves afterwards.

The process stops by itself: when the parent says so, when the parent goes away, or after
`max_run_seconds`. It then sends its counts back through the pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from fediverse.activitypub.keys import load_public_key
from fediverse.activitypub.signatures import ResolvedKey, SignatureError, verify_request

LOOPBACK = "127.0.0.1"
MAX_HEADER_BYTES = 16_384
MAX_BODY_BYTES = 1_048_576

# Fault kinds by slot (0..99) of a host; the rest behave. Shares follow the benchmark's brief.
FAULT_SHARES: tuple[tuple[str, int], ...] = (
    ("503", 10),  # overloaded: 503 with Retry-After: 1
    ("500", 5),  # a crash in the receiver
    ("close", 3),  # the connection is closed without an answer
    ("slow", 2),  # processed, but answered after the sender's timeout
)


def fault_for(index: int) -> str | None:
    """Return the fault host number `index` shows on first contact (deterministic, spread)."""
    slot = (index * 37 + 11) % 100  # 37 is coprime with 100: a permutation of the slots
    start = 0
    for kind, share in FAULT_SHARES:
        if start <= slot < start + share:
            return kind
        start += share
    return None


@dataclass(frozen=True)
class ReceiverPlan:
    """What the receiver process needs to know before it binds its ports."""

    hosts: int
    key_id: str
    owner: str
    public_key_pem: str
    faults: bool
    slow_seconds: float
    max_run_seconds: float
    latency_seconds: float = 0.0  # added to every answer: the network and the remote's work


@dataclass
class HostStats:
    """What one virtual host saw."""

    port: int
    fault: str | None
    requests: int = 0
    verified: int = 0
    refused: int = 0
    faults_shown: int = 0
    late_answers: int = 0  # processed, but answered after the sender had given up
    activities: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "fault": self.fault,
            "requests": self.requests,
            "verified": self.verified,
            "refused": self.refused,
            "faults_shown": self.faults_shown,
            "late_answers": self.late_answers,
            "activities": dict(self.activities),
        }


class VirtualHost:
    """One listening port: parse requests, verify signatures, answer (or misbehave once)."""

    def __init__(self, plan: ReceiverPlan, index: int, resolved: ResolvedKey) -> None:
        self.plan = plan
        self.resolved = resolved
        self.stats = HostStats(port=0, fault=fault_for(index) if plan.faults else None)
        self.connections: set[asyncio.StreamWriter] = set()

    async def resolve(self, key_id: str, refresh: bool) -> ResolvedKey | None:
        del refresh
        return self.resolved if key_id == self.resolved.key_id else None

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # Only at shutdown; Python 3.11's stream server logs a handler that ends cancelled.
            pass
        finally:
            self.connections.discard(writer)
            writer.close()

    def close_connections(self) -> None:
        """Close every open keep-alive connection: its handler sees EOF and returns."""
        for writer in list(self.connections):
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; return whether the connection stays open."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise
            return False  # the client closed an idle keep-alive connection
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip(), value.strip()
            known = headers.get(name)
            headers[name] = f"{known}, {value}" if known is not None else value
        lower = {name.lower(): value for name, value in headers.items()}
        length = int(lower.get("content-length", "0") or 0)
        if length > MAX_BODY_BYTES:
            await self._answer(writer, 413, keep_alive=False)
            return False
        body = await reader.readexactly(length) if length else b""
        keep_alive = lower.get("connection", "").lower() != "close"
        self.stats.requests += 1
        if self.plan.latency_seconds:
            await asyncio.sleep(self.plan.latency_seconds)

        fault = self.stats.fault if self.stats.faults_shown == 0 else None
        if method != "POST" or target != "/inbox":
            await self._answer(writer, 404, keep_alive=keep_alive)
            return keep_alive
        if fault in ("503", "500", "close"):
            self.stats.faults_shown += 1
            if fault == "close":
                return False
            extra = {"Retry-After": "1"} if fault == "503" else {}
            await self._answer(writer, int(fault), keep_alive=keep_alive, extra=extra)
            return keep_alive

        url = f"http://{lower.get('host', '')}{target}"
        try:
            await verify_request(method, url, headers, body, self.resolve)
            activity_id = str(json.loads(body).get("id"))
        except (SignatureError, ValueError, AttributeError):
            self.stats.refused += 1
            await self._answer(writer, 401, keep_alive=keep_alive)
            return keep_alive
        self.stats.verified += 1
        self.stats.activities[activity_id] += 1
        if fault == "slow":
            # Processed (as a real server would have stored it), then answered too late.
            self.stats.faults_shown += 1
            self.stats.late_answers += 1
            await asyncio.sleep(self.plan.slow_seconds)
        await self._answer(writer, 202, keep_alive=keep_alive)
        return keep_alive

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        *,
        keep_alive: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        reason = {202: "Accepted", 401: "Unauthorized", 404: "Not Found", 413: "Too Large"}
        lines = [f"HTTP/1.1 {status} {reason.get(status, 'Error')}", "Content-Length: 0"]
        lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
        if not keep_alive:
            lines.append("Connection: close")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _serve(plan: ReceiverPlan, conn: Connection) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def watch_parent() -> None:
        # Any message (or the parent's end of the pipe closing) means: stop and report.
        with contextlib.suppress(EOFError, OSError):
            conn.recv()
        loop.call_soon_threadsafe(stop.set)

    resolved = ResolvedKey(plan.key_id, plan.owner, load_public_key(plan.public_key_pem))
    hosts = [VirtualHost(plan, index, resolved) for index in range(plan.hosts)]
    servers: list[asyncio.Server] = []
    for host in hosts:
        server = await asyncio.start_server(
            host.serve_connection, LOOPBACK, 0, backlog=256, limit=MAX_HEADER_BYTES
        )
        host.stats.port = server.sockets[0].getsockname()[1]
        servers.append(server)
    cpu_ready = _cpu_seconds()
    conn.send({"ports": [host.stats.port for host in hosts]})
    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    started = time.monotonic()
    try:
        await asyncio.wait_for(stop.wait(), timeout=plan.max_run_seconds)
        timed_out = False
    except TimeoutError:
        timed_out = True
    for server in servers:
        server.close()
    for host in hosts:
        host.close_connections()
    await asyncio.sleep(0.1)
    return {
        "hosts": [host.stats.to_json() for host in hosts],
        "cpu_seconds": _cpu_seconds() - cpu_ready,
        "served_seconds": time.monotonic() - started,
        "timed_out": timed_out,
    }


def run_receivers(plan: ReceiverPlan, conn: Connection) -> None:
    """Process entry point: serve `plan.hosts` virtual hosts, then send the counts back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = plan.hosts + 1024
    if soft < wanted <= hard or (hard == resource.RLIM_INFINITY and soft < wanted):
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    report = asyncio.run(_serve(plan, conn))
    with contextlib.suppress(OSError):  # the benchmark may have gone away
        conn.send(report)
    conn.close()
