"""Quarantined rows as text: the raw text kept with each row, and the file the CLI writes.

A quarantined row is only useful if a person can see what came in and replay it after a fix, so
each one keeps its raw text, truncated to :data:`RAW_LIMIT_BYTES` so one 100 MB line cannot blow
up a quarantine file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from vigil.ingest.limits import (
    DEFAULT_LIMITS,
    RowRules,
)
from vigil.ingest.validation import (
    timestamp_us,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RAW_LIMIT_BYTES = 4096
"""Raw text kept per quarantined row, in UTF-8 bytes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedRow:
    """A row that failed validation, kept with where it came from and why."""

    source: str
    """File path, endpoint or table name the row came from."""
    position: int | None
    """Line number (1-based) or row index within the source, when known."""
    reason: str
    """What was wrong, in words a person can act on (e.g. ``missing field 'model'``)."""
    raw: str
    """The row as it came (truncated to a few kB), so it can be inspected or replayed."""
    model: str | None = None
    """The row's model when it could be read, so quarantine rates can be kept per model."""


def truncate_raw(text: str) -> str:
    """``text`` cut to at most :data:`RAW_LIMIT_BYTES` UTF-8 bytes, never inside a character."""
    if len(text) <= RAW_LIMIT_BYTES // 4:
        return text
    encoded = text.encode("utf-8", errors="surrogatepass")
    if len(encoded) <= RAW_LIMIT_BYTES:
        return text
    return encoded[:RAW_LIMIT_BYTES].decode("utf-8", errors="ignore")


def raw_bytes_text(line: bytes) -> str:
    """Bytes as text for a person: invalid UTF-8 shown as ``\\xNN`` escapes, then truncated."""
    return truncate_raw(line[: RAW_LIMIT_BYTES * 4].decode("utf-8", errors="backslashreplace"))


def raw_record_text(record: object) -> str:
    """A record that arrived as a Python value, as JSON (or ``repr`` when it is not JSON)."""
    if isinstance(record, bytes):
        return raw_bytes_text(record)
    if isinstance(record, str):
        return truncate_raw(record)
    try:
        text = orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(record)
    return truncate_raw(text)


def write_quarantine(rows: Iterable[QuarantinedRow], path: str | os.PathLike[str]) -> int:
    """Append ``rows`` to the JSON-lines file at ``path``; returns how many were written.

    One object per line with ``source``, ``position``, ``reason``, ``raw`` and ``model``.
    Appending (not overwriting) lets a CLI run over many files collect one quarantine file.
    """
    written = 0
    with Path(path).open("ab") as out:
        for row in rows:
            out.write(
                orjson.dumps(
                    {
                        "source": row.source,
                        "position": row.position,
                        "reason": row.reason,
                        "raw": row.raw,
                        "model": row.model,
                    }
                )
            )
            out.write(b"\n")
            written += 1
    return written


_PARTITION_DATE = re.compile(r"(?:^|[/\\])date=(\d{4}-\d{2}-\d{2})(?=[/\\])")
_PARTITION_HOUR = re.compile(r"(?:^|[/\\])hour=(\d{1,2})(?=[/\\])")


_ANY_PLAUSIBLE = DEFAULT_LIMITS.rules(None)


def quarantined_at(row: QuarantinedRow, rules: RowRules = _ANY_PLAUSIBLE) -> datetime | None:
    """When a quarantined row belongs, for per-window quarantine rates, or ``None``.

    The row's own timestamp when its raw text is a JSON object with one that is plausible by
    ``rules`` (most rows are refused for something else; one refused for its time is not filed
    at that time, which may not even fit a window); otherwise the hour of the Hive partition
    it was written to (``date=…/hour=…``, the SDK's and the ingest server's layout: arrival
    time, close to event time for live traffic). A row with neither is still stored and
    counted per model, just not per window.
    """
    try:
        record = orjson.loads(row.raw)
    except orjson.JSONDecodeError:
        record = None
    if isinstance(record, dict):
        micros = timestamp_us(record.get("timestamp"), rules)
        if isinstance(micros, int):
            return _EPOCH + timedelta(microseconds=micros)
    date = _PARTITION_DATE.search(row.source)
    hour = _PARTITION_HOUR.search(row.source)
    if date is None or hour is None or int(hour.group(1)) > 23:
        return None
    try:
        day = datetime.strptime(date.group(1), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return day + timedelta(hours=int(hour.group(1)))
