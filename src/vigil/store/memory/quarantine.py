"""Quarantined rows in memory, in the order they came, each with its window start."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from vigil.core import Window, ensure_utc
from vigil.ingest import QuarantinedRow
from vigil.store.records import sort_quarantine_counts, storable_text
from vigil.store.values import QuarantineCount


class MemoryQuarantine:
    """The :class:`~vigil.store.QuarantineStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._rows: list[tuple[QuarantinedRow, datetime | None]] = []

    def put(
        self, rows: Iterable[QuarantinedRow], *, now: datetime, window: Window | None = None
    ) -> int:
        ensure_utc(now)
        start = None if window is None else window.start
        added = [(_storable(row), start) for row in rows]
        self._rows.extend(added)
        return len(added)

    def delete(self, sources: Sequence[str]) -> int:
        wanted = set(sources)
        kept = [entry for entry in self._rows if entry[0].source not in wanted]
        deleted = len(self._rows) - len(kept)
        self._rows = kept
        return deleted

    def get(self, *, model: str | None = None, limit: int = 1000) -> list[QuarantinedRow]:
        rows = [row for row, _ in self._rows if model is None or (row.model or "") == model]
        return rows[:limit]

    def counts(
        self, *, model: str | None = None, since: datetime | None = None
    ) -> list[QuarantineCount]:
        since = None if since is None else ensure_utc(since)
        counts = Counter(
            (row.model or "", start)
            for row, start in self._rows
            if (model is None or (row.model or "") == model)
            and (since is None or (start is not None and start >= since))
        )
        return sort_quarantine_counts(
            QuarantineCount(model=key[0], window_start=key[1], rows=rows)
            for key, rows in counts.items()
        )


def _storable(row: QuarantinedRow) -> QuarantinedRow:
    """The row as the database would keep it (see :func:`storable_text`)."""
    return replace(
        row,
        source=storable_text(row.source),
        reason=storable_text(row.reason),
        raw=storable_text(row.raw),
        model=storable_text(row.model) if row.model else None,
    )
