"""A count's first zero (``ConsensusSettings(first_zeros=True)``): a busy count reading 0 at a
quiet hour is under one plain residual scale (the busy hours' errors set it) and a zero run never
seen cannot be scored rarer than the history is long; its shortfall in logs, calibrated on the
series' own shortfalls, is far beyond anything the series showed. A series that has read 0
before (a routine maintenance window) does not page on another zero, a count whose nights read 0
does not page on one more, and a series that is no count carrying itself as its sample size
scores exactly as before."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.core import SeriesKey
from vigil.detect import ConsensusDetector, ConsensusSettings
from vigil.detect.residual import first_zeros
from vigil.stats import Series

ON = ConsensusSettings(first_zeros=True)
OFF = ConsensusSettings(first_zeros=False)
DAY = 48  # half-hour steps


def half_hourly(values: np.ndarray, support: np.ndarray | None) -> Series:
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(len(values)) * np.timedelta64(
        1800, "s"
    )
    key = SeriesKey(model="m", version="", family="", column="", statistic="count")
    return Series(key=key, timestamps=stamps, values=values, support=support)


def requests(seed: int, busy: float = 150.0) -> np.ndarray:
    """Thirty days of half-hourly requests with lunch and evening peaks (the night at a tenth
    of the evening), overdispersed (gamma-Poisson, shape 8), and every ninth day 1.8 times as
    busy (a payday)."""
    rng = np.random.default_rng(seed)
    hour = (np.arange(DAY * 30) % DAY) / 2
    peaks = (
        0.15
        + np.exp(-0.5 * ((hour - 12.5) / 1.5) ** 2)
        + 1.3 * np.exp(-0.5 * ((hour - 19.5) / 2.0) ** 2)
    )
    day = np.arange(DAY * 30) // DAY
    rate = busy * peaks / peaks.mean() * np.where(day % 9 == 4, 1.8, 1.0)
    drawn: np.ndarray = rng.poisson(rng.gamma(8.0, rate / 8.0)).astype(np.float64)
    return drawn


def alerts(series: Series, settings: ConsensusSettings) -> np.ndarray:
    detector = ConsensusDetector(settings=settings).fit([series.slice(0, DAY * 14)])
    return np.flatnonzero(np.nan_to_num(detector.score([series])[0].score) > 0)


@pytest.mark.parametrize(("seed", "step"), [(0, 6), (1, 16), (2, 20), (3, 30)])
def test_a_busy_count_reading_zero_at_a_quiet_hour_is_found_by_its_first_zero(
    seed: int, step: int
) -> None:
    """20 to 176 requests expected, 0 read: the plain evidence stays near 1.6e-3 (the zero run
    never seen in 1,200 steps, times the Bonferroni of four), above ``alpha``; in logs it is the
    one alert of the series."""
    values = requests(seed)
    at = DAY * 25 + step
    assert values[at] >= 20
    values[at] = 0.0
    series = half_hourly(values, values.copy())
    assert alerts(series, OFF).size == 0
    plain = ConsensusDetector(settings=OFF).fit([series.slice(0, DAY * 14)]).evidence(series)
    assert plain.combined[at] > ConsensusSettings().alpha
    np.testing.assert_array_equal(alerts(series, ON), [at])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_quiet_count_whose_nights_read_zero_does_not_page_on_one_more(seed: int) -> None:
    """At 3 requests a half-hour by day the night's 0 is routine: no alert with or without."""
    values = requests(seed, busy=3.0)
    assert np.sum(values[: DAY * 14] == 0) > 20
    night = DAY * 25 + 6
    values[night] = 0.0
    series = half_hourly(values, values.copy())
    assert night not in alerts(series, ON)
    assert alerts(series, ON).size <= alerts(series, OFF).size


@pytest.mark.parametrize("kind", ["no support", "a rate with its rows"])
def test_a_series_that_is_no_count_of_itself_scores_bit_identically(kind: str) -> None:
    values = requests(4)
    values[DAY * 25 + 20] = 0.0
    support = None if kind == "no support" else values + 5.0
    series = half_hourly(values, support)
    assert first_zeros(series) is None
    a = ConsensusDetector(settings=OFF).score([series])[0]
    b = ConsensusDetector(settings=ON).score([series])[0]
    for left, right in ((a.score, b.score), (a.expected, b.expected), (a.upper, b.upper)):
        np.testing.assert_array_equal(left, right)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_zero_the_series_has_read_before_does_not_page(seed: int) -> None:
    """The other side of the boundary: the same busy zero, after one routine zero (a maintenance
    window) on day 10, is the zero run's to judge, and no longer pages."""
    values = requests(seed)
    at = DAY * 25 + 16
    values[at] = 0.0
    values[DAY * 10 + 16] = 0.0
    series = half_hourly(values, values.copy())
    assert at not in alerts(series, ON)


def test_the_drop_is_causal_a_prefix_scores_as_the_whole_series_first_steps() -> None:
    values = requests(5)
    values[DAY * 25 + 20] = 0.0
    series = half_hourly(values, values.copy())
    whole = ConsensusDetector(settings=ON).score([series])[0].score
    head = ConsensusDetector(settings=ON).score([series.slice(0, DAY * 26)])[0].score
    np.testing.assert_array_equal(whole[: DAY * 26], head)
