"""Two real `fediverse serve` processes on loopback ports find each other over real sockets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.processes import servers

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
