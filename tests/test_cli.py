"""The `fediverse` command: every command and option the README lists, with its output and exit
status, as an operator uses it.

Most commands run in-process through `main(argv)` (the same argument parsing, output and exit
status as the installed command, without a new interpreter per call) on one instance folder
initialised once for the module; each test uses its own account names. A few run as real
processes: the installed entry point, the logging it prints, and the two long-running servers.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from unittest import mock

import httpx
import pytest
from sqlalchemy import select, update

from fediverse.app import build_context
from fediverse.cli import main
from fediverse.config import load_config
from fediverse.services import invites, oauth, registration
from fediverse.services.context import Context
from fediverse.store.migrate import head_revision
from fediverse.store.tables import Actor, Follow, Host, Invite, Post, User
from fediverse.store.types import utcnow
from tests.conftest import REPO_ROOT
from tests.processes import free_port

T = TypeVar("T")
BASE = "http://localhost:8000"


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def error(self) -> str:
        """Return the one line a failing command prints (and check that it is one line)."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("error: "), self.err
        return lines[0].removeprefix("error: ")


def fediverse(config: Path | None, *args: str, stdin: str = "") -> Ran:
    """Run the command line in-process, as `fediverse [--config CONFIG] ARGS...` would."""
    out, err = io.StringIO(), io.StringIO()
    argv = [*(["--config", str(config)] if config is not None else []), *args]
    with (
        redirect_stdout(out),
        redirect_stderr(err),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
    ):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refuses bad arguments with status 2
            code = int(exc.code or 0)
    return Ran(code, out.getvalue(), err.getvalue())


def with_store(config: Path, work: Callable[[Context], Awaitable[T]]) -> T:
    """Set up what no command does (a locked account, a failing host) straight in the store."""

    async def run() -> T:
        ctx = build_context(load_config(config))
        try:
            return await work(ctx)
        finally:
            await ctx.close()

    return asyncio.run(run())


def new_folder(parent: Path) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    (parent / "instance.toml").write_text((REPO_ROOT / "instance.toml").read_text())
    return parent / "instance.toml"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One instance folder (the shipped instance.toml, SQLite) shared by this module's tests."""
    path = new_folder(tmp_path_factory.mktemp("instance"))
    assert fediverse(path, "init").code == 0
    return path


def test_init_and_migrate_are_safe_to_repeat(tmp_path: Path) -> None:
    config = new_folder(tmp_path)
    database = tmp_path / "data" / "fediverse.sqlite3"
    first = fediverse(config, "init")
    assert first.code == 0 and first.err == ""
    assert first.lines == [
        f"Database created at revision {head_revision()}: SQLite {database}",
        f"Instance actor: {BASE}/actor",
    ]
    again = fediverse(config, "init")
    assert again.code == 0
    assert (
        again.lines[0]
        == f"Database already current at revision {head_revision()}: SQLite {database}"
    )
    migrated = fediverse(config, "migrate")
    assert (migrated.code, migrated.lines) == (
        0,
        [f"Already at the newest revision {head_revision()}."],
    )

    empty = new_folder(tmp_path / "empty")
    fresh = fediverse(empty, "migrate")
    assert (fresh.code, fresh.lines) == (0, [f"Migrated an empty database → {head_revision()}."])


def test_users_create_and_list(config: Path) -> None:
    created = fediverse(
        config,
        "users", "create", "ulla", "--password-stdin", "--email", "ulla@example.org", "--admin",
        stdin="a long password\n",
    )  # fmt: skip
    assert created.code == 0, created.err
    assert created.lines == [f"Created admin @ulla@localhost:8000: {BASE}/users/ulla"]
    plain = fediverse(config, "users", "create", "uwe")
    assert plain.code == 0
    assert plain.lines == [
        f"Created user @uwe@localhost:8000: {BASE}/users/uwe",
        "No password set: this account cannot sign in until one is set.",
    ]

    async def accounts(ctx: Context) -> dict[str, tuple[str | None, bool, bool]]:
        async with ctx.sessions() as session:
            rows = await session.execute(
                select(Actor.username, User.email, User.is_admin, User.password_hash)
                .join(User, User.actor_id == Actor.id)
                .where(Actor.username.in_(["ulla", "uwe"]))
            )
            return {name: (email, admin, hashed is not None) for name, email, admin, hashed in rows}

    assert with_store(config, accounts) == {
        "ulla": ("ulla@example.org", True, True),
        "uwe": (None, False, False),
    }
    empty_password = fediverse(config, "users", "create", "ute", "--password-stdin", stdin="")
    assert empty_password.code == 1
    assert empty_password.error == "--password-stdin was given but standard input was empty."
    duplicate = fediverse(config, "users", "create", "ulla")
    assert duplicate.code == 1
    assert duplicate.error == "The name 'ulla' is already taken on this instance."

    listed = fediverse(config, "users", "list")
    assert listed.code == 0
    assert listed.lines[0].split() == ["username", "email", "role", "created"]
    rows = {line.split()[0]: line.split()[1:3] for line in listed.lines[1:]}
    assert rows["ulla"] == ["ulla@example.org", "admin"] and rows["uwe"] == ["-", "member"]


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
    config: Path, args: tuple[str, ...], words: str
) -> None:
    result = fediverse(config, *args)
    assert result.code == 1 and result.out == ""
    assert words in result.error


