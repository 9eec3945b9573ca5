"""The unit of work: one transaction for one request, one command or one inbox item.

The caller that starts the work opens it — a route, a CLI command, the inbox job for one item —
and passes it down; services take it and never open sessions of their own:

    async with begin(ctx) as work:
        published = await posts.compose(work, author, new_post)

It commits when the block ends normally and rolls back when it raises, so a request or an item
either happens whole or not at all. Callbacks registered with `after_commit` run only once the
commit succeeded (waking this process's workers for the deliveries just written, for example).

One exception is deliberate: copies of documents fetched from other servers (actors and their
keys, posts fetched for a thread) are a cache, written in a short transaction of their own when
they arrive, never inside a unit of work. A unit must never hold a write lock across a network
call (SQLite has one writer, and a fetch can take seconds), so services fetch first and write
after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fediverse.services.context import Context
from fediverse.store import Session


@dataclass(eq=False)
class Work:
    """One unit of work: the instance it runs in and its one database session."""

    ctx: Context
    session: Session
    _after_commit: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this unit's transaction has committed (never if it rolls back)."""
        self._after_commit.append(callback)

    def wake_workers(self) -> None:
        """Wake this process's workers once the jobs this unit wrote are committed."""
        if self.ctx.notify not in self._after_commit:
            self.after_commit(self.ctx.notify)


@asynccontextmanager
async def begin(ctx: Context) -> AsyncIterator[Work]:
    """Open a unit of work; commit it if the block succeeds, roll it back if it raises."""
    async with ctx.sessions() as session:
        work = Work(ctx, session)
        try:
            yield work
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
    for callback in work._after_commit:
        callback()
