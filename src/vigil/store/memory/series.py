"""Series points in memory, as the same tuples the database rows hold."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import groupby

from vigil.stats.series import Series
from vigil.store.records import SeriesPoint, series_key, to_us
from vigil.store.series_records import series_from_points, series_points


class MemorySeries:
    """The :class:`~vigil.store.SeriesStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._points: dict[tuple[str, str, str, str, str, int], SeriesPoint] = {}

    def put(self, series: Iterable[Series]) -> int:
        points = series_points(series)
        self._points.update((point[:6], point) for point in points)
        return len(points)

    def get(
        self,
        *,
        model: str,
        version: str | None = None,
        family: str | None = None,
        since: datetime | None = None,
    ) -> list[Series]:
        since_us = None if since is None else to_us(since)
        selected = sorted(
            key
            for key in self._points
            if key[0] == model
            and (version is None or key[1] == version)
            and (family is None or key[2] == family)
            and (since_us is None or key[5] >= since_us)
        )
        return [
            series_from_points(
                series_key(parts),
                [(key[5], *self._points[key][6:9]) for key in keys],
            )
            for parts, keys in groupby(selected, key=lambda key: key[:5])
        ]
