"""Request parameters as Mastodon clients send them: query string, form or JSON body.

Clients mix all three (Mastodon.py posts forms, web clients post JSON), spell arrays `ids[]` or
`ids`, and booleans `true`, `1` or JSON `true`. `Params` reads them all the same way.
"""

from __future__ import annotations

from typing import Any

from quart import request

from fediverse.errors import NotFound, Unprocessable

TRUE_WORDS = frozenset({"1", "true", "on", "yes", "t"})
FALSE_WORDS = frozenset({"0", "false", "off", "no", "f", ""})


class Params:
    """Parameters of one request, JSON body first, then form, then query string."""

    def __init__(self, values: dict[str, list[Any]]) -> None:
        self._values = values

    def raw(self, name: str) -> Any:
        found = self._values.get(name)
        return found[0] if found else None

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            raise Unprocessable(f"{name} must be a string.")
        return str(value)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise Unprocessable(f"{name} must be true or false.")

    def integer(self, name: str) -> int | None:
        """Return an integer parameter; absent or malformed values count as absent."""
        value = self.raw(name)
        if isinstance(value, bool) or value is None:
            return None
        text = str(value).strip()
        if not text.isdigit() or len(text) > 19:
            return None
        return int(text)

    def strings(self, name: str) -> list[str]:
        """Return every value of an array parameter (`name[]` or repeated `name`)."""
        out: list[str] = []
        for value in self._values.get(name, []):
            items = value if isinstance(value, list) else [value]
            out.extend(str(item) for item in items if item is not None)
        return out


def _add(values: dict[str, list[Any]], key: str, items: list[Any]) -> None:
    name = key[:-2] if key.endswith("[]") else key
    values.setdefault(name, []).extend(items)


async def read_params() -> Params:
    """Collect the request's parameters; the body wins over the query string."""
    layers: list[dict[str, list[Any]]] = []
    body = await request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        layer: dict[str, list[Any]] = {}
        for key, value in body.items():
            _add(layer, str(key), value if isinstance(value, list) else [value])
        layers.append(layer)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not request.is_json:
        form = await request.form
        layer = {}
        for key in form:
            _add(layer, key, form.getlist(key))
        layers.append(layer)
    query: dict[str, list[Any]] = {}
    for key in request.args:
        _add(query, key, request.args.getlist(key))
    layers.append(query)
    merged: dict[str, list[Any]] = {}
    for layer in layers:
        for key, items in layer.items():
            merged.setdefault(key, items)
    return Params(merged)


def id_param(value: str) -> int:
    """Turn an id from a URL path into an int; anything else is Not Found (ids are numbers)."""
    if not value.isdigit() or len(value) > 19:
        raise NotFound(f"Nothing has the id {value!r}.")
    return int(value)
