"""The `fediverse` command: set up, run and administer an instance."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from fediverse.app import build_context, build_runner, create_app
from fediverse.config import Config, ConfigError, find_config_path, load_config
from fediverse.errors import FediverseError
from fediverse.services import actors as actor_service
from fediverse.services import (
    follows,
    invites,
    oauth,
    posts,
    reach,
    registration,
    remote_actors,
    roles,
)
from fediverse.services.context import Context
from fediverse.store import actors as actor_queries
from fediverse.store import deliveries as delivery_queries
from fediverse.store import hosts as host_queries
from fediverse.store.engine import is_contention
from fediverse.store.follows import ACCEPTED, PENDING
from fediverse.store.migrate import upgrade
from fediverse.store.tables import Follow
from fediverse.store.types import utcnow

log = logging.getLogger("fediverse")


class CommandError(Exception):
    """Raise to stop a command with one line for the person at the terminal."""


def _out(line: str) -> None:
    print(line, flush=True)


async def _with_context(
    config: Config, work: Callable[[Context], Awaitable[int]], *, prepare: bool = True
) -> int:
    """Run a command's work with the store ready (migrated, instance actor loaded) and closed
    afterwards; `prepare=False` for the commands that set the store up themselves."""
    ctx = build_context(config)
    try:
        if prepare:
            await prepare_database(ctx, quiet=True)
        return await work(ctx)
    finally:
        await ctx.close()


async def prepare_database(ctx: Context, *, quiet: bool = False) -> None:
    """Migrate the store to the newest schema and make sure the instance actor exists."""
    before, after = await upgrade(ctx.engine, schema=ctx.config.database.schema)
    actor = await actor_service.ensure_instance_actor(ctx)
    if not quiet:
        change = (
            "created"
            if before is None
            else ("already current" if before == after else f"migrated from {before}")
        )
        _out(f"Database {change} at revision {after}: {_describe_database(ctx.config)}")
        _out(f"Instance actor: {actor.uri}")


def _describe_database(config: Config) -> str:
    url = config.database.url
    if url.startswith("sqlite"):
        return "SQLite " + url.split(":///", 1)[-1]
    # Never print a password that may be part of the URL.
    rest = url.partition("://")[2]
    return f"PostgreSQL {rest.rpartition('@')[2]}"


def _stop_on_signals() -> asyncio.Event:
    """Return an event set by SIGINT or SIGTERM, for a graceful stop of long-running commands."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def cmd_init(config: Config, _args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        await prepare_database(ctx)
        return 0

    return await _with_context(config, work, prepare=False)


