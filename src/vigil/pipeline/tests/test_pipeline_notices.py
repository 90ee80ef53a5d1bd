"""Notices: what a run cannot see or vouch for is said, on both sides of each rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import ALL_VERSIONS, SeriesKey
from vigil.pipeline.notices import model_notices
from vigil.stats import Series

START = datetime(2026, 3, 2, tzinfo=UTC)
HOURS = 24 * 10
STAMPS = np.datetime64("2026-03-02T00:00", "s") + np.arange(HOURS) * np.timedelta64(3600, "s")
END = START + timedelta(hours=HOURS)
WEEK = timedelta(days=7)


def _series(family: str, statistic: str, values: np.ndarray, version: str = ALL_VERSIONS) -> Series:
    column = "" if family == "auxiliary" else "age"
    key = SeriesKey(model="m", version=version, family=family, column=column, statistic=statistic)
    return Series(key=key, timestamps=STAMPS, values=values.astype(np.float64))


def _healthy(requests: float = 100.0) -> list[Series]:
    full = np.full(HOURS, 1.0)
    return [
        _series("auxiliary", "rows", full * 100),
        _series("auxiliary", "requests", full * requests),
        _series("feature", "coverage", full, version="v1"),
        _series("output", "coverage", full, version="v1"),
    ]


def _notices(series: list[Series], **extra: object) -> tuple[str, ...]:
    return model_notices(series, start=END - timedelta(days=1), end=END, history=WEEK, **extra)  # type: ignore[arg-type]


def test_a_healthy_model_with_a_long_history_has_nothing_to_say() -> None:
    assert _notices(_healthy()) == ()


def test_rows_that_count_no_request_are_said() -> None:
    (notice,) = _notices(_healthy(requests=0.0))
    assert notice.startswith("2,400 rows but no requests")


def test_a_family_with_no_values_is_said_and_one_never_logged_too() -> None:
    series = _healthy()
    series[2] = _series("feature", "coverage", np.full(HOURS, np.nan), version="v1")
    assert any("no feature values in this period" in n for n in _notices(series))
    assert any("no outputs logged" in n for n in _notices(series[:3]))


def test_a_history_shorter_than_the_watch_learns_from_is_said() -> None:
    young = _healthy()
    young[0] = _series(
        "auxiliary", "rows", np.where(np.arange(HOURS) >= HOURS - 24 * 7 + 1, 100.0, np.nan)
    )
    (notice,) = _notices(young)
    assert "(since 2026-03-05 01:00), less than the 7 the watch learns from" in notice
    exactly = _healthy()
    exactly[0] = _series(
        "auxiliary", "rows", np.where(np.arange(HOURS) >= HOURS - 24 * 7, 100.0, np.nan)
    )
    assert _notices(exactly) == ()
    newborn = _healthy()
    newborn[0] = _series(
        "auxiliary", "rows", np.where(np.arange(HOURS) >= HOURS - 30, 100.0, np.nan)
    )
    (notice,) = _notices(newborn)
    assert "only 1.2 days of history" in notice and "no incident yet means little" in notice


def test_quarantined_rows_are_counted_with_their_commonest_reasons() -> None:
    (notice,) = _notices(
        _healthy(), quarantined=321, reasons=(("missing field 'model'", 300), ("x", 21))
    )
    assert notice == "321 rows quarantined, mostly: missing field 'model' (300); x (21)"
