"""Quiet gaps (``ConsensusSettings(quiet_gaps=True)``): a rate on a few rows an hour has no
value when no row comes, and a weekend without rows is a gap longer than any weekday night's. A
gap whose steps had no rows is no rarer than no row arriving, Poisson at the most lenient of the
rows the same time yesterday, the same time last week and the steps before the gap had: the
second weekend is routine, a feed dying at a busy hour is not, and a gap whose rows are unknown,
or a series without sample sizes, keeps its evidence."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.core import SeriesKey
from vigil.detect import ConsensusDetector, ConsensusSettings
from vigil.detect.runs import empty_steps_probability, event_runs
from vigil.stats import Series

ON = ConsensusSettings(quiet_gaps=True)
OFF = ConsensusSettings(quiet_gaps=False)
DAY = 24  # hourly steps
START = np.datetime64("2024-01-01T00:00:00")  # a Monday


def null_rate(seed: int, weeks: int = 4) -> Series:
    """Hourly null rate (5% of rows) on 40 rows an hour from 8:00 to 18:00 on weekdays, 4 at
    night, and on weekends one row at noon and none otherwise (gaps of 11 and 23 hours)."""
    rng = np.random.default_rng(seed)
    steps = np.arange(DAY * 7 * weeks)
    hour = steps % DAY
    weekend = (steps // DAY) % 7 >= 5
    n = np.where((hour >= 8) & (hour < 18), 40.0, 4.0)
    n = np.where(weekend, np.where(hour == 12, 1.0, 0.0), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(n > 0, rng.binomial(n.astype(np.int64), 0.05) / n, np.nan)
    key = SeriesKey(model="m", version="", family="", column="c", statistic="null_rate")
    stamps = START + steps * np.timedelta64(3600, "s")
    return Series(key=key, timestamps=stamps, values=values, support=n)


def saturday(week: int) -> int:
    return DAY * (7 * week + 5)


def test_a_weekend_gap_is_routine_once_last_week_had_no_rows_and_news_the_first_time() -> None:
    series = null_rate(0)
    chance = empty_steps_probability(series)
    assert chance is not None
    first, second = saturday(0) + 11, saturday(1) + 11  # Saturday 11:00
    assert np.isnan(series.values[first]) and np.isnan(series.values[second])
    # Friday had 4 to 40 rows an hour, and so had the 24 hours before the gap.
    assert chance[first] < 1e-10
    assert chance[second] == 1.0  # last Saturday had none


def test_a_busy_hour_without_rows_is_news() -> None:
    """Tuesday of week 3, 10:00 to 13:00 without rows: yesterday and last week had about 40 an
    hour, the hours before too."""
    series = null_rate(1)
    at = DAY * (7 * 2 + 1) + 10
    support = series.support.copy()  # type: ignore[union-attr]
    values = series.values.copy()
    support[at : at + 3] = 0.0
    values[at : at + 3] = np.nan
    cut = Series(key=series.key, timestamps=series.timestamps, values=values, support=support)
    chance = empty_steps_probability(cut)
    assert chance is not None
    # The most lenient expectation is the median of the 24 hours before, the night's 4 rows an
    # hour: one empty hour is e^-4 ...
    assert chance[at] == pytest.approx(np.exp(-4.0))
    # ... and the gap, judged whole where values resume, e^-12.
    assert chance[at + 2] == pytest.approx(np.exp(-12.0))


def test_a_gap_whose_rows_are_unknown_keeps_its_evidence() -> None:
    series = null_rate(2)
    support = series.support.copy()  # type: ignore[union-attr]
    support[saturday(1) : saturday(1) + 48] = np.nan
    unknown = Series(
        key=series.key, timestamps=series.timestamps, values=series.values, support=support
    )
    chance = empty_steps_probability(unknown)
    assert chance is not None
    assert (chance[saturday(1) : saturday(1) + 48] == 0.0).all()


def test_a_series_without_sample_sizes_has_no_quiet_gaps() -> None:
    series = null_rate(3)
    bare = Series(key=series.key, timestamps=series.timestamps, values=series.values)
    assert empty_steps_probability(bare) is None
    np.testing.assert_array_equal(event_runs(bare, quiet_gaps=True)["gap"], event_runs(bare)["gap"])


def five_minute_rate(seed: int) -> Series:
    """Two weeks of a 5-minute null rate (5%): 10 rows a step from 8:00 to 18:00 on weekdays, 1
    at night (a third of the night's steps have no row), 0.03 on weekends (gaps of hours); on
    Thursday of the first week the feed dies from 10:00 to 12:00."""
    rng = np.random.default_rng(seed)
    steps = np.arange(288 * 14)
    hour = (steps % 288) / 12
    weekend = (steps // 288) % 7 >= 5
    rate = np.where(weekend, 0.03, np.where((hour >= 8) & (hour < 18), 10.0, 1.0))
    n = rng.poisson(rate).astype(np.float64)
    n[DEAD : DEAD + 24] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(n > 0, rng.binomial(n.astype(np.int64), 0.05) / n, np.nan)
    key = SeriesKey(model="m", version="", family="", column="c", statistic="null_rate")
    stamps = START + steps * np.timedelta64(300, "s")
    return Series(key=key, timestamps=stamps, values=values, support=n)


DEAD = 288 * 3 + 120  # Thursday 10:00


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weekend_gaps_after_its_first_hours_do_not_page_and_a_dead_feed_does(seed: int) -> None:
    """The weekday nights teach the gap run that gaps last a few steps; the weekend's gaps last
    hours. Without the option the weekend pages after its first hours; with it, once the steps
    before a gap had no rows, a gap is not news. The feed that died at a busy hour pages
    either way, when its values resume."""
    series = five_minute_rate(seed)

    def alerting(settings: ConsensusSettings) -> np.ndarray:
        detector = ConsensusDetector(settings=settings).fit([series.slice(0, 288 * 2)])
        return np.flatnonzero(np.nan_to_num(detector.score([series])[0].score) > 0)

    off, on = alerting(OFF), alerting(ON)
    day, step = np.divmod(np.arange(len(series)), 288)
    # Saturday from 6:00 on, and Sunday
    after_first_hours = ((day % 7 == 5) & (step >= 72)) | (day % 7 == 6)
    resumed = DEAD + 24 + int(np.flatnonzero(~np.isnan(series.values[DEAD + 24 :]))[0])
    assert after_first_hours[off].any()
    assert not after_first_hours[on].any()
    assert resumed in off and resumed in on
