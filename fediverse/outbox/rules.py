"""One table that classifies every delivery answer; no scattered `if`s.

Rules are tried in order; the first that matches decides. `PostResult` comes from
`activitypub.client`, which has already retried a 401 once with the other signature scheme.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import Enum

from fediverse.activitypub.client import PostResult
from fediverse.store.types import utcnow


class Verdict(Enum):
    SENT = "sent"
    WAIT = "wait"  # the host asked us to slow down: retry after Retry-After
    BACKOFF = "backoff"  # transient failure: retry with exponential backoff
    GONE = "gone"  # the inbox's owner is gone: stop, prune the follower
    DROP = "drop"  # the host refuses this activity for good: stop, keep the reason


@dataclass(frozen=True)
class Rule:
    description: str
    matches: Callable[[PostResult], bool]
    verdict: Verdict


def _status_in(*statuses: int) -> Callable[[PostResult], bool]:
    return lambda result: result.status in statuses


RULES: tuple[Rule, ...] = (
    Rule("2xx: accepted", lambda r: r.status is not None and 200 <= r.status < 300, Verdict.SENT),
    Rule(
        "refused before sending (private address, bad URL)",
        lambda r: r.error_kind == "blocked",
        Verdict.DROP,
    ),
    Rule("429/503: rate limited or overloaded", _status_in(429, 503), Verdict.WAIT),
    Rule(
        "401 with both signature schemes: key not yet fetchable, retry later",
        _status_in(401),
        Verdict.BACKOFF,
    ),
    Rule("404/410: recipient gone", _status_in(404, 410), Verdict.GONE),
    Rule("408: request timeout", _status_in(408), Verdict.BACKOFF),
    Rule(
        "other 4xx: refused for good",
        lambda r: r.status is not None and 400 <= r.status < 500,
        Verdict.DROP,
    ),
    Rule("5xx, timeouts, connection errors", lambda r: True, Verdict.BACKOFF),
)


def classify(result: PostResult) -> tuple[Verdict, str]:
    """Return the verdict for one answer and the rule that gave it."""
    for rule in RULES:
        if rule.matches(result):
            return rule.verdict, rule.description
    raise AssertionError("the last rule matches everything")


MAX_RETRY_AFTER = timedelta(hours=6)


def retry_after(result: PostResult, *, now: datetime | None = None) -> datetime | None:
    """Return when a Retry-After header (seconds or HTTP date) says to come back, capped."""
    raw = result.headers.get("retry-after")
    if not raw:
        return None
    now = now or utcnow()
    raw = raw.strip()
    if raw.isdigit():
        wait = timedelta(seconds=int(raw))
    else:
        try:
            wait = parsedate_to_datetime(raw) - now
        except (TypeError, ValueError):
            return None
    return now + max(timedelta(seconds=1), min(wait, MAX_RETRY_AFTER))
