"""Time-ordered 64-bit ids.

Layout (like Mastodon's snowflakes, which clients already page through with `max_id`/`min_id`):
the top 48 bits are milliseconds since the Unix epoch, the low 16 bits a per-millisecond
sequence. Ids therefore sort by creation time, fit a signed BIGINT until the year 10889, and a
timestamp converts to the smallest id of that millisecond for time-based pagination.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime

_SEQUENCE_BITS = 16
_SEQUENCE_MASK = (1 << _SEQUENCE_BITS) - 1

_lock = threading.Lock()
_last_ms = 0
_sequence = 0
_arrival = 0


def new_id() -> int:
    """Return a fresh id, strictly greater than any id this process returned before."""
    global _last_ms, _sequence
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            # A random start makes ids from several processes in one millisecond unlikely to
            # collide while keeping each process's ids ordered.
            _sequence = random.randrange(0, 1 << (_SEQUENCE_BITS - 1))
        else:
            _sequence += 1
            if _sequence > _SEQUENCE_MASK:
                # Sequence exhausted inside one millisecond (or the clock went back): borrow the
                # next millisecond so ordering is never violated.
                _last_ms += 1
                _sequence = 0
        return (_last_ms << _SEQUENCE_BITS) | _sequence


def id_to_datetime(value: int) -> datetime:
    """Return the creation time encoded in an id."""
    return datetime.fromtimestamp((value >> _SEQUENCE_BITS) / 1000, tz=UTC)


def id_from_datetime(moment: datetime) -> int:
    """Return the smallest id that could have been created at `moment`."""
    return int(moment.timestamp() * 1000) << _SEQUENCE_BITS


def id_at(moment: datetime) -> int:
    """Return an id for something created elsewhere at `moment` (never later than now).

    Remote posts get ids from their publication time, so timelines sort by when things were
    written rather than when they reached us; a date in the future is clamped to now.
    """
    now = datetime.now(UTC)
    moment = min(moment, now)
    # Low bits from this process's sequence: things written in the same millisecond (or the
    # same second, from servers that send whole seconds) keep the order they arrived in.
    global _arrival
    with _lock:
        _arrival = (_arrival + 1) & _SEQUENCE_MASK
        return id_from_datetime(moment) | _arrival
