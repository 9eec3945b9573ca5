"""Rendering pages: templates to responses, and the small formatting filters they use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from quart import Response, render_template, request

from fediverse.store.types import utcnow


async def page(template: str, *, status: int = 200, **values: Any) -> Response:
    """Render a template as an HTML page.

    Pages carry CSRF tokens and private timelines, so no shared cache may keep them.
    """
    here = request.full_path.rstrip("?")
    body = await render_template(template, path=request.path, here=here, **values)
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept, Cookie"
    return response


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def ago(moment: datetime | None) -> str:
    """Say how long ago something happened, briefly ("5 min", "3 h", "12 Mar")."""
    if moment is None:
        return ""
    moment = _aware(moment)
    seconds = (utcnow() - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} d"
    if moment.year == utcnow().year:
        return f"{moment.day} {moment:%b}"
    return f"{moment.day} {moment:%b %Y}"


def when(moment: datetime | None) -> str:
    """Return a full, unambiguous date and time ("24 Nov 2025, 14:03 UTC")."""
    if moment is None:
        return ""
    moment = _aware(moment).astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def iso(moment: datetime | None) -> str:
    return _aware(moment).isoformat(timespec="seconds") if moment is not None else ""


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """Return "1 follower", "1,204 followers"."""
    word = singular if number == 1 else (plural or singular + "s")
    return f"{number:,} {word}"


FILTERS: dict[str, Callable[..., str]] = {
    "ago": ago,
    "when": when,
    "iso": iso,
    "counted": counted,
}
