"""Two real `fediverse serve` processes on loopback ports find each other over real sockets."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.processes import ServerProcess, servers

pytestmark = pytest.mark.e2e


def test_two_servers_resolve_each_others_users(tmp_path: Path) -> None:
    with servers(tmp_path, 2) as (first, second):
        for server, name in ((first, "alice"), (second, "bob")):
            created = server.run("users", "create", name)
            assert created.returncode == 0, created.stderr
            server.start()

        # Each server resolves the other's user: WebFinger, then a signed actor fetch.
        found_bob = first.run("lookup", f"bob@{second.host}")
        assert found_bob.returncode == 0, found_bob.stderr + first.log_text()
        assert f"@bob@{second.host} (Person)" in found_bob.stdout
        assert f"{second.base_url}/users/bob/inbox" in found_bob.stdout
        found_alice = second.run("lookup", f"@alice@{first.host}")
        assert found_alice.returncode == 0, found_alice.stderr
        assert f"{first.base_url}/users/alice#main-key" in found_alice.stdout

        # And an unknown user on the other side is a clear error, not a crash.
        missing = first.run("lookup", f"nobody@{second.host}")
        assert missing.returncode == 1
        assert "nobody" in missing.stderr

        # The cached copy matches what the other server publishes.
        published = httpx.get(
            f"{second.base_url}/users/bob", headers={"Accept": "application/activity+json"}
        ).json()
        assert published["inbox"] == f"{second.base_url}/users/bob/inbox"


def test_two_servers_follow_each_other_over_real_http(tmp_path: Path) -> None:
    with servers(tmp_path, 2) as (first, second):
        for server, name in ((first, "alice"), (second, "bob")):
            assert server.run("users", "create", name).returncode == 0
            server.start()

        followed = first.run("follow", "alice", f"bob@{second.host}", "--wait", "20")
        assert followed.returncode == 0, followed.stdout + followed.stderr + second.log_text()
        assert "alice now follows" in followed.stdout
        back = second.run("follow", "bob", f"alice@{first.host}", "--wait", "20")
        assert "bob now follows" in back.stdout, back.stdout + back.stderr + first.log_text()

        def collection(server: ServerProcess, path: str) -> list[str]:
            accept = {"Accept": "application/activity+json"}
            head = httpx.get(f"{server.base_url}{path}", headers=accept).json()
            return list(httpx.get(head["first"], headers=accept).json()["orderedItems"])

        assert collection(second, "/users/bob/followers") == [f"{first.base_url}/users/alice"]
        assert collection(first, "/users/alice/followers") == [f"{second.base_url}/users/bob"]
        assert collection(first, "/users/alice/following") == [f"{second.base_url}/users/bob"]

        gone = first.run("unfollow", "alice", f"bob@{second.host}")
        assert gone.returncode == 0, gone.stderr
        deadline = time.monotonic() + 20
        while collection(second, "/users/bob/followers") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert collection(second, "/users/bob/followers") == []
