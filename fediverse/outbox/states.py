"""The delivery state graph."""

from __future__ import annotations

from fediverse.jobs.graph import State, StateGraph


class DeliveryStates(StateGraph):
    """One activity to one inbox.

    queued → sent (2xx) | gone (404/410: the recipient no longer exists) | dropped (other 4xx,
    or refused before sending) | failed (still failing when the retry horizon ran out).
    Retries stay in `queued` with a later `next_attempt_at`.
    """

    queued = State(initial=True, next=("sent", "gone", "dropped", "failed"))
    sent = State()
    gone = State()
    dropped = State()
    failed = State()
