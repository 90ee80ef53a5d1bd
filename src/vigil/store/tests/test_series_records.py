"""Series points as the stores write them: one tuple per point, in the table's key order."""

from __future__ import annotations

import numpy as np

from vigil.core import SeriesKey
from vigil.stats.series import Series
from vigil.store.series_records import series_points


def _series(statistic: str, column: str, hours: list[int], values: list[float]) -> Series:
    return Series(
        key=SeriesKey(model="m", version="v", family="feature", column=column, statistic=statistic),
        timestamps=np.array(hours, dtype="datetime64[h]").astype("datetime64[s]"),
        values=np.array(values),
    )


def test_points_come_in_key_order_and_a_later_key_wins() -> None:
    """Written in the table's primary-key order (series key, then time), so SQLite appends to
    its index; a key given twice keeps its later points, merged in time."""
    given = [
        _series("p50", "b", [3, 4], [1.0, 2.0]),
        _series("mean", "b", [5], [np.nan]),
        _series("p50", "a", [1], [3.0]),
        _series("p50", "b", [4, 6], [9.0, 8.0]),
    ]
    points = series_points(given)
    assert [p[:6] for p in points] == sorted(p[:6] for p in points)
    assert [(p[3], p[4], p[6]) for p in points] == [
        ("a", "p50", 3.0),
        ("b", "mean", None),
        ("b", "p50", 1.0),
        ("b", "p50", 9.0),
        ("b", "p50", 8.0),
    ]
