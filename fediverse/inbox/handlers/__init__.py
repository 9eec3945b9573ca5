"""Inbound handlers, one module per activity family; `build_registry` wires them all."""

from __future__ import annotations

from fediverse.inbox.handlers import actors, follows, ignored, interactions, posts
from fediverse.inbox.registry import HandlerRegistry


def build_registry() -> HandlerRegistry:
    """Return a registry with every handler family registered."""
    registry = HandlerRegistry()
    for family in (follows, actors, posts, interactions, ignored):
        family.register(registry)
    return registry
