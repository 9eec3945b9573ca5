"""Rate limits: how often anyone may knock, per address, account, access token or remote server.

The one home for the rule. `[rate_limits]` in instance.toml gives each limit in the `limits`
library's notation ("300 per 5 minutes"); `RateLimiter` counts hits in a moving window (the
library's `MovingWindowRateLimiter`) in the configured storage: this process's memory by default,
or a Redis server that every process shares. The edges call `hit` with the key the limit is
counted by (services/auth.py applies the sign-in limits itself, because they are counted per
*resolved* account); an exceeded limit raises `TooManyRequests`, which names the limit and
carries `Retry-After`.

Client addresses reach this module from the edges (`web.client_address`, which honours
`[server] trusted_proxies`). An IPv6 address counts as its /64: that is the block one customer
usually gets, and counting single addresses would hand each of them 2^64 budgets.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from urllib.parse import quote

import limits
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError, StorageError
from limits.storage import storage_from_string

from fediverse.config import ConfigError, RateLimitSettings, rate_limit_storage_url
from fediverse.errors import ServiceUnavailable, TooManyRequests

log = logging.getLogger(__name__)

# Longest piece of a key kept: addresses, hosts and ids are shorter; a typed login may not be.
MAX_KEY_PART = 200


@dataclass(frozen=True)
class Limit:
    """One named limit: the setting it comes from, its rate, and what it counts (for messages)."""

    name: str
    item: limits.RateLimitItem
    counts: str

    def describe(self) -> str:
        """Say the rate in words: "at most 5 per 15 minutes"."""
        unit = self.item.GRANULARITY.name
        multiples = self.item.multiples
        window = f"{multiples} {unit}s" if multiples != 1 else unit
        return f"at most {self.item.amount} per {window}"


def address_key(address: str) -> str:
    """Return what a client address is counted by: itself for IPv4, its /64 for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:MAX_KEY_PART]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def _wait(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


class RateLimiter:
    """The counters of one instance; built once by the composition root, kept in the Context."""

    def __init__(
        self, settings: RateLimitSettings, *, namespace: str, source: str = "<config>"
    ) -> None:
        url = rate_limit_storage_url(settings.storage_url)
        try:
            # wrap_exceptions: an unreachable Redis raises the library's StorageError.
            self.storage = storage_from_string(url, wrap_exceptions=True)
        except ConfigurationError as exc:
            raise ConfigError(
                source,
                "rate_limits.storage_url",
                f"{settings.storage_url!r} cannot be used ({exc}); a Redis URL needs "
                "`pip install 'fediverse[redis]'`",
            ) from None
        self.strategy = MovingWindowRateLimiter(self.storage)
        # Several instances may share one Redis: every key starts with the instance's domain.
        self.namespace = namespace

        def limit(name: str, counts: str) -> Limit:
            return Limit(name, limits.parse(getattr(settings, name)), counts)

        self.sign_in_per_address = limit(
            "sign_in_per_address", "sign-in attempts from your address"
        )
        self.sign_in_failures_per_account = limit(
            "sign_in_failures_per_account", "failed sign-ins for this account"
        )
        failures = self.sign_in_failures_per_account.item
        # "This address failed on this account lately": one mark per address, as long as the
        # account's own window. services/auth.py explains how the two combine.
        self.sign_in_failed_here = Limit(
            "sign_in_failed_here",
            type(failures)(1, failures.multiples),
            "failed sign-ins for this account from your address",
        )
        self.password_change_per_account = limit(
            "password_change_per_account", "attempts to change the password of this account"
        )
        self.join_per_address = limit("join_per_address", "sign-up forms sent from your address")
        self.oauth_per_address = limit(
            "oauth_per_address", "OAuth token and app requests from your address"
        )
        self.api_per_token = limit("api_per_token", "API requests with this access token")
        self.api_per_address = limit("api_per_address", "API requests from your address")
        self.inbox_per_address = limit("inbox_per_address", "inbox deliveries from your address")
        self.inbox_per_host = limit("inbox_per_host", "inbox deliveries from your server")
        self.requests_per_address = limit("requests_per_address", "requests from your address")

    def _identifiers(self, limit: Limit, key: tuple[str, ...]) -> tuple[str, ...]:
        # Quoting keeps a "/" inside a typed login or an IPv6 network from joining two parts.
        parts = (self.namespace, limit.name, *key)
        return tuple(quote(part[:MAX_KEY_PART], safe="@:.") for part in parts)

    async def hit(self, limit: Limit, *key: str) -> None:
        """Count one hit, or raise TooManyRequests (with Retry-After) when the limit is spent."""
        ids = self._identifiers(limit, key)
        try:
            allowed = await self.strategy.hit(limit.item, *ids)
        except StorageError as exc:
            raise self._storage_down(exc) from None
        if not allowed:
            raise self.refusal(limit, await self.retry_after(limit, *key))

    async def count(self, limit: Limit, *key: str) -> None:
        """Count one hit without refusing anything (for limits that are checked separately)."""
        try:
            await self.strategy.hit(limit.item, *self._identifiers(limit, key))
        except StorageError as exc:
            raise self._storage_down(exc) from None

    async def allows(self, limit: Limit, *key: str) -> bool:
        """Tell whether one more hit would be within the limit (counts nothing)."""
        try:
            return await self.strategy.test(limit.item, *self._identifiers(limit, key))
        except StorageError as exc:
            raise self._storage_down(exc) from None

    async def retry_after(self, limit: Limit, *key: str) -> int:
        """Return the seconds until the limit allows one more hit (at least 1)."""
        try:
            stats = await self.strategy.get_window_stats(limit.item, *self._identifiers(limit, key))
        except StorageError as exc:
            raise self._storage_down(exc) from None
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def clear(self, limit: Limit, *key: str) -> None:
        """Forget every hit counted for this key."""
        try:
            await self.strategy.clear(limit.item, *self._identifiers(limit, key))
        except StorageError as exc:
            raise self._storage_down(exc) from None

    async def reset(self) -> None:
        """Forget every counter of the storage (tests and measurements); on a shared Redis,
        that is every instance's counters."""
        await self.strategy.storage.reset()

    @staticmethod
    def refusal(limit: Limit, retry_after: int) -> TooManyRequests:
        """Build the 429 for a spent limit: which limit, and when to come back."""
        return TooManyRequests(
            f"Too many {limit.counts} ({limit.describe()}); try again in {_wait(retry_after)}.",
            retry_after=retry_after,
        )

    @staticmethod
    def _storage_down(exc: Exception) -> ServiceUnavailable:
        # Closed, not open: letting everything through while the counters are away would lift
        # the sign-in limits exactly when nobody is watching them.
        log.error("rate-limit storage unavailable", extra={"error": str(exc)})
        return ServiceUnavailable(
            "The server cannot check its rate limits right now; try again in a minute.",
            retry_after=30,
        )
