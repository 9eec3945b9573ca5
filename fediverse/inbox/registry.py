"""Inbound dispatch: handlers keyed by (activity type, object type).

A handler registered for `ANY` object type catches activities whose object is a bare IRI or of a
type nobody registered specifically. Registering the same key twice raises: two handlers for one
activity is always a bug. No handler is an explicit outcome (`unsupported`), never an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fediverse.activitypub.parse import ActivityDoc
from fediverse.services.context import Context
from fediverse.store.tables import Actor

ANY = "*"


class Ignored(Exception):
    """Raise from a handler when the activity is understood but changes nothing here."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(Exception):
    """Raise from a handler when a transient problem (a remote fetch) should be retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Delivered:
    """What a handler gets: the instance, the verified activity and its (verified) actor."""

    ctx: Context
    activity: ActivityDoc
    actor: Actor
    recipient_id: int | None


Handler = Callable[[Delivered], Awaitable[None]]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}

    def add(self, activity_type: str, object_types: Iterable[str], handler: Handler) -> None:
        for object_type in object_types:
            key = (activity_type, object_type)
            if key in self._handlers:
                raise ValueError(f"a handler for {key} is already registered")
            self._handlers[key] = handler

    def on(self, activity_type: str, *object_types: str) -> Callable[[Handler], Handler]:
        """Register the decorated handler for these object types (default: any)."""

        def decorate(handler: Handler) -> Handler:
            self.add(activity_type, object_types or (ANY,), handler)
            return handler

        return decorate

    def find(self, activity_type: str, object_type: str | None) -> Handler | None:
        if object_type is not None and (activity_type, object_type) in self._handlers:
            return self._handlers[(activity_type, object_type)]
        return self._handlers.get((activity_type, ANY))

    def keys(self) -> list[tuple[str, str]]:
        return sorted(self._handlers)
