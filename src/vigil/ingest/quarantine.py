"""Quarantined rows as text: the raw text kept with each row, and the file the CLI writes.

A quarantined row is only useful if a person can see what came in and replay it after a fix, so
each one keeps its raw text, truncated to :data:`RAW_LIMIT_BYTES` so one 100 MB line cannot blow
up a quarantine file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import orjson

from vigil.ingest.batch import QuarantinedRow

RAW_LIMIT_BYTES = 4096
"""Raw text kept per quarantined row, in UTF-8 bytes."""


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
