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
from vigil.detect.runs import _mean_around, _mean_before, empty_steps_probability, event_runs
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
    # The most lenient expectation is the rate of the 24 hours before, Monday 10:00 to Tuesday
    # 9:00: 10 busy hours of 40 rows and 14 night hours of 4, 19 rows an hour (their median,
    # the night's 4, would have made it e^-4) ...
    assert chance[at] == pytest.approx(np.exp(-19.0))
    # ... and the gap, judged whole where values resume, e^-57.
    assert chance[at + 2] == pytest.approx(np.exp(-57.0))


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


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_second_weekend_does_not_page_after_its_first_hours_and_a_dead_feed_does(
    seed: int,
) -> None:
    """The weekday nights teach the gap run that gaps last a few steps; the weekend's gaps last
    hours. Without the option both weekends page after their first hours. With it the second
    weekend is quiet: last week's rows were as few. The first still pages (nothing has shown a
    weekend yet, and its hours have rows on too few steps for a recent rate). The feed that
    died at a busy hour pages either way, when its values resume."""
    series = five_minute_rate(seed)

    def alerting(settings: ConsensusSettings) -> np.ndarray:
        detector = ConsensusDetector(settings=settings).fit([series.slice(0, 288 * 2)])
        return np.flatnonzero(np.nan_to_num(detector.score([series])[0].score) > 0)

    off, on = alerting(OFF), alerting(ON)
    day, step = np.divmod(np.arange(len(series)), 288)
    second_weekend = ((day == 12) & (step >= 72)) | (day == 13)  # from Saturday 6:00
    resumed = DEAD + 24 + int(np.flatnonzero(~np.isnan(series.values[DEAD + 24 :]))[0])
    assert second_weekend[off].any()
    assert not second_weekend[on].any()
    assert resumed in off and resumed in on


MINUTE = np.timedelta64(60, "s")


def sparse_feed(minutes: int, rows: np.ndarray) -> Series:
    """A 1-minute null rate whose steps hold ``rows`` (cycled), every value 0 where rows came."""
    n = np.resize(rows.astype(np.float64), minutes)
    values = np.where(n > 0, 0.0, np.nan)
    key = SeriesKey(model="m", version="", family="", column="c", statistic="null_rate")
    return Series(key=key, timestamps=START + np.arange(minutes) * MINUTE, values=values, support=n)


def without_rows(series: Series, start: int, steps: int) -> Series:
    assert series.support is not None
    support, values = series.support.copy(), series.values.copy()
    support[start : start + steps] = 0.0
    values[start : start + steps] = np.nan
    return Series(key=series.key, timestamps=series.timestamps, values=values, support=support)


def test_the_recent_expectation_is_the_rate_of_the_steps_that_had_rows() -> None:
    """A row every third minute: the median minute has none, which called any gap routine.
    The minutes that had rows had one each, and the empty ones may be an outage flapping, so
    the recent rate is 1 a minute: 24 minutes without rows are e^-24. Two hours of series:
    there is no yesterday or last week to be more lenient. The gap begins after minute 60,
    which had a row."""
    cut = without_rows(sparse_feed(120, np.array([1, 0, 0])), 61, 24)
    chance = empty_steps_probability(cut)
    assert chance is not None
    assert chance[61 + 23] == pytest.approx(np.exp(-24.0))
    assert chance[61] == pytest.approx(np.exp(-1.0))


def test_the_recent_rate_needs_rows_on_a_quarter_of_the_steps_before() -> None:
    """Six of the 24 minutes before the gap had a row (a quarter): the rate is theirs. Five:
    no recent expectation, and with no yesterday either the gap keeps its own evidence."""
    rows = np.zeros(60)
    rows[[10, 14, 18, 22, 26, 29]] = 2.0
    six = without_rows(sparse_feed(60, rows), 30, 10)
    chance = empty_steps_probability(six)
    assert chance is not None
    assert chance[30] == pytest.approx(np.exp(-2.0))
    rows[10] = 0.0
    five = without_rows(sparse_feed(60, rows), 30, 10)
    chance = empty_steps_probability(five)
    assert chance is not None
    assert chance[30] == 0.0


def test_a_sparse_feed_dying_is_judged_on_yesterdays_rate_not_its_single_minutes() -> None:
    """A row every third minute for eight days, a week ago on minutes 0, 3, 6, ..., yesterday
    on minutes 1, 4, 7, ...; today 24 minutes without rows. Per step the least of yesterday's
    and last week's single minutes is 0 on every step (each had a row where the other had
    none), which excused the gap whole; their rates within half an hour, a third of a row a
    minute, say e^-8 (the recent rate, the rows' 1 a minute, is stricter)."""
    day = 1440
    rows = np.zeros(8 * day)
    for d in range(8):
        phase = {0: 0, 6: 1}.get(d, 2)
        rows[d * day + phase : (d + 1) * day : 3] = 1.0
    start = 7 * day + 121  # minute 120 had a row (phase 0 of 3 is 120)
    rows[7 * day : 8 * day] = np.resize(np.array([1.0, 0.0, 0.0]), day)
    cut = without_rows(sparse_feed(8 * day, rows), start, 24)
    chance = empty_steps_probability(cut)
    single = empty_steps_probability(cut, span_s=0.0)
    assert chance is not None and single is not None
    assert np.exp(-8.0) * 0.999 < chance[start + 23] < np.exp(-7.8)
    assert single[start + 23] == 1.0


def test_the_mean_before_needs_a_quarter_of_its_window_known() -> None:
    rows = np.full(30, np.nan)
    rows[:6] = 2.0  # six known steps of the 24 before step 24
    assert _mean_before(rows, 24)[24] == 2.0
    rows[0] = np.nan  # five
    assert np.isnan(_mean_before(rows, 24)[24])


def test_the_rate_around_a_step_reaches_exactly_half_a_span() -> None:
    rows = np.zeros(101)
    rows[50 + 30] = 61.0  # 30 steps away: within half an hour of 1-minute steps
    assert _mean_around(rows, 30)[50] == pytest.approx(1.0)
    assert _mean_around(rows, 29)[50] == 0.0  # 30 away is outside
    np.testing.assert_array_equal(_mean_around(rows, 0), rows)


def test_hourly_steps_take_yesterday_at_the_hour_alone() -> None:
    """Half an hour either side of an hourly step is the step itself: the weekend's empty
    hours last week stay a reason (the first test), and a busy hour is not diluted by its night."""
    series = null_rate(4)
    assert series.support is not None
    saturday_noon = saturday(1) + 12
    chance = empty_steps_probability(series)
    assert chance is not None
    assert chance[saturday_noon - 1] == 1.0