def test_groups_create_and_lookup(config: Path) -> None:
    assert fediverse(config, "users", "create", "gina").code == 0
    group = fediverse(config, "groups", "create", "hikers", "--owner", "gina", "--title", "Hikers")
    assert group.code == 0
    assert group.lines == [
        f"Created group !hikers@localhost:8000 owned by gina: {BASE}/groups/hikers"
    ]
    assert fediverse(config, "users", "create", "hikers").error == (
        "The name 'hikers' is already taken on this instance."
    )
    missing_owner = fediverse(config, "groups", "create", "walkers")
    assert missing_owner.code == 2 and "--owner" in missing_owner.err
    assert "hikers" not in fediverse(config, "users", "list").out

    found = fediverse(config, "lookup", "hikers@localhost:8000")
    assert found.code == 0
    assert found.lines[0] == "@hikers@localhost:8000 (Group, local)"
    details = dict(line.strip().split(":", 1) for line in found.lines[1:])
    assert details["id"].strip() == f"{BASE}/groups/hikers"
    assert details["name"].strip() == "Hikers"
    assert details["locked"].strip() == "no"
    by_url = fediverse(config, "lookup", f"{BASE}/users/gina")
    assert by_url.code == 0 and by_url.lines[0] == "@gina@localhost:8000 (Person, local)"
    assert fediverse(config, "lookup", "nobody@localhost:8000").error == (
        "No account called 'nobody' on this instance."
    )
    # Another server at a loopback address is refused before anything is sent (SSRF guard).
    remote = fediverse(config, "lookup", "https://127.0.0.1/users/x")
    assert remote.code == 1 and "loopback" in remote.error


def test_follow_and_unfollow_here(config: Path) -> None:
    for name in ("fred", "fay"):
        assert fediverse(config, "users", "create", name).code == 0
    first = fediverse(config, "follow", "fred", "fay@localhost:8000")
    assert first.code == 0, first.err
    assert first.lines == ["Resolving fay@localhost:8000 …", f"fred now follows {BASE}/users/fay."]
    again = fediverse(config, "follow", "fred", f"{BASE}/users/fay")
    assert again.lines[-1] == f"fred already follows {BASE}/users/fay."
    unfollowed = fediverse(config, "unfollow", "fred", "fay@localhost:8000")
    assert (unfollowed.code, unfollowed.lines) == (
        0,
        ["fred no longer follows fay@localhost:8000."],
    )
    nothing = fediverse(config, "unfollow", "fred", "fay@localhost:8000")
    assert nothing.code == 0
    assert nothing.lines == ["fred does not follow fay@localhost:8000; nothing to undo."]
    assert fediverse(config, "follow", "fred", "fred@localhost:8000").error == (
        "An account cannot follow itself."
    )
    bad_wait = fediverse(config, "follow", "fred", "fay@localhost:8000", "--wait", "soon")
    assert bad_wait.code == 2 and "--wait" in bad_wait.err


async def _lock(ctx: Context, name: str) -> None:
    async with ctx.sessions() as session:
        await session.execute(
            update(Actor).where(Actor.username == name).values(manually_approves_followers=True)
        )
        await session.commit()


