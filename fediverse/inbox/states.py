"""The inbox-item state graph."""

from __future__ import annotations

from fediverse.jobs.graph import State, StateGraph

_OUTCOMES = ("processed", "ignored", "unsupported", "failed")


class InboxStates(StateGraph):
    """A verified activity waiting to take effect.

    received → processed (its handler ran) | ignored (understood, nothing to do: e.g. a Like of
    something we never stored, or a refusal by a service) | unsupported (no handler for this
    activity/object type) | retrying (an attempt failed: a remote fetch, or an unexpected error;
    tried again after a backoff) | failed (gave up: too many attempts, or past the retry
    horizon). Attempts are counted; see `fediverse.inbox.job` for the bounds.
    """

    received = State(initial=True, next=(*_OUTCOMES, "retrying"))
    retrying = State(next=_OUTCOMES)
    processed = State()
    ignored = State()
    unsupported = State()
    failed = State()
