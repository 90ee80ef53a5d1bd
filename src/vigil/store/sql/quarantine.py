"""Quarantined rows in SQL: appended with their reasons, counted per model and window."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from vigil.core import Window
from vigil.store.records import from_us, sort_quarantine_counts, storable_text, to_us
from vigil.store.sql import tables
from vigil.store.sql.database import BATCH_ROWS, Database
from vigil.store.values import QuarantineCount

if TYPE_CHECKING:
    from vigil.ingest import QuarantinedRow


class SqlQuarantine:
    """The :class:`~vigil.store.QuarantineStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(
        self, rows: Iterable[QuarantinedRow], *, now: datetime, window: Window | None = None
    ) -> int:
        ingested_at_us = to_us(now)
        window_start_us = None if window is None else to_us(window.start)
        values = [
            {
                "source": storable_text(row.source),
                "position": row.position,
                "reason": storable_text(row.reason),
                "raw": storable_text(row.raw),
                "model": storable_text(row.model or ""),
                "window_start_us": window_start_us,
                "ingested_at_us": ingested_at_us,
            }
            for row in rows
        ]
        if values:
            with self._database.transaction() as connection:
                for offset in range(0, len(values), BATCH_ROWS):
                    batch = values[offset : offset + BATCH_ROWS]
                    connection.execute(sa.insert(tables.quarantine), batch)
        return len(values)

    def delete(self, sources: Sequence[str]) -> int:
        if not sources:
            return 0
        table = tables.quarantine
        with self._database.transaction() as connection:
            result = connection.execute(sa.delete(table).where(table.c.source.in_(list(sources))))
        return int(result.rowcount)

    def get(self, *, model: str | None = None, limit: int = 1000) -> list[QuarantinedRow]:
        from vigil.ingest import QuarantinedRow  # ingest's validation loads only when rows are read

        table = tables.quarantine
        query = sa.select(table).order_by(table.c.id).limit(limit)
        if model is not None:
            query = query.where(table.c.model == model)
        return [
            QuarantinedRow(
                source=row["source"],
                position=None if row["position"] is None else int(row["position"]),
                reason=row["reason"],
                raw=row["raw"],
                model=row["model"] or None,
            )
            for row in self._database.rows(query)
        ]

    def counts(
        self, *, model: str | None = None, since: datetime | None = None
    ) -> list[QuarantineCount]:
        table = tables.quarantine
        query = sa.select(table.c.model, table.c.window_start_us, sa.func.count()).group_by(
            table.c.model, table.c.window_start_us
        )
        if model is not None:
            query = query.where(table.c.model == model)
        if since is not None:
            query = query.where(table.c.window_start_us >= to_us(since))
        with self._database.transaction() as connection:
            result = connection.execute(query).all()
        return sort_quarantine_counts(
            QuarantineCount(
                model=str(row_model),
                window_start=None if start_us is None else from_us(start_us),
                rows=int(count),
            )
            for row_model, start_us, count in result
        )