def test_follow_requests_of_a_locked_account(config: Path) -> None:
    for name in ("dora", "erin", "finn"):
        assert fediverse(config, "users", "create", name).code == 0
    with_store(config, lambda ctx: _lock(ctx, "dora"))
    asked = fediverse(config, "follow", "erin", "dora@localhost:8000", "--wait", "0")
    assert asked.code == 0
    assert asked.lines[-1].startswith("Not accepted yet: they may approve followers by hand.")
    assert fediverse(config, "follow", "finn", "dora@localhost:8000", "--wait", "0").code == 0

    listed = fediverse(config, "follow-requests", "list", "dora")
    assert listed.code == 0
    assert [line.split()[0] for line in listed.lines] == [
        "erin@localhost:8000",
        "finn@localhost:8000",
    ]
    assert all(
        line.endswith(f"{BASE}/users/{n}")
        for line, n in zip(listed.lines, ("erin", "finn"), strict=True)
    )
    approved = fediverse(config, "follow-requests", "approve", "dora", "erin@localhost:8000")
    assert approved.lines == ["dora approved the follow request of erin@localhost:8000."]
    rejected = fediverse(config, "follow-requests", "reject", "dora", "finn@localhost:8000")
    assert rejected.lines == ["dora rejected the follow request of finn@localhost:8000."]
    empty = fediverse(config, "follow-requests", "list", "dora")
    assert empty.lines == ["No follow requests waiting for dora."]
    assert fediverse(config, "follow-requests", "approve", "dora", "finn@localhost:8000").code == 1

    async def states(ctx: Context) -> list[str]:
        async with ctx.sessions() as session:
            dora = await session.scalar(select(Actor.id).where(Actor.username == "dora"))
            return list(
                (
                    await session.scalars(select(Follow.state).where(Follow.followee_id == dora))
                ).all()
            )

    assert with_store(config, states) == ["accepted"]


async def _remote_follower_of(ctx: Context, name: str) -> None:
    async with ctx.sessions() as session:
        followee = await session.scalar(select(Actor).where(Actor.username == name, Actor.local))
        assert followee is not None
        rita = Actor(
            uri="https://remote.example/users/rita",
            kind="Person",
            username="rita",
            username_key="rita",
            domain="remote.example",
            inbox_url="https://remote.example/users/rita/inbox",
            fetched_at=utcnow(),
        )
        session.add(rita)
        await session.flush()
        session.add(Follow(follower_id=rita.id, followee_id=followee.id, state="accepted"))
        await session.commit()


def test_post_and_reach(config: Path) -> None:
    assert fediverse(config, "users", "create", "pia").code == 0
    with_store(config, lambda ctx: _remote_follower_of(ctx, "pia"))
    posted = fediverse(
        config, "post", "pia", "hello world", "--visibility", "followers", "--cw", "greetings"
    )
    assert posted.code == 0, posted.err
    match = re.fullmatch(
        rf"Posted {BASE}/objects/(\d+) \(id (\d+)\) to 1 followers via 1 inboxes\.", posted.lines[0]
    )
    assert match is not None and match.group(1) == match.group(2), posted.out
    post_id = match.group(1)
    assert posted.lines[1] == f"See how far it got with: fediverse reach {post_id}"
    from_stdin = fediverse(config, "post", "pia", "-", stdin="typed in\n")
    assert from_stdin.code == 0

    async def stored(ctx: Context) -> list[tuple[str, str | None, str | None]]:
        async with ctx.sessions() as session:
            rows = await session.execute(
                select(Post.visibility, Post.summary, Post.source).order_by(Post.id)
                .join(Actor, Actor.id == Post.author_id).where(Actor.username == "pia")
            )  # fmt: skip
            return [tuple(row) for row in rows]

    assert with_store(config, stored) == [
        ("followers", "greetings", "hello world"),
        ("public", None, "typed in"),
    ]
    bad = fediverse(config, "post", "pia", "x", "--visibility", "everyone")
    assert bad.code == 2 and "invalid choice: 'everyone'" in bad.err

    # The delivery waits for a worker: the receipt says so, per server.
    receipt = fediverse(config, "reach", post_id)
    assert receipt.code == 0
    assert re.fullmatch(rf"{BASE}/activities/\d+", receipt.lines[0]), receipt.out
    assert receipt.lines[1] == "reached 0 of 1 followers on 1 server; 1 inbox pending"
    assert receipt.lines[2] == "inboxes 1: delivered 0, pending 1, failed 0, gone 0, dropped 0"
    assert receipt.lines[3].split() == [
        "host",
        "inboxes",
        "sent",
        "pending",
        "failed",
        "gone",
        "health",
    ]
    assert receipt.lines[4].split()[:6] == ["remote.example", "1", "0", "1", "0", "0"]
    as_json = fediverse(config, "reach", f"{BASE}/objects/{post_id}", "--json")
    document = json.loads(as_json.out)
    assert (document["followers_targeted"], document["pending"]) == (1, 1)
    assert document["summary"] == receipt.lines[1]
    assert [host["host"] for host in document["hosts"]] == ["remote.example"]
    assert (
        fediverse(config, "reach", "1").error == "No post of ours is '1'; give its id or its URL."
    )


