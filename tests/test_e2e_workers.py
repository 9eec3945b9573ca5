"""A `fediverse worker` process killed with SIGKILL mid fan-out loses nothing once restarted."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from fediverse.app import build_context
from fediverse.config import load_config
from fediverse.store.tables import Actor, Follow
from tests.processes import ServerProcess, free_port, write_config

pytestmark = pytest.mark.e2e

FOLLOWERS = 40
DELAY = 0.15  # seconds each receiver answer takes, so the kill lands mid fan-out


class SlowReceiver:
    """A loopback HTTP server that accepts every POST after a delay and counts them by path."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowReceiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = next(
                    (
                        int(line.split(":", 1)[1])
                        for line in lines
                        if line.lower().startswith("content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                await asyncio.sleep(DELAY)
                self.hits[path] += 1
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            writer.close()


async def _add_followers(config_path: Path, receiver_port: int) -> None:
    ctx = build_context(load_config(config_path))
    try:
        async with ctx.sessions() as session:
            alice = (
                await session.execute(Actor.__table__.select().where(Actor.username == "alice"))
            ).first()
            assert alice is not None
            for index in range(FOLLOWERS):
                base = f"http://127.0.0.1:{receiver_port}/users/f{index}"
                actor = Actor(
                    uri=base,
                    kind="Person",
                    local=False,
                    username=f"f{index}",
                    username_key=f"f{index}",
                    domain=f"127.0.0.1:{receiver_port}",
                    inbox_url=f"{base}/inbox",
                )
                session.add(actor)
                await session.flush()
                session.add(Follow(follower_id=actor.id, followee_id=alice.id, state="accepted"))
            await session.commit()
    finally:
        await ctx.close()


def _reach(server: ServerProcess, post_id: str) -> dict:
    result = server.run("reach", post_id, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_killed_worker_loses_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    with SlowReceiver() as receiver:
        port = free_port()
        write_config(tmp_path, port, extra="batch_size = 8\nlease_seconds = 2\n")
        server = ServerProcess(directory=tmp_path, port=port)
        assert server.run("users", "create", "alice").returncode == 0
        asyncio.run(_add_followers(server.config_path, receiver.port))
        posted = server.run("post", "alice", "to all forty")
        assert posted.returncode == 0, posted.stderr
        post_id = posted.stdout.split("(id ")[1].split(")")[0]

        def start_worker() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "fediverse", "--config", str(server.config_path), "worker"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        worker = start_worker()
        deadline = time.monotonic() + 30
        while sum(receiver.hits.values()) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        worker.kill()  # SIGKILL: no cleanup, leases stay behind
        worker.wait()
        mid = _reach(server, post_id)
        assert mid["pending"] > 0, "the kill came too late to test anything"
        assert mid["delivered"] + mid["pending"] == FOLLOWERS

        worker = start_worker()
        try:
            deadline = time.monotonic() + 60
            while _reach(server, post_id)["pending"] and time.monotonic() < deadline:
                time.sleep(0.3)
        finally:
            worker.terminate()
            worker.wait(20)
        final = _reach(server, post_id)
    assert final["delivered"] == FOLLOWERS and final["pending"] == 0
    assert final["summary"] == f"reached {FOLLOWERS} of {FOLLOWERS} followers on 1 server"
    inboxes = {f"/users/f{index}/inbox" for index in range(FOLLOWERS)}
    assert set(receiver.hits) == inboxes  # every inbox got it
    # At-least-once: only deliveries in flight at the kill may arrive twice.
    assert sum(receiver.hits.values()) - FOLLOWERS <= 8
