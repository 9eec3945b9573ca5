"""The inbox-item state graph."""

from __future__ import annotations

from fediverse.jobs.graph import State, StateGraph


class InboxStates(StateGraph):
    """A verified activity waiting to take effect.

    received → processed (its handler ran) | ignored (understood, nothing to do: e.g. a Like of
    something we never stored) | unsupported (no handler for this activity/object type) |
    failed (kept failing past the retry horizon). Transient failures stay in `received`.
    """

    received = State(initial=True, next=("processed", "ignored", "unsupported", "failed"))
    processed = State()
    ignored = State()
    unsupported = State()
    failed = State()
