"""Series points in SQL: one row per (series key, timestamp), written by the bulk tuple path."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import groupby
from typing import TYPE_CHECKING

import sqlalchemy as sa

from vigil.store.records import SERIES_COLUMNS, series_key, to_us
from vigil.store.sql import tables
from vigil.store.sql.database import Database

if TYPE_CHECKING:
    from vigil.stats.series import Series

_SERIES_KEY = SERIES_COLUMNS[:5]


class SqlSeries:
    """The :class:`~vigil.store.SeriesStore` of a SQL database.

    Its conversions (:mod:`vigil.store.series_records`) load NumPy and the stats stage, so they
    are imported on first use: a command that opens the store without touching a series skips
    about 0.15 CPU s."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(self, series: Iterable[Series]) -> int:
        from vigil.store.series_records import series_points

        points = series_points(series)
        with self._database.transaction() as connection:
            self._database.upsert_tuples(
                connection, tables.series_points, SERIES_COLUMNS, points, SERIES_COLUMNS[:6]
            )
        return len(points)

    def get(
        self,
        *,
        model: str,
        version: str | None = None,
        family: str | None = None,
        since: datetime | None = None,
    ) -> list[Series]:
        from vigil.store.series_records import series_from_points

        table = tables.series_points
        key_columns = [table.c[name] for name in _SERIES_KEY]
        query = (
            sa.select(*key_columns, *(table.c[name] for name in SERIES_COLUMNS[5:]))
            .where(table.c.model == model)
            .order_by(*key_columns, table.c.timestamp_us)
        )
        if version is not None:
            query = query.where(table.c.version == version)
        if family is not None:
            query = query.where(table.c.family == family)
        if since is not None:
            query = query.where(table.c.timestamp_us >= to_us(since))
        with self._database.transaction() as connection:
            result = connection.execute(query).all()
        return [
            series_from_points(series_key(key), [tuple(row[5:]) for row in rows])
            for key, rows in groupby(result, key=lambda row: tuple(row[:5]))
        ]
