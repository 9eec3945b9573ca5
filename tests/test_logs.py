"""Our log records can be written by any handler, even when they carry remote surrogates."""

from __future__ import annotations

import io
import logging

from fediverse.logs import install_printable_records, printable


def test_a_record_with_a_lone_surrogate_is_written_escaped() -> None:
    install_printable_records()
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("fediverse.tests.logs")
    logger.addHandler(handler)
    errors: list[BaseException] = []
    handler.handleError = lambda record: errors.append(RuntimeError(record.getMessage()))  # type: ignore[method-assign]
    try:
        try:
            raise ValueError("bad id \ud800")
        except ValueError:
            logger.exception("refused %s", "https://x.example/\udfff")
        handler.flush()
    finally:
        logger.removeHandler(handler)
    assert errors == []
    stream.seek(0)
    written = stream.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
    assert "refused https://x.example/\\udfff" in written
    assert "ValueError: bad id \\ud800" in written


def test_printable_text_is_left_as_it_is() -> None:
    text = "café ✓"
    assert printable(text) is text
