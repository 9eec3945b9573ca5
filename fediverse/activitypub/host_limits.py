"""How many fetches may be in flight to one remote host at once.

A host that answers slowly (or never) would otherwise collect every waiting task in the
process: eight inbox items each waiting out a 10 s deadline on one server held up everything
behind them. `HostSlots` caps the fetches to each host; a caller that cannot afford to wait
(background work with other things to do) asks not to queue and gets `HostBusyError` at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fediverse.activitypub.netguard import FetchError


class HostBusyError(FetchError):
    """Refuse a fetch at once: its host already has as many fetches in flight as allowed."""


@dataclass
class _Host:
    slots: asyncio.Semaphore
    users: int = field(default=0)  # holding a slot or waiting for one


class HostSlots:
    """Cap the fetches in flight to each host; hosts with none in flight cost no memory."""

    def __init__(self, per_host: int) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self._hosts: dict[str, _Host] = {}

    def in_flight(self, host: str) -> int:
        """Return how many fetches to `host` hold or wait for a slot now."""
        entry = self._hosts.get(host)
        return entry.users if entry is not None else 0

    @asynccontextmanager
    async def hold(self, host: str, url: str, *, queue: bool) -> AsyncIterator[None]:
        """Hold one of `host`'s slots for the body; wait for one if `queue`, else raise
        `HostBusyError` when all are taken."""
        entry = self._hosts.get(host)
        if entry is None:
            entry = self._hosts[host] = _Host(asyncio.Semaphore(self.per_host))
        if not queue and entry.users >= self.per_host:
            raise HostBusyError(
                f"GET {url}: {self.per_host} fetches to {host} are already in flight"
            )
        entry.users += 1
        try:
            async with entry.slots:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._hosts[host]