async def _failing_host(ctx: Context) -> None:
    async with ctx.sessions() as session:
        session.add(
            Host(
                host="down.example",
                consecutive_failures=4,
                failure_days=["2024-05-01"],
                last_failure_at=utcnow(),
                last_error="503 Service Unavailable",
            )
        )
        await session.commit()


def test_hosts_list_and_clear(tmp_path: Path) -> None:
    config = new_folder(tmp_path)
    assert fediverse(config, "init").code == 0
    assert fediverse(config, "hosts", "list").lines == [
        "No delivery failures recorded for any host yet."
    ]
    assert fediverse(config, "hosts", "list", "--unhealthy").lines == [
        "Every host we deliver to is healthy."
    ]
    with_store(config, _failing_host)
    for listed in (
        fediverse(config, "hosts", "list"),
        fediverse(config, "hosts", "list", "--unhealthy"),
    ):
        assert listed.code == 0
        assert listed.lines[0].split() == [
            "host",
            "state",
            "failures",
            "days",
            "pending",
            "last",
            "error",
        ]
        assert listed.lines[1].split()[0] == "down.example"
        assert (
            listed.lines[1].split()[2:4] == ["4", "1"]
            and "503 Service Unavailable" in listed.lines[1]
        )
    cleared = fediverse(config, "hosts", "clear", "down.example")
    assert cleared.lines == ["Cleared down.example: its queued deliveries will be sent again."]
    assert fediverse(config, "hosts", "list", "--unhealthy").lines == [
        "Every host we deliver to is healthy."
    ]
    unknown = fediverse(config, "hosts", "clear", "never.example")
    assert (unknown.code, unknown.lines) == (0, ["never.example has no failures on record."])
    assert fediverse(config, "hosts", "clear").code == 2


def test_registrations(tmp_path: Path) -> None:
    config = new_folder(tmp_path)
    assert fediverse(config, "init").code == 0
    listed = fediverse(config, "registrations", "list")
    # A new instance lets people in by approval until an admin says otherwise.
    assert listed.lines == ["Registration mode: approval", "Nobody is waiting to join."]
    assert fediverse(config, "registrations", "mode", "closed").lines == [
        "Registration mode: closed"
    ]
    assert fediverse(config, "registrations", "mode").lines == ["Registration mode: closed"]
    assert fediverse(config, "registrations", "mode", "approval").lines == [
        "Registration mode: approval"
    ]
    assert fediverse(config, "registrations", "mode", "anarchy").code == 2

    async def apply(ctx: Context) -> None:
        for name in ("wanda", "walt"):
            await registration.apply(
                ctx,
                registration.Application(
                    username=name, email=f"{name}@example.org", password="long enough password",
                    reason="I run   the\nlocal hiking club",
                ),
            )  # fmt: skip

    with_store(config, apply)
    waiting = fediverse(config, "registrations", "list")
    assert waiting.lines[0] == "Registration mode: approval"
    assert [line.split()[:3] for line in waiting.lines[1:]] == [
        ["1.", "wanda", "wanda@example.org"],
        ["2.", "walt", "walt@example.org"],
    ]
    assert waiting.lines[1].endswith("I run the local hiking club")
    assert fediverse(config, "registrations", "approve", "wanda").lines == [
        "Approved wanda: they can sign in now."
    ]
    assert fediverse(config, "registrations", "reject", "walt").lines == ["Rejected walt."]
    assert fediverse(config, "registrations", "list").lines[1:] == ["Nobody is waiting to join."]
    assert fediverse(config, "registrations", "approve", "walt").code == 1
    assert "wanda" in fediverse(config, "users", "list").out


