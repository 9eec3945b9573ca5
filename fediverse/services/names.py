"""Rules for local user and group names (one shared name space)."""

from __future__ import annotations

import re

from fediverse.errors import Unprocessable

MAX_NAME_LENGTH = 30
# Mastodon's rule: letters, digits and underscores, with dots and dashes allowed inside.
_NAME_PATTERN = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$")

# Names that would shadow a route, impersonate staff or confuse people reading a handle.
RESERVED_NAMES = frozenset(
    {
        "about",
        "abuse",
        "account",
        "accounts",
        "activities",
        "actor",
        "admin",
        "administrator",
        "api",
        "apps",
        "auth",
        "collections",
        "contact",
        "events",
        "everyone",
        "explore",
        "groups",
        "help",
        "hostmaster",
        "inbox",
        "info",
        "instance",
        "instance.actor",
        "login",
        "logout",
        "media",
        "mod",
        "moderator",
        "moderators",
        "nodeinfo",
        "noreply",
        "oauth",
        "objects",
        "outbox",
        "postmaster",
        "privacy",
        "register",
        "registration",
        "root",
        "search",
        "security",
        "settings",
        "signin",
        "signout",
        "signup",
        "static",
        "staff",
        "support",
        "system",
        "tags",
        "terms",
        "users",
        "webmaster",
        "well-known",
        "www",
    }
)


def check_local_name(name: str, *, what: str = "username") -> str:
    """Return `name` if it may be used for a new local user or group, else raise Unprocessable."""
    if not name:
        raise Unprocessable(f"The {what} is empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise Unprocessable(f"The {what} is longer than {MAX_NAME_LENGTH} characters.")
    if name != name.lower() and _NAME_PATTERN.match(name.lower()):
        raise Unprocessable(f"The {what} must be lowercase: try {name.lower()!r}.")
    if not _NAME_PATTERN.match(name):
        raise Unprocessable(
            f"The {what} {name!r} may contain only lowercase letters, digits and underscores, "
            "with dots and dashes allowed between them."
        )
    if name in RESERVED_NAMES:
        raise Unprocessable(f"The {what} {name!r} is reserved; choose another.")
    return name
