"""Log records that every handler can write, whatever remote text they carry.

Remote servers send text with lone surrogates (`\\ud800`) that no UTF-8 stream can encode: a
record carrying one would make a file or terminal handler fail ("--- Logging error ---") and lose
the record. Our records are therefore made printable once, when they are created, so every
handler (a terminal, a file, a test's log capture) gets text it can write. A record factory does
it rather than a logger filter, because a filter on `fediverse` would not see the records of
`fediverse.inbox.job` and the other child loggers.
"""

from __future__ import annotations

import logging
from typing import Any

LOGGER_NAME = "fediverse"


def printable(text: str) -> str:
    """Return `text` with lone surrogates written as `\\udxxx` escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


class _PrintableFactory:
    """Wrap the process's record factory; escape our records' message and traceback."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.wrapped(*args, **kwargs)
        if record.name != LOGGER_NAME and not record.name.startswith(LOGGER_NAME + "."):
            return record
        message = record.getMessage()
        safe = printable(message)
        if safe is not message:
            record.msg, record.args = safe, None
        if record.exc_info:
            record.exc_text = printable(logging.Formatter().formatException(record.exc_info))
        return record


def install_printable_records() -> None:
    """Make every record of our loggers printable (idempotent; the composition root calls it)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _PrintableFactory):
        logging.setLogRecordFactory(_PrintableFactory(current))