async def cmd_migrate(config: Config, _args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        before, after = await upgrade(ctx.engine, schema=ctx.config.database.schema)
        if before == after:
            _out(f"Already at the newest revision {after}.")
        else:
            _out(f"Migrated {before or 'an empty database'} → {after}.")
        return 0

    return await _with_context(config, work, prepare=False)


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CommandError("--password-stdin was given but standard input was empty.")
        return password
    if sys.stdin.isatty():
        first = getpass.getpass(f"Password for {args.name} (empty for none): ")
        if first and getpass.getpass("Repeat the password: ") != first:
            raise CommandError("The two passwords differ; run the command again.")
        return first or None
    return None


async def cmd_users_create(config: Config, args: argparse.Namespace) -> int:
    password = _read_password(args)

    async def work(ctx: Context) -> int:
        actor, user = await actor_service.create_user(
            ctx,
            actor_service.NewUser(
                username=args.name, password=password, email=args.email, is_admin=args.admin
            ),
        )
        role = "admin" if user.is_admin else "user"
        _out(f"Created {role} @{actor.username}@{ctx.domain}: {actor.uri}")
        if password is None:
            _out("No password set: this account cannot sign in until one is set.")
        return 0

    return await _with_context(config, work)


async def cmd_users_list(config: Config, _args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        async with ctx.sessions() as session:
            rows = await actor_queries.list_local_users(session)
        if not rows:
            _out("No users yet. Create one with: fediverse users create NAME")
            return 0
        _out(f"{'username':<30} {'email':<32} {'role':<9} created")
        for actor, user in rows:
            _out(
                f"{actor.username:<30} {(user.email or '-'):<32} "
                f"{user.role:<9} {user.created_at:%Y-%m-%d %H:%M}"
            )
        return 0

    return await _with_context(config, work)


async def cmd_groups_create(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        group = await actor_service.create_group(
            ctx, args.name, owner_username=args.owner, title=args.title or ""
        )
        _out(f"Created group !{group.username}@{ctx.domain} owned by {args.owner}: {group.uri}")
        return 0

    return await _with_context(config, work)


async def cmd_tokens_create(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        issued = await oauth.create_token(ctx, args.user, " ".join(args.scopes))
        # Only the token on standard output, so scripts can capture it; the rest to stderr.
        print(
            f"Token for {args.user} with scopes {' '.join(issued.scopes)}; it is shown once.",
            file=sys.stderr,
            flush=True,
        )
        _out(issued.access_token)
        return 0

    return await _with_context(config, work)


async def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HypercornConfig

    host = args.host or config.server.host
    port = args.port or config.server.port
    ctx = build_context(config)
    await prepare_database(ctx)
    app = create_app(config, context=ctx)

    hypercorn_config = HypercornConfig()
    hypercorn_config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    hypercorn_config.accesslog = None
    # Route Hypercorn's own messages through our logging setup (one format, no duplicates).
    hypercorn_config.errorlog = logging.getLogger("hypercorn.error")
    hypercorn_config.include_server_header = False
    stop = _stop_on_signals()
    _out(
        f"Serving {config.instance.base_url} on http://{host}:{port} "
        f"(workers: {'off' if args.no_workers else 'embedded'}). Stop with Ctrl-C."
    )
    await serve(app, hypercorn_config, shutdown_trigger=stop.wait)
    _out("Stopped.")
    return 0


async def cmd_lookup(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        actor = await remote_actors.resolve_or_fetch(ctx, args.handle)
        handle = f"@{actor.username}@{actor.domain}"
        _out(f"{handle} ({actor.kind}{', local' if actor.local else ''})")
        for label, value in [
            ("id", actor.uri),
            ("name", actor.display_name),
            ("inbox", actor.inbox_url),
            ("shared inbox", actor.shared_inbox_url),
            ("followers", actor.followers_url),
            ("key", actor.public_key_id),
            ("locked", "yes" if actor.manually_approves_followers else "no"),
        ]:
            _out(f"  {label + ':':<14}{value or '-'}")
        return 0

    return await _with_context(config, work)


async def _deliver_now(ctx: Context) -> None:
    """Send what this command queued straight away instead of waiting for a worker's poll."""
    runner = build_runner(ctx, worker_id="cli")
    await runner.run_until_idle("deliveries")
    async with ctx.sessions() as session:
        failing = await delivery_queries.recent_failures(session, limit=3)
    for inbox, status, error in failing:
        _out(f"  delivery to {inbox} is being retried: {status or ''} {error or ''}".rstrip())


async def cmd_follow(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        _out(f"Resolving {args.target} …")
        result = await follows.follow(ctx, args.user, args.target)
        if result.state == ACCEPTED:
            # A local account without approval accepts at once: that is a new follow too.
            verb = "now follows" if result.created else "already follows"
            _out(f"{args.user} {verb} {result.followee_uri}.")
            return 0
        await _deliver_now(ctx)
        _out(f"Follow sent to {result.followee_uri}; waiting up to {args.wait:g} s for Accept …")
        state = await _wait_for_accept(ctx, result.follow_id, args.wait)
        if state == ACCEPTED:
            _out(f"{args.user} now follows {result.followee_uri}.")
        elif state is None:
            _out(f"{result.followee_uri} rejected the follow request.")
            return 1
        else:
            _out(
                "Not accepted yet: they may approve followers by hand. The follow completes "
                "when they accept (this needs `fediverse serve` running to receive it)."
            )
        return 0

    return await _with_context(config, work)


async def _wait_for_accept(ctx: Context, follow_id: int, seconds: float) -> str | None:
    """Poll our follow row until accepted, removed (rejected) or out of time."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        async with ctx.sessions() as session:
            row = await session.get(Follow, follow_id)
            state = row.state if row is not None else None
        if state != PENDING or asyncio.get_running_loop().time() >= deadline:
            return state
        await asyncio.sleep(0.2)


async def cmd_unfollow(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        if not await follows.unfollow(ctx, args.user, args.target):
            _out(f"{args.user} does not follow {args.target}; nothing to undo.")
            return 0
        await _deliver_now(ctx)
        _out(f"{args.user} no longer follows {args.target}.")
        return 0

    return await _with_context(config, work)


async def cmd_requests_list(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        pending = await follows.list_requests(ctx, args.user)
        if not pending:
            _out(f"No follow requests waiting for {args.user}.")
        for request in pending:
            _out(f"{request.follower_handle:<40} {request.requested_at}  {request.follower_uri}")
        return 0

    return await _with_context(config, work)


async def cmd_requests_answer(config: Config, args: argparse.Namespace) -> int:
    approve = args.requests_command == "approve"

    async def work(ctx: Context) -> int:
        await follows.answer_request(ctx, args.user, args.follower, approve=approve)
        await _deliver_now(ctx)
        verb = "approved" if approve else "rejected"
        _out(f"{args.user} {verb} the follow request of {args.follower}.")
        return 0

    return await _with_context(config, work)


async def cmd_worker(config: Config, args: argparse.Namespace) -> int:
    ctx = build_context(config)
    try:
        await prepare_database(ctx, quiet=True)
        runner = build_runner(ctx)
        stop = _stop_on_signals()
        _out(
            f"Worker {runner.worker_id} running jobs ({', '.join(runner.kinds)}) "
            f"for {config.instance.base_url}. Stop with Ctrl-C."
        )
        await runner.run_forever(stop)
        _out("Worker stopped; unfinished jobs return to the queue when their lease expires.")
        return 0
    finally:
        await ctx.close()


async def cmd_post(config: Config, args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text

    async def work(ctx: Context) -> int:
        published = await posts.create_post(
            ctx, args.user, posts.NewPost(text=text, visibility=args.visibility, summary=args.cw)
        )
        _out(
            f"Posted {published.post.uri} (id {published.post.id}) to "
            f"{published.followers_targeted:,} followers via {published.inboxes:,} inboxes."
        )
        _out(f"See how far it got with: fediverse reach {published.post.id}")
        return 0

    return await _with_context(config, work)


async def cmd_reach(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        receipt = await reach.reach_for_post(ctx, args.post)
        if args.json:
            _out(json.dumps(receipt.to_json(), indent=2, default=str))
            return 0
        _out(receipt.activity)
        _out(receipt.summary())
        _out(
            f"inboxes {receipt.inboxes:,}: delivered {receipt.delivered:,}, pending "
            f"{receipt.pending:,}, failed {receipt.failed:,}, gone {receipt.gone:,}, "
            f"dropped {receipt.dropped:,}"
        )
        if receipt.hosts:
            _out(
                f"{'host':<40} {'inboxes':>7} {'sent':>6} {'pending':>7} {'failed':>6} "
                f"{'gone':>5} health"
            )
            for host in receipt.hosts:
                _out(
                    f"{host.host:<40} {host.inboxes:>7} {host.delivered:>6} {host.pending:>7} "
                    f"{host.failed + host.dropped:>6} {host.gone:>5} {host.health}"
                    + (f"  ({host.last_error})" if host.last_error else "")
                )
        return 0

    return await _with_context(config, work)


async def cmd_hosts_list(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        async with ctx.sessions() as session:
            rows = await host_queries.list_health(
                session, now=utcnow(), unhealthy_only=args.unhealthy
            )
        if not rows:
            _out(
                "Every host we deliver to is healthy."
                if args.unhealthy
                else "No delivery failures recorded for any host yet."
            )
            return 0
        _out(f"{'host':<40} {'state':<11} {'failures':>8} {'days':>4} {'pending':>7} last error")
        for row in rows:
            _out(
                f"{row.host:<40} {row.state:<11} {row.consecutive_failures:>8} "
                f"{row.failure_days:>4} {row.pending:>7} {row.last_error or '-'}"
            )
        return 0

    return await _with_context(config, work)


async def cmd_hosts_clear(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        async with ctx.sessions() as session:
            found = await host_queries.clear(session, args.host)
            await session.commit()
        _out(
            f"Cleared {args.host}: its queued deliveries will be sent again."
            if found
            else f"{args.host} has no failures on record."
        )
        return 0

    return await _with_context(config, work)


async def cmd_registrations(config: Config, args: argparse.Namespace) -> int:
    action = args.registrations_command

    async def work(ctx: Context) -> int:
        if action == "list":
            waiting = await registration.list_pending(ctx)
            _out(f"Registration mode: {await registration.get_mode(ctx)}")
            if not waiting:
                _out("Nobody is waiting to join.")
            for place, request in enumerate(waiting, start=1):
                reason = " ".join(request.reason.split())[:60]
                _out(
                    f"{place:>3}. {request.username:<24} {request.email:<32} "
                    f"{request.created_at:%Y-%m-%d}  {reason}"
                )
        elif action == "mode":
            if args.mode:
                await registration.set_mode(ctx, args.mode)
            _out(f"Registration mode: {await registration.get_mode(ctx)}")
        elif action == "approve":
            await registration.approve(ctx, args.name)
            _out(f"Approved {args.name}: they can sign in now.")
        else:
            await registration.reject(ctx, args.name)
            _out(f"Rejected {args.name}.")
        return 0

    return await _with_context(config, work)


async def cmd_invites_create(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        code = await invites.create_invite(
            ctx,
            args.by,
            max_uses=args.max_uses or None,
            expires_in=timedelta(days=args.expires_days) if args.expires_days else None,
        )
        _out(f"{ctx.uris.absolute('/join')}?invite={code}")
        limits = [
            f"{args.max_uses} use{'s' if args.max_uses != 1 else ''}"
            if args.max_uses
            else "unlimited uses",
            f"expires in {args.expires_days:g} days" if args.expires_days else "never expires",
        ]
        _out(f"Invite link created ({', '.join(limits)}).")
        return 0

    return await _with_context(config, work)


async def cmd_invites_list(config: Config, _args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        listing = await invites.list_invites(ctx)
        if not listing:
            _out("No invites yet. Make one with: fediverse invites create")
            return 0
        _out(f"{'id':<20} {'state':<8} {'by':<24} {'uses':<9} {'expires':<17} created")
        for invite in listing:
            uses = f"{invite.uses}/{invite.max_uses if invite.max_uses is not None else '-'}"
            expires = f"{invite.expires_at:%Y-%m-%d %H:%M}" if invite.expires_at else "never"
            _out(
                f"{invite.id:<20} {invite.state:<8} {invite.created_by or '-':<24} {uses:<9} "
                f"{expires:<17} {invite.created_at:%Y-%m-%d %H:%M}"
            )
        return 0

    return await _with_context(config, work)


async def cmd_invites_revoke(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        await invites.revoke_invite(ctx, args.id, by=None)
        _out(f"Revoked invite {args.id}: its link admits nobody now.")
        return 0

    return await _with_context(config, work)


async def cmd_invites_policy(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        if args.who is not None or args.per_member is not None:
            policy = await invites.set_policy(ctx, who=args.who, per_member=args.per_member)
        else:
            policy = await invites.get_policy(ctx)
        _out(policy.describe())
        return 0

    return await _with_context(config, work)


async def cmd_users_role(config: Config, args: argparse.Namespace) -> int:
    async def work(ctx: Context) -> int:
        if args.role is None:
            _out(f"@{args.name} is a {await roles.role_of(ctx, args.name)}.")
            return 0
        role = await roles.set_role(ctx, args.name, args.role)
        _out(f"@{args.name} is now a {role}.")
        return 0

    return await _with_context(config, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fediverse", description="Run and administer a federated community instance."
    )
    parser.add_argument(
        "--config", help="config file (default: $FEDIVERSE_CONFIG or ./instance.toml)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "init", help="create or migrate the database and the instance actor"
    ).set_defaults(run=cmd_init)
    commands.add_parser("migrate", help="migrate the database to the newest schema").set_defaults(
        run=cmd_migrate
    )

    serve = commands.add_parser("serve", help="run the web server (and embedded workers)")
    serve.add_argument("--host", help="address to listen on (default from the config)")
    serve.add_argument("--port", type=int, help="port to listen on (default from the config)")
    serve.add_argument(
        "--no-workers", action="store_true", help="do not run background workers in this process"
    )
    serve.set_defaults(run=cmd_serve)

    users = commands.add_parser("users", help="manage local users").add_subparsers(
        dest="users_command", required=True, metavar="ACTION"
    )
    create = users.add_parser("create", help="create a local user")
    create.add_argument("name")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    create.add_argument("--email")
    create.add_argument("--admin", action="store_true", help="make the user an admin")
    create.set_defaults(run=cmd_users_create)
    users.add_parser("list", help="list local users").set_defaults(run=cmd_users_list)
    role = users.add_parser("role", help="show or set a user's role (member, moderator, admin)")
    role.add_argument("name")
    role.add_argument("role", nargs="?", choices=roles.ROLES)
    role.set_defaults(run=cmd_users_role)

    commands.add_parser(
        "worker", help="run background jobs (inbox processing, deliveries) in this process"
    ).set_defaults(run=cmd_worker)

    follow = commands.add_parser("follow", help="make a local user follow someone anywhere")
    follow.add_argument("user", help="local username")
    follow.add_argument("target", help="user@host or actor URL")
    follow.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for the Accept (default 30)"
    )
    follow.set_defaults(run=cmd_follow)
    unfollow = commands.add_parser("unfollow", help="stop following someone")
    unfollow.add_argument("user", help="local username")
    unfollow.add_argument("target", help="user@host or actor URL")
    unfollow.set_defaults(run=cmd_unfollow)

    requests = commands.add_parser(
        "follow-requests", help="follow requests waiting for a locked account's approval"
    ).add_subparsers(dest="requests_command", required=True, metavar="ACTION")
    listing = requests.add_parser("list", help="list pending requests")
    listing.add_argument("user", help="local username")
    listing.set_defaults(run=cmd_requests_list)
    for action in ("approve", "reject"):
        answer = requests.add_parser(action, help=f"{action} a pending request")
        answer.add_argument("user", help="local username")
        answer.add_argument("follower", help="follower's user@host or actor URL")
        answer.set_defaults(run=cmd_requests_answer)

    post = commands.add_parser("post", help="publish a post as a local user")
    post.add_argument("user", help="local username")
    post.add_argument("text", help="the text, or - to read it from standard input")
    post.add_argument(
        "--visibility", default="public", choices=("public", "unlisted", "followers", "direct")
    )
    post.add_argument("--cw", help="content warning shown before the text")
    post.set_defaults(run=cmd_post)

    reach_cmd = commands.add_parser("reach", help="show how far a post got, per server")
    reach_cmd.add_argument("post", help="the post's id or URL")
    reach_cmd.add_argument("--json", action="store_true", help="print the receipt as JSON")
    reach_cmd.set_defaults(run=cmd_reach)

    hosts = commands.add_parser("hosts", help="delivery health of remote servers").add_subparsers(
        dest="hosts_command", required=True, metavar="ACTION"
    )
    hosts_list = hosts.add_parser("list", help="list hosts with their delivery health")
    hosts_list.add_argument(
        "--unhealthy", action="store_true", help="only failing, paused or unavailable hosts"
    )
    hosts_list.set_defaults(run=cmd_hosts_list)
    hosts_clear = hosts.add_parser("clear", help="clear a host's failures and resume it")
    hosts_clear.add_argument("host")
    hosts_clear.set_defaults(run=cmd_hosts_clear)

    regs = commands.add_parser(
        "registrations", help="the waitlist and the registration mode"
    ).add_subparsers(dest="registrations_command", required=True, metavar="ACTION")
    regs.add_parser("list", help="show the mode and who is waiting").set_defaults(
        run=cmd_registrations
    )
    mode = regs.add_parser("mode", help="show or set the mode (open, approval, invite, closed)")
    mode.add_argument("mode", nargs="?", choices=("open", "approval", "invite", "closed"))
    mode.set_defaults(run=cmd_registrations)
    for action in ("approve", "reject"):
        decide = regs.add_parser(action, help=f"{action} a waiting applicant")
        decide.add_argument("name", help="the username they applied with")
        decide.set_defaults(run=cmd_registrations)
    policy = regs.add_parser(
        "invites-policy", help="show or set who may make invite links, and members' cap"
    )
    policy.add_argument(
        "--who",
        choices=invites.WHO_CHOICES,
        help="admins, moderators (and admins; the default) or members (everyone)",
    )
    policy.add_argument(
        "--per-member",
        type=int,
        help=f"usable invite links a member may have at a time (0 to {invites.MAX_PER_MEMBER})",
    )
    policy.set_defaults(run=cmd_invites_policy)

    invites_cmd = commands.add_parser("invites", help="invite links").add_subparsers(
        dest="invites_command", required=True, metavar="ACTION"
    )
    invite = invites_cmd.add_parser("create", help="create an invite link")
    invite.add_argument("--by", help="username of the member who invites (optional)")
    invite.add_argument("--max-uses", type=int, default=1, help="0 for unlimited (default 1)")
    invite.add_argument("--expires-days", type=float, default=7.0, help="0 for never (default 7)")
    invite.set_defaults(run=cmd_invites_create)
    invites_cmd.add_parser("list", help="list invites with their limits and state").set_defaults(
        run=cmd_invites_list
    )
    revoke = invites_cmd.add_parser("revoke", help="revoke an invite: its link admits nobody")
    revoke.add_argument("id", type=int, help="the invite's id, as `invites list` shows it")
    revoke.set_defaults(run=cmd_invites_revoke)

    lookup = commands.add_parser(
        "lookup", help="resolve a handle (user@host) or actor URL, local or remote, and show it"
    )
    lookup.add_argument("handle", help="user@host, @user@host or https://host/users/name")
    lookup.set_defaults(run=cmd_lookup)

    tokens = commands.add_parser(
        "tokens", help="bearer tokens for the client API (for scripts)"
    ).add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    token_create = tokens.add_parser("create", help="print a new bearer token for a local user")
    token_create.add_argument("user", help="local username")
    token_create.add_argument(
        "--scopes",
        nargs="+",
        default=["read", "write", "follow"],
        help="OAuth scopes (default: read write follow)",
    )
    token_create.set_defaults(run=cmd_tokens_create)

    groups = commands.add_parser("groups", help="manage local groups").add_subparsers(
        dest="groups_command", required=True, metavar="ACTION"
    )
    group_create = groups.add_parser("create", help="create a group owned by a local user")
    group_create.add_argument("name")
    group_create.add_argument("--owner", required=True, help="username of the owner")
    group_create.add_argument("--title", help="display name of the group")
    group_create.set_defaults(run=cmd_groups_create)
    return parser


LONG_RUNNING = frozenset({"serve", "worker"})


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    # The servers log what they do; any other command prints its own result and nothing else
    # unless something needs the operator's attention (a warning or an error).
    level = logging.INFO if args.command in LONG_RUNNING else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # Alembic narrates every step at INFO; our own lines already say what happened.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        config = load_config(find_config_path(args.config))
        command: Callable[[Config, argparse.Namespace], Coroutine[Any, Any, int]] = args.run
        return asyncio.run(command(config, args))
    except (ConfigError, CommandError) as exc:
        return _fail(str(exc))
    except FediverseError as exc:
        return _fail(exc.message)
    except (OperationalError, DBAPIError, OSError) as exc:
        if is_contention(exc):
            return _fail(
                "the database is busy: another process held its write lock too long. Try "
                "again in a few seconds, or raise [database] busy_timeout_seconds."
            )
        return _fail(f"cannot use the database: {_first_line(exc)}. Check [database] url.")
    except KeyboardInterrupt:
        return 130


def _first_line(exc: Any) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
