"""Decode JSON from other servers into values every later step, and both stores, can hold.

`json.loads` accepts things nothing after it can use: an unpaired UTF-16 surrogate (from a
`\\ud800` escape, or raw surrogate bytes, which it decodes with `surrogatepass`) cannot be
encoded as UTF-8, so SQLite's driver, PostgreSQL and every log line choke on it; PostgreSQL also
refuses NUL characters in text and JSON. And it recurses: a body of 100,000 `[` raises
RecursionError. This is the one place remote JSON bytes become Python values (inbox POSTs and
fetched documents), so each of these is refused here, with a reason, before anything is stored.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["MAX_JSON_DEPTH", "DecodeError", "check_json_value", "decode_json"]

# No ActivityStreams document needs more; parse.py holds documents to the same depth.
MAX_JSON_DEPTH: Final = 32

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class DecodeError(ValueError):
    """Refuse a JSON body we cannot use; the message says why and is safe to show."""


def decode_json(body: bytes) -> Any:
    """Parse a JSON body, refusing bad JSON, deep nesting and characters no store can hold."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise DecodeError(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # includes UnicodeDecodeError
        raise DecodeError("the body is not valid JSON") from None
    # Only escapes (`\u....`) and non-ASCII bytes can produce a surrogate or a NUL: plain
    # ASCII bodies, most of them, skip the string scan.
    check_json_value(value, check_strings=b"\\u" in body or not body.isascii())
    return value


def check_json_value(value: Any, *, check_strings: bool = True) -> None:
    """Raise DecodeError if a decoded value nests too deep or holds an unstorable character."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > MAX_JSON_DEPTH:
                raise DecodeError(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
            for key, child in node.items():
                if check_strings:
                    _check_string(key, "a key")
                stack.append((child, depth + 1))
        elif isinstance(node, list):
            if depth > MAX_JSON_DEPTH:
                raise DecodeError(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
            stack.extend((child, depth + 1) for child in node)
        elif check_strings and isinstance(node, str):
            _check_string(node, "a value")


def _check_string(text: str, where: str) -> None:
    match = _UNSTORABLE.search(text)
    if match is None:
        return
    found = "a NUL character" if match.group() == "\x00" else "an unpaired UTF-16 surrogate"
    raise DecodeError(
        f"{where} contains {found} (U+{ord(match.group()):04X}), a character that cannot be "
        "stored; send valid UTF-8 text"
    )
