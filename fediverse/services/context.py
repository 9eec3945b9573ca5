"""What every service needs, built once by `create_app` (the composition root)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fediverse.activitypub.client import FederationClient
from fediverse.activitypub.signatures import SigningKey
from fediverse.config import Config
from fediverse.services.rate_limits import RateLimiter
from fediverse.uris import Uris


class InstanceKeyMissing(RuntimeError):
    """Raise when something must sign before the instance actor was loaded."""


@dataclass
class Context:
    """The store, HTTP client and settings of one instance; passed explicitly, never global."""

    config: Config
    uris: Uris
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: FederationClient
    # Every limit on what strangers may do (services/rate_limits.py).
    limiter: RateLimiter
    instance_key: SigningKey | None = field(default=None)
    # Wakes this process's embedded workers when new jobs were written (set by create_app).
    wake_workers: Callable[[], None] | None = field(default=None)

    @property
    def domain(self) -> str:
        return self.config.instance.domain

    def notify(self) -> None:
        """Tell local workers that new work is due, so it starts without waiting for a poll."""
        if self.wake_workers is not None:
            self.wake_workers()

    def instance_signing_key(self) -> SigningKey:
        """Return the instance actor's key, which signs every fetch we make."""
        if self.instance_key is None:
            raise InstanceKeyMissing("the instance actor is not loaded; run `fediverse init`")
        return self.instance_key

    async def close(self) -> None:
        """Release pooled connections (HTTP and database)."""
        await self.http.aclose()
        await self.engine.dispose()
