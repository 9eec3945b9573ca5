"""The `fediverse` command as an operator uses it, in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
