"""Run records in SQL: one row per (stage, model, window), replaced by every new attempt."""

from __future__ import annotations

import sqlalchemy as sa

from vigil.core import Window
from vigil.store.records import from_us, to_us
from vigil.store.sql import tables
from vigil.store.sql.database import Database
from vigil.store.values import Run, RunStatus

_KEY = ("stage", "model", "window_start_us", "window_end_us")


class SqlRuns:
    """The :class:`~vigil.store.RunStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(self, run: Run) -> None:
        row = {
            "stage": run.stage,
            "model": run.model,
            "window_start_us": to_us(run.window.start),
            "window_end_us": to_us(run.window.end),
            "status": run.status.value,
            "started_at_us": to_us(run.started_at),
            "finished_at_us": None if run.finished_at is None else to_us(run.finished_at),
            "rows_read": run.rows_read,
            "rows_profiled": run.rows_profiled,
            "rows_quarantined": run.rows_quarantined,
            "message": run.message,
        }
        with self._database.transaction() as connection:
            self._database.upsert(connection, tables.runs, [row], _KEY)

    def get(self, *, stage: str | None = None, status: RunStatus | None = None) -> list[Run]:
        table = tables.runs
        query = sa.select(table).order_by(
            table.c.window_start_us, table.c.window_end_us, table.c.stage, table.c.model
        )
        if stage is not None:
            query = query.where(table.c.stage == stage)
        if status is not None:
            query = query.where(table.c.status == status.value)
        return [
            Run(
                stage=row["stage"],
                model=row["model"],
                window=Window(
                    start=from_us(row["window_start_us"]), end=from_us(row["window_end_us"])
                ),
                status=RunStatus(row["status"]),
                started_at=from_us(row["started_at_us"]),
                finished_at=None
                if row["finished_at_us"] is None
                else from_us(row["finished_at_us"]),
                rows_read=int(row["rows_read"]),
                rows_profiled=int(row["rows_profiled"]),
                rows_quarantined=int(row["rows_quarantined"]),
                message=row["message"],
            )
            for row in self._database.rows(query)
        ]
