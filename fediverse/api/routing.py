"""Blueprints for API routes that, like Mastodon's, answer with or without a trailing slash.

Clients rely on it: Mastodon.py asks for `/api/v1/instance/`, and Rails routes accept both.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint


class ApiBlueprint(Blueprint):
    """A Blueprint whose rules match `/path` and `/path/` alike (no redirect, no 404)."""

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Any = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        options.setdefault("strict_slashes", False)
        super().add_url_rule(
            rule,
            endpoint,
            view_func,
            provide_automatic_options=provide_automatic_options,
            **options,
        )
