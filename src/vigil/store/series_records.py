"""Series points as both stores keep them: ``(timestamp_us, value, support, stderr)`` tuples,
NaN as ``None``, built from and into :class:`~vigil.stats.series.Series` by whole NumPy columns.

Apart from :mod:`vigil.store.records` so that opening a store does not load NumPy and the stats
stage; the series stores import this module when they first read or write a point.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from vigil.core import SeriesKey
from vigil.stats.series import Series
from vigil.store.records import SeriesPoint


def series_from_points(
    key: SeriesKey, points: Sequence[tuple[int, float | None, float | None, float | None]]
) -> Series:
    """Build a :class:`Series` from ``(timestamp_us, value, support, stderr)`` points in time
    order.

    Missing values come back as NaN; ``support`` (``stderr``) is ``None`` when no point has one.
    """
    stamps = np.array([point[0] for point in points], dtype=np.int64).astype("datetime64[us]")
    values = np.array([np.nan if p[1] is None else p[1] for p in points], dtype=np.float64)
    return Series(
        key=key,
        timestamps=stamps.astype("datetime64[s]"),
        values=values,
        support=_optional(points, 2),
        stderr=_optional(points, 3),
    )


def _optional(
    points: Sequence[tuple[int, float | None, float | None, float | None]], column: int
) -> npt.NDArray[np.float64] | None:
    """One optional column of stored points: NaN where a point has none, None when none has."""
    if all(point[column] is None for point in points):
        return None
    found = [np.nan if p[column] is None else p[column] for p in points]
    return np.array(found, dtype=np.float64)


def series_points(series: Iterable[Series]) -> list[SeriesPoint]:
    """One tuple per point (see :data:`SERIES_COLUMNS`), NaN as ``None``, one per key and time.

    Built from whole numpy columns rather than per-point conversions: the stats stage writes
    hundreds of thousands of points at a time. When one key comes twice, its later points win.
    The points come in the table's key order (series key, then time): SQLite inserts them at
    the end of its key index instead of all over it (1.49M points: 4.85 -> 4.48 CPU s).
    """
    by_key: dict[SeriesKey, list[SeriesPoint]] = {}
    for one in series:
        key = one.key
        names = (key.model, key.version, key.family, key.column, key.statistic)
        stamps = one.timestamps.astype("datetime64[us]").astype(np.int64).tolist()
        values = _nullable(one.values)
        supports = [None] * len(one) if one.support is None else _nullable(one.support)
        errors = [None] * len(one) if one.stderr is None else _nullable(one.stderr)
        points = [(*names, *point) for point in zip(stamps, values, supports, errors, strict=True)]
        if key in by_key:
            merged = {point[5]: point for point in (*by_key[key], *points)}
            points = [merged[stamp] for stamp in sorted(merged)]
        by_key[key] = points
    return [point for key in sorted(by_key) for point in by_key[key]]


def _nullable(values: npt.NDArray[np.float64]) -> list[float | None]:
    objects = values.astype(object)
    objects[np.isnan(values)] = None
    return list(objects.tolist())
