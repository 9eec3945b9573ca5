"""The storage seam (docs/ARCHITECTURE.md): SQL is built and run in `fediverse/store/` only.

Outside the store no module imports SQLAlchemy or calls a session's query methods; services
hand the unit of work's session to query functions in `store/`. Transaction control (commit,
rollback) belongs to the unit of work (`services/work.py`) alone.

`NOT_YET_BEHIND_THE_SEAM` lists the modules still being moved behind it (issue 10). It may only
shrink: a module that no longer offends must leave the list, so the list always tells the truth.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fediverse"
QUERY_METHODS = frozenset(
    {
        "execute", "scalar", "scalars", "get", "add", "add_all", "delete", "flush", "merge",
        "refresh", "stream", "stream_scalars", "connection", "begin_nested", "commit", "rollback",
    }
)  # fmt: skip
TRANSACTION_OWNER = "fediverse/services/work.py"

NOT_YET_BEHIND_THE_SEAM: frozenset[str] = frozenset(
    {
        "fediverse/app.py",
        "fediverse/cli.py",
        "fediverse/inbox/handlers/interactions.py",
        "fediverse/inbox/intake.py",
        "fediverse/inbox/job.py",
        "fediverse/jobs/runner.py",
        "fediverse/outbox/audience.py",
        "fediverse/outbox/delivery.py",
        "fediverse/outbox/health.py",
        "fediverse/outbox/publish.py",
        "fediverse/services/actors.py",
        "fediverse/services/auth.py",
        "fediverse/services/context.py",
        "fediverse/services/directory.py",
        "fediverse/services/discovery.py",
        "fediverse/services/follows.py",
        "fediverse/services/groups.py",
        "fediverse/services/interactions.py",
        "fediverse/services/invites.py",
        "fediverse/services/media.py",
        "fediverse/services/notifications.py",
        "fediverse/services/oauth.py",
        "fediverse/services/oauth_codes.py",
        "fediverse/services/posts.py",
        "fediverse/services/profiles.py",
        "fediverse/services/reach.py",
        "fediverse/services/received_interactions.py",
        "fediverse/services/registration.py",
        "fediverse/services/remote_actors.py",
        "fediverse/services/remote_posts.py",
        "fediverse/services/roles.py",
        "fediverse/services/settings.py",
        "fediverse/services/timelines.py",
        "fediverse/services/visibility.py",
    }
)


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _is_session(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "session" or node.id.endswith("_session")
    return isinstance(node, ast.Attribute) and node.attr == "session"


def offences(source: str, relative: str) -> list[str]:
    """Return what a module does that belongs behind the storage seam."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if a.name.startswith("sqlalchemy")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found.append(f"imports {node.module}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
            and _is_session(node.func.value)
            and not (relative == TRANSACTION_OWNER and node.func.attr in ("commit", "rollback"))
        ):
            found.append(f"calls session.{node.func.attr}() on line {node.lineno}")
    return found


def _modules() -> dict[str, list[str]]:
    result = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = _relative(path)
        if relative.startswith("fediverse/store/"):
            continue
        found = offences(path.read_text(encoding="utf-8"), relative)
        if found:
            result[relative] = found
    return result


def test_no_sql_outside_the_store() -> None:
    offending = _modules()
    new = {name: found for name, found in offending.items() if name not in NOT_YET_BEHIND_THE_SEAM}
    assert not new, f"SQL outside fediverse/store/ (move it into a query function): {new}"
    cleaned = sorted(NOT_YET_BEHIND_THE_SEAM - set(offending))
    assert not cleaned, f"behind the seam now; remove from NOT_YET_BEHIND_THE_SEAM: {cleaned}"


def test_the_checker_sees_each_kind_of_offence() -> None:
    source = (
        "from sqlalchemy import select\n"
        "import sqlalchemy.orm\n"
        "async def f(session, work):\n"
        "    await session.execute(select(1))\n"
        "    await work.session.scalar(x)\n"
        "    await session.commit()\n"
        "    await other.get(1)\n"
    )
    assert offences(source, "fediverse/services/x.py") == [
        "imports sqlalchemy",
        "imports sqlalchemy.orm",
        "calls session.execute() on line 4",
        "calls session.scalar() on line 5",
        "calls session.commit() on line 6",
    ]
    assert offences("async def f(session):\n    await session.commit()\n", TRANSACTION_OWNER) == []
