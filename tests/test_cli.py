"""The `fediverse` command as an operator uses it, in a real subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fediverse.cli import main
from tests.conftest import REPO_ROOT


def run(
    tmp: Path, *args: str, stdin: str | None = None, config: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FEDIVERSE_CONFIG"}
    command = [sys.executable, "-m", "fediverse"]
    if config is not None:
        command += ["--config", config]
    return subprocess.run(
        [*command, *args],
        cwd=tmp,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def instance_dir(tmp_path: Path) -> Path:
    (tmp_path / "instance.toml").write_text((REPO_ROOT / "instance.toml").read_text())
    return tmp_path


def test_init_twice_then_users_and_groups(instance_dir: Path) -> None:
    first = run(instance_dir, "init")
    assert first.returncode == 0, first.stderr
    assert "Database created at revision" in first.stdout
    assert (instance_dir / "data" / "fediverse.sqlite3").exists()
    second = run(instance_dir, "init")
    assert second.returncode == 0 and "already current" in second.stdout

    created = run(
        instance_dir,
        "users",
        "create",
        "alice",
        "--password-stdin",
        "--email",
        "alice@example.org",
        "--admin",
        stdin="a long password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "http://localhost:8000/users/alice" in created.stdout

    duplicate = run(instance_dir, "users", "create", "alice")
    assert duplicate.returncode == 1
    assert duplicate.stderr.strip() == "error: The name 'alice' is already taken on this instance."

    group = run(instance_dir, "groups", "create", "hikers", "--owner", "alice", "--title", "Hikers")
    assert group.returncode == 0 and "/groups/hikers" in group.stdout
    clash = run(instance_dir, "users", "create", "hikers")
    assert clash.returncode == 1 and "already taken" in clash.stderr

    listed = run(instance_dir, "users", "list")
    assert "alice" in listed.stdout and "alice@example.org" in listed.stdout
    assert "hikers" not in listed.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("users", "create", "Alice"), "must be lowercase"),
        (("users", "create", "root"), "reserved"),
        (("users", "create", "a..b-"), "lowercase letters, digits"),
        (("groups", "create", "club", "--owner", "ghost"), "No local user is called 'ghost'"),
    ],
)
def test_bad_names_fail_with_one_clear_line(
    instance_dir: Path, args: tuple[str, ...], words: str
) -> None:
    result = run(instance_dir, *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]


def test_bad_config_stops_with_file_key_and_reason(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[server]\nport = "eighty"\n')
    result = run(tmp_path, "init", config="bad.toml")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: bad.toml: server.port: expected a whole number, got 'eighty'"
    )
    assert "Traceback" not in result.stderr
    missing = run(tmp_path, "init")
    assert missing.returncode == 1
    assert "instance.toml: file not found" in missing.stderr


def test_config_from_environment(tmp_path: Path) -> None:
    (tmp_path / "other.toml").write_text('[instance]\nname = "Elsewhere"\n')
    env = {**os.environ, "FEDIVERSE_CONFIG": str(tmp_path / "other.toml")}
    result = subprocess.run(
        [sys.executable, "-m", "fediverse", "init"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "fediverse.sqlite3").exists()


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_here(instance_dir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    """Run a command in this process (the same `main` the console script calls): the commands
    below need no fresh interpreter, and sparing one per call keeps the suite fast."""
    try:
        code = main(["--config", str(instance_dir / "instance.toml"), *args])
    except SystemExit as exit_:  # argparse refusing the arguments
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def test_invites_roles_and_the_invite_policy(
    instance_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def cli(*args: str) -> Ran:
        return run_here(instance_dir, capsys, *args)

    assert cli("users", "create", "mia").returncode == 0
    policy = cli("registrations", "invites-policy")
    assert policy.returncode == 0, policy.stderr
    assert policy.stdout.strip() == (
        "Moderators and admins can invite people (members, if allowed, up to 3 usable links each)."
    )
    changed = cli("registrations", "invites-policy", "--who", "members",
                  "--per-member", "2")  # fmt: skip
    assert changed.stdout.strip() == (
        "Every member can invite people, up to 2 usable links each "
        "(moderators and admins without a cap)."
    )
    too_many = cli("registrations", "invites-policy", "--per-member", "1000")
    assert too_many.returncode == 1 and "from 0 to 100" in too_many.stderr
    bad_who = cli("registrations", "invites-policy", "--who", "everyone")
    assert bad_who.returncode == 2 and "invalid choice: 'everyone'" in bad_who.stderr

    role = cli("users", "role", "mia", "moderator")
    assert role.returncode == 0 and role.stdout.strip() == "@mia is now a moderator."
    assert cli("users", "role", "mia").stdout.strip() == "@mia is a moderator."
    listed_users = cli("users", "list").stdout
    assert re.search(r"^mia\s+-\s+moderator\s", listed_users, re.MULTILINE), listed_users
    assert cli("users", "role", "ghost", "admin").returncode == 1

    # The operator's invites are not bound by the policy (any limits, or none).
    created = cli("invites", "create", "--by", "mia", "--max-uses", "0",
                  "--expires-days", "0")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "/join?invite=" in created.stdout and "unlimited uses, never expires" in created.stdout
    assert cli("invites", "create", "--max-uses", "-2").returncode == 1
    listed = cli("invites", "list")
    assert listed.returncode == 0
    [header, row] = listed.stdout.strip().splitlines()
    assert header.split() == ["id", "state", "by", "uses", "expires", "created"]
    invite_id, state, by, uses, expires = row.split()[:5]
    assert (state, by, uses, expires) == ("usable", "mia", "0/-", "never")
    revoked = cli("invites", "revoke", invite_id)
    assert revoked.returncode == 0 and f"Revoked invite {invite_id}" in revoked.stdout
    assert cli("invites", "list").stdout.split("\n")[1].split()[1] == "revoked"
    missing = cli("invites", "revoke", "12345")
    assert missing.returncode == 1 and "No invite 12345" in missing.stderr
