"""Retry timing: exponential backoff with jitter, bounded by a cap."""

from __future__ import annotations

import random
from datetime import timedelta


def backoff_delay(
    attempts: int,
    *,
    base: timedelta = timedelta(seconds=30),
    cap: timedelta = timedelta(hours=6),
    jitter: float = 0.25,
) -> timedelta:
    """Return how long to wait before attempt number `attempts + 1`.

    30 s, 1 min, 2 min ... doubling up to `cap`; ± `jitter` spreads retries so that a host that
    comes back is not hit by every queued delivery in the same second.
    """
    exponent = max(0, min(attempts - 1, 30))
    delay = min(base.total_seconds() * (2**exponent), cap.total_seconds())
    spread = delay * jitter
    return timedelta(seconds=max(1.0, delay + random.uniform(-spread, spread)))