def test_invites(config: Path) -> None:
    assert fediverse(config, "users", "create", "ivy").code == 0
    default = fediverse(config, "invites", "create", "--by", "ivy")
    assert default.code == 0, default.err
    assert re.fullmatch(rf"{BASE}/join\?invite=[\w-]+", default.lines[0]), default.out
    assert default.lines[1] == "Invite link created (1 use, expires in 7 days)."
    unlimited = fediverse(config, "invites", "create", "--max-uses", "0", "--expires-days", "0")
    assert unlimited.lines[1] == "Invite link created (unlimited uses, never expires)."
    some = fediverse(config, "invites", "create", "--max-uses", "3", "--expires-days", "1.5")
    assert some.lines[1] == "Invite link created (3 uses, expires in 1.5 days)."
    assert fediverse(config, "invites", "create", "--max-uses", "many").code == 2

    code = default.lines[0].rsplit("=", 1)[1]

    async def check(ctx: Context) -> tuple[int | None, bool]:
        invite = await invites.check_invite(ctx, code)
        async with ctx.sessions() as session:
            row = await session.get(Invite, invite.id)
            assert row is not None
            return row.max_uses, row.expires_at is not None

    assert with_store(config, check) == (1, True)


def test_tokens_create(config: Path) -> None:
    assert fediverse(config, "users", "create", "tom").code == 0
    issued = fediverse(config, "tokens", "create", "tom")
    assert issued.code == 0
    assert len(issued.lines) == 1  # only the token on standard output, for scripts
    assert issued.err.strip() == "Token for tom with scopes read write follow; it is shown once."
    narrow = fediverse(
        config, "tokens", "create", "tom", "--scopes", "read:statuses", "write:favourites"
    )
    assert "read:statuses write:favourites" in narrow.err

    async def grants(ctx: Context) -> list[tuple[str, frozenset[str], int | None] | None]:
        found = [await oauth.authenticate(ctx, ran.lines[0]) for ran in (issued, narrow)]
        return [(g.username, g.scopes, g.app_id) if g else None for g in found]

    assert with_store(config, grants) == [
        ("tom", frozenset({"read", "write", "follow"}), None),
        ("tom", frozenset({"read:statuses", "write:favourites"}), None),
    ]
    bad_scope = fediverse(config, "tokens", "create", "tom", "--scopes", "root")
    assert bad_scope.code == 1 and "Unknown scope: root" in bad_scope.error
    missing = fediverse(config, "tokens", "create", "nobody")
    assert missing.code == 1 and "nobody" in missing.error


def test_config_is_found_by_option_environment_or_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.toml").write_text('[server]\nport = "eighty"\n')
    bad = fediverse(tmp_path / "bad.toml", "init")
    assert bad.code == 1
    assert (
        bad.error == f"{tmp_path / 'bad.toml'}: server.port: expected a whole number, got 'eighty'"
    )
    missing = fediverse(tmp_path / "nowhere.toml", "init")
    assert missing.code == 1 and "nowhere.toml: file not found" in missing.error

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEDIVERSE_CONFIG", raising=False)
    assert "instance.toml: file not found" in fediverse(None, "init").error
    (tmp_path / "other.toml").write_text('[instance]\nname = "Elsewhere"\n')
    monkeypatch.setenv("FEDIVERSE_CONFIG", str(tmp_path / "other.toml"))
    assert fediverse(None, "init").code == 0
    assert (tmp_path / "data" / "fediverse.sqlite3").exists()
    monkeypatch.delenv("FEDIVERSE_CONFIG")
    new_folder(tmp_path)  # ./instance.toml
    assert fediverse(None, "users", "list").lines == [
        "No users yet. Create one with: fediverse users create NAME"
    ]


