"""Content negotiation between ActivityStreams JSON and HTML for the same URL."""

from __future__ import annotations

_ACTIVITY_TYPES = ("application/activity+json", "application/ld+json")


def _parse_accept(accept: str) -> list[tuple[str, float, str]]:
    """Return (media type, quality, parameters) for each entry of an Accept header."""
    entries = []
    for raw in accept.split(","):
        media_type, _, rest = raw.strip().partition(";")
        quality = 1.0
        params = rest.lower()
        for param in rest.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        entries.append((media_type.strip().lower(), quality, params))
    return entries


def wants_activity_json(accept: str | None) -> bool:
    """Tell whether a client prefers ActivityStreams JSON over HTML.

    `application/ld+json` counts only with the ActivityStreams profile or without any profile,
    as the ActivityPub spec asks (§3.2). Ties go to ActivityStreams: a client that names it at
    all is a federating server, and browsers never do.
    """
    if not accept:
        return False
    best_activity = 0.0
    best_html = 0.0
    for media_type, quality, params in _parse_accept(accept):
        if media_type in _ACTIVITY_TYPES:
            if (
                media_type == "application/ld+json"
                and "profile" in params
                and ("activitystreams" not in params)
            ):
                continue
            best_activity = max(best_activity, quality)
        elif media_type in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, quality)
    return best_activity > 0 and best_activity >= best_html
