"""Routine zeros (``ConsensusSettings(routine_zeros=True)``): a busy count whose source drops out
now and then reads 0 where sampling cannot explain it, and every such zero is the largest
deviation the series has. Once the series has shown ``least`` (3) such episodes, a zero is no
rarer than they have been; the first ones keep their evidence, zeros that sampling explains are
neither counted nor floored, and a series without sample sizes scores exactly as before."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.core import SeriesKey
from vigil.detect import ConsensusDetector, ConsensusSettings
from vigil.detect.sampling import routine_zeros
from vigil.stats import Series

ON = ConsensusSettings(routine_zeros=True)
OFF = ConsensusSettings(routine_zeros=False)
DAY = 96  # quarter-hour steps


def quarter_hourly(values: np.ndarray, support: np.ndarray | None) -> Series:
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(len(values)) * np.timedelta64(
        900, "s"
    )
    key = SeriesKey(model="m", version="", family="", column="", statistic="count")
    return Series(key=key, timestamps=stamps, values=values, support=support)


def orders(seed: int, days: int = 21) -> np.ndarray:
    """Quarter-hourly orders with an evening peak of about 60 and nights of about 9."""
    rng = np.random.default_rng(seed)
    hour = (np.arange(DAY * days) % DAY) / 4
    rate = 60.0 * (np.exp(-0.5 * ((hour - 20.0) / 3.0) ** 2) + 0.15)
    drawn: np.ndarray = rng.poisson(rate).astype(np.float64)
    return drawn


def evening(day: int) -> int:
    return DAY * day + 80  # 20:00, about 69 orders expected


def alerts(series: Series, settings: ConsensusSettings) -> np.ndarray:
    detector = ConsensusDetector(settings=settings).fit([series.slice(0, DAY * 3)])
    return np.flatnonzero(np.nan_to_num(detector.score([series])[0].score) > 0)


def with_zeros(values: np.ndarray, days: list[int]) -> Series:
    values = values.copy()
    for day in days:
        values[evening(day)] = 0.0
    return quarter_hourly(values, values.copy())


def test_the_floor_counts_episodes_of_unexplained_zeros_over_the_steps_exposed() -> None:
    """Three evening zeros before, then a fourth: its floor is 3 over the steps (before it)
    where a 0 was unexplained; the third has seen only two and has none."""
    series = with_zeros(orders(0), [4, 6, 8, 12])
    expected = np.full(len(series), 69.0)
    floor = routine_zeros(series, expected)
    assert floor is not None
    assert np.isnan(floor[evening(8)])  # two before: not yet routine
    assert floor[evening(12)] == pytest.approx(3 / evening(12), rel=0.05)
    assert np.isnan(np.delete(floor, evening(12))).all()


def test_zeros_that_sampling_explains_are_neither_counted_nor_floored() -> None:
    """At 2 orders expected a 0 has probability e^-2 = 0.14: no floor, and it does not count
    toward the episodes (the fourth busy zero has seen three before it, not more)."""
    values = orders(1)
    values[[evening(2) - 60, evening(3) - 60]] = 0.0  # night steps, expected 2 below
    series = with_zeros(values, [4, 6, 8, 12])
    expected = np.full(len(series), 69.0)
    expected[[evening(2) - 60, evening(3) - 60]] = 2.0
    floor = routine_zeros(series, expected)
    assert floor is not None
    assert np.isnan(floor[[evening(2) - 60, evening(3) - 60]]).all()
    assert np.isnan(floor[evening(8)])
    assert floor[evening(12)] > 0


def test_a_run_of_zeros_is_one_episode() -> None:
    """A past outage of ten steps counts once: before day 12 there are two episodes (the outage
    and day 6), before day 14 three."""
    values = orders(2)
    values[evening(4) : evening(4) + 10] = 0.0
    series = with_zeros(values, [6, 12, 14])
    floor = routine_zeros(series, np.full(len(series), 69.0))
    assert floor is not None
    assert np.isnan(floor[evening(12)])
    assert floor[evening(14)] > 0


def test_a_series_without_sample_sizes_has_no_routine_zeros() -> None:
    series = quarter_hourly(orders(3), None)
    assert routine_zeros(series, np.full(len(series), 69.0)) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_busy_zero_seen_three_times_before_does_not_page_and_the_first_does(seed: int) -> None:
    """Evening zeros on days 4, 6, 8 and 12: without the option each pages; with it the first
    three still do and the fourth does not."""
    series = with_zeros(orders(seed), [4, 6, 8, 12])
    before = alerts(series, OFF)
    after = alerts(series, ON)
    for day in (4, 6, 8, 12):
        assert evening(day) in before
    for day in (4, 6, 8):
        assert evening(day) in after
    assert evening(12) not in after


def test_without_sample_sizes_the_option_changes_nothing() -> None:
    series = quarter_hourly(with_zeros(orders(4), [4, 6, 8, 12]).values, None)
    on = ConsensusDetector(settings=ON).fit([series.slice(0, DAY * 3)]).score([series])[0]
    off = ConsensusDetector(settings=OFF).fit([series.slice(0, DAY * 3)]).score([series])[0]
    np.testing.assert_array_equal(on.score, off.score)