def test_a_busy_database_is_one_clear_line(tmp_path: Path) -> None:
    config = new_folder(tmp_path)
    config.write_text(
        config.read_text().replace("busy_timeout_seconds = 10.0", "busy_timeout_seconds = 0.2")
    )
    assert fediverse(config, "init").code == 0
    holder = sqlite3.connect(tmp_path / "data" / "fediverse.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        busy = fediverse(config, "users", "create", "bea")
    finally:
        holder.rollback()
        holder.close()
    assert busy.code == 1
    assert busy.error.startswith("the database is busy: another process held its write lock")
    assert fediverse(config, "users", "create", "bea").code == 0


def _real(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FEDIVERSE_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "fediverse", "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def test_the_installed_command_prints_its_result_and_nothing_else(config: Path) -> None:
    assert fediverse(config, "users", "create", "rosa").code == 0
    # An unresolvable mention is logged at INFO inside; the operator sees only the result.
    posted = _real(config, "post", "rosa", "hello @nobody@127.0.0.1")
    assert posted.returncode == 0 and posted.stderr == ""
    assert posted.stdout.startswith(f"Posted {BASE}/objects/")
    assert len(posted.stdout.splitlines()) == 2
    failed = _real(config, "lookup", "nobody@127.0.0.1")
    assert failed.returncode == 1 and failed.stdout == ""
    assert len(failed.stderr.splitlines()) == 1 and failed.stderr.startswith("error: ")


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    return process.returncode, out


def test_serve_and_worker_start_say_so_and_stop_cleanly(config: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "FEDIVERSE_CONFIG"}
    command = [sys.executable, "-m", "fediverse", "--config", str(config)]
    server = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-workers"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[0]
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/.well-known/nodeinfo", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.1)
        assert answer.status_code == 200
    finally:
        code, out = _stop(server)
    assert code == 0, out
    assert f"Serving {BASE} on http://127.0.0.1:{port} (workers: off). Stop with Ctrl-C." in out
    assert out.rstrip().endswith("Stopped.")

    worker = subprocess.Popen(
        [*command, "worker"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        assert worker.stdout is not None
        started = worker.stdout.readline()
    finally:
        code, out = _stop(worker)
    assert re.fullmatch(
        rf"Worker \S+ running jobs \(inbox, deliveries\) for {BASE}\. Stop with Ctrl-C\.\n", started
    ), started
    assert code == 0, out
    assert "Worker stopped; unfinished jobs return to the queue when their lease expires." in out


def test_invites_roles_and_the_invite_policy(tmp_path: Path) -> None:
    config = new_folder(tmp_path)
    assert fediverse(config, "init").code == 0
    assert fediverse(config, "users", "create", "mia").code == 0
    policy = fediverse(config, "registrations", "invites-policy")
    assert policy.code == 0, policy.err
    assert policy.lines == [
        "Moderators and admins can invite people (members, if allowed, up to 3 usable links each)."
    ]
    changed = fediverse(config, "registrations", "invites-policy", "--who", "members",
                        "--per-member", "2")  # fmt: skip
    assert changed.lines == [
        "Every member can invite people, up to 2 usable links each "
        "(moderators and admins without a cap)."
    ]
    too_many = fediverse(config, "registrations", "invites-policy", "--per-member", "1000")
    assert too_many.code == 1 and "from 0 to 100" in too_many.error
    bad_who = fediverse(config, "registrations", "invites-policy", "--who", "everyone")
    assert bad_who.code == 2 and "invalid choice: 'everyone'" in bad_who.err

    role = fediverse(config, "users", "role", "mia", "moderator")
    assert role.code == 0 and role.lines == ["@mia is now a moderator."]
    assert fediverse(config, "users", "role", "mia").lines == ["@mia is a moderator."]
    listed_users = fediverse(config, "users", "list").out
    assert re.search(r"^mia\s+-\s+moderator\s", listed_users, re.MULTILINE), listed_users
    assert fediverse(config, "users", "role", "ghost", "admin").code == 1

    # The operator's invites are not bound by the policy (any limits, or none).
    created = fediverse(config, "invites", "create", "--by", "mia", "--max-uses", "0",
                        "--expires-days", "0")  # fmt: skip
    assert created.code == 0, created.err
    assert "/join?invite=" in created.out and "unlimited uses, never expires" in created.out
    assert fediverse(config, "invites", "create", "--max-uses", "-2").code == 1
    listed = fediverse(config, "invites", "list")
    assert listed.code == 0
    [header, row] = listed.lines
    assert header.split() == ["id", "state", "by", "uses", "expires", "created"]
    invite_id, state, by, uses, expires = row.split()[:5]
    assert (state, by, uses, expires) == ("usable", "mia", "0/-", "never")
    revoked = fediverse(config, "invites", "revoke", invite_id)
    assert revoked.code == 0 and f"Revoked invite {invite_id}" in revoked.out
    assert fediverse(config, "invites", "list").lines[1].split()[1] == "revoked"
    missing = fediverse(config, "invites", "revoke", "12345")
    assert missing.code == 1 and "No invite 12345" in missing.error
