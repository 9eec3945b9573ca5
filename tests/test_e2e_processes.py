"""Two real `fediverse serve` processes on loopback ports find each other over real sockets."""

from __future__ import annotations

import json
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


def test_a_post_reaches_followers_on_three_servers_over_real_http(tmp_path: Path) -> None:
    with servers(tmp_path, 4) as (origin, *others):
        assert origin.run("users", "create", "alice").returncode == 0
        origin.start()
        for index, server in enumerate(others):
            names = [f"u{index}a", f"u{index}b"]
            for name in names:
                assert server.run("users", "create", name).returncode == 0
            server.start()
            for name in names:
                result = server.run("follow", name, f"alice@{origin.host}", "--wait", "20")
                assert "now follows" in result.stdout, result.stdout + result.stderr

        posted = origin.run("post", "alice", "hello, all six of you")
        assert posted.returncode == 0, posted.stderr
        assert "to 6 followers via 3 inboxes" in posted.stdout
        post_id = posted.stdout.split("(id ")[1].split(")")[0]
        deadline = time.monotonic() + 30
        receipt: dict = {}
        while time.monotonic() < deadline:
            receipt = json.loads(origin.run("reach", post_id, "--json").stdout)
            if receipt["complete"]:
                break
            time.sleep(0.2)
        assert receipt["summary"] == "reached 6 of 6 followers on 3 servers"
        assert (receipt["inboxes"], receipt["delivered"], receipt["failed"]) == (3, 3, 0)
        assert sorted(h["host"] for h in receipt["hosts"]) == sorted(s.host for s in others)
        # Each server received it once, at its shared inbox.
        for server in others:
            assert all(
                h["inboxes"] == 1 and h["followers"] == 2
                for h in receipt["hosts"]
                if h["host"] == server.host
            )
