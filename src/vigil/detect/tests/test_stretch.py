"""Evidence summed over a stretch of steps: a stretch of steps each about one standard error off
is found by it and by nothing else; a calm series with quiet nights does not alert more; series
without standard errors score exactly as before; the forecast does not follow the stretch."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.core import ConfigError, SeriesKey
from vigil.detect import ConsensusDetector, ConsensusSettings
from vigil.detect.residual import residual, settled_level
from vigil.detect.stretch import Stretch, derived_variance, stretch_sums, weighted_expected
from vigil.stats import Series

STRETCH = Stretch()
ON = ConsensusSettings(stretch=STRETCH)
UNGATED = ConsensusSettings(stretch=Stretch(familiar=1.0))
OFF = ConsensusSettings(stretch=None)
SHIFT = slice(800, 848)


def hourly(
    values: np.ndarray, support: np.ndarray | None = None, stderr: np.ndarray | None = None
) -> Series:
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(len(values)) * np.timedelta64(
        3600, "s"
    )
    key = SeriesKey(model="m", version="", family="f", column="amount", statistic="mean")
    return Series(key=key, timestamps=stamps, values=values, support=support, stderr=stderr)


def quiet_nights(seed: int, shift: float) -> Series:
    """Six weeks of hourly means with a daily shape 9 busy-hour standard errors deep: 600 rows
    a busy hour, 30 a night hour (standard error 8/√n: 0.33 by day, 1.46 at night), values
    drawn at exactly their standard error, and from step 800 two days ``shift`` standard
    errors up, step by step."""
    rng = np.random.default_rng(seed)
    steps = 24 * 42
    hour = np.arange(steps) % 24
    rows = np.where(hour < 7, 30.0, 600.0)
    se = 8.0 / np.sqrt(rows)
    values = 50.0 + 3.0 * np.sin(2 * np.pi * hour / 24) + rng.normal(0.0, 1.0, steps) * se
    values[SHIFT] += shift * se[SHIFT]
    return hourly(values, rows, se)


def alerts(series: Series, settings: ConsensusSettings) -> np.ndarray:
    detector = ConsensusDetector(settings=settings)
    detector.fit([series.slice(0, 24 * 14)])
    return np.flatnonzero(np.nan_to_num(detector.score([series])[0].score) > 3.0)


def inside(found: np.ndarray) -> int:
    return int(np.sum((found >= SHIFT.start) & (found < SHIFT.stop + 3)))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_two_days_one_standard_error_off_are_found_by_the_stretch(seed: int) -> None:
    """No step of the shift is more than noise (z about 1): the per-step evidence raises at
    most a lucky step inside it; summed over 48 steps it is seven standard errors. (With the
    default ``familiar`` gate the stretch speaks only where novelty finds the shapes at least
    a little new, which a shift this small on a smooth series does not make them:
    ``test_the_gate_silences_the_stretch_only_where_novelty_finds_nothing_new``.)"""
    series = quiet_nights(seed, 1.0)
    assert inside(alerts(series, UNGATED)) > inside(alerts(series, OFF))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_half_a_standard_error_for_two_days_is_not_enough(seed: int) -> None:
    """Just outside what the stretch can see: 3.5 standard errors over 48 steps, against its
    Bonferroni over three lengths and the other evidence."""
    series = quiet_nights(seed, 0.5)
    assert inside(alerts(series, UNGATED)) == inside(alerts(series, OFF))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("settings", [ON, UNGATED], ids=["gated", "ungated"])
def test_a_calm_series_with_quiet_nights_does_not_alert_more(
    seed: int, settings: ConsensusSettings
) -> None:
    series = quiet_nights(seed, 0.0)
    assert alerts(series, settings).size <= alerts(series, OFF).size


def test_the_gate_silences_the_stretch_only_where_novelty_finds_nothing_new() -> None:
    series = quiet_nights(0, 1.5)
    gated = ConsensusDetector(settings=ON)
    gated.fit([series.slice(0, 24 * 14)])
    ungated = ConsensusDetector(settings=UNGATED)
    ungated.fit([series.slice(0, 24 * 14)])
    found, bare = gated.evidence(series), ungated.evidence(series)
    assert found.stretch is not None and bare.stretch is not None
    familiar = np.nan_to_num(found.novelty, nan=0.0) > STRETCH.familiar
    judged = ~np.isnan(bare.stretch)
    assert familiar[judged].any() and (~familiar[judged]).any()
    np.testing.assert_array_equal(found.stretch[familiar & judged], 1.0)
    np.testing.assert_array_equal(found.stretch[~familiar], bare.stretch[~familiar])
    assert np.nanmin(bare.stretch[SHIFT]) < 3e-4 / 5  # what the gate gave up here


@pytest.mark.parametrize("kind", ["none", "all-nan", "support-off", "count"])
def test_series_without_standard_errors_score_bit_identically(kind: str) -> None:
    """No sample sizes (NAB, Microsoft, ``simulated``), standard errors that are all NaN (the
    pipeline's counts), sample sizes with ``from_support=False``, or a count carrying itself
    as its ``n``: no stretch evidence, the scores of the detector without it."""
    rng = np.random.default_rng(2)
    values = 100 + 10 * np.sin(np.arange(24 * 30) * 2 * np.pi / 24) + rng.normal(0, 2, 720)
    values[500:540] += 3.0
    rows = np.where(np.arange(720) % 24 < 6, 20.0, 400.0) if kind != "none" else None
    if kind == "count":
        values = np.round(values)
        rows = values.copy()
    stderr = np.full(720, np.nan) if kind == "all-nan" else None
    series = hourly(values, rows, stderr)
    on = ConsensusSettings(stretch=Stretch(from_support=False)) if kind == "support-off" else ON
    assert on.stretch is not None
    assert stretch_sums(series, on.stretch) is None
    a = ConsensusDetector(settings=OFF).score([series])[0]
    b = ConsensusDetector(settings=on).score([series])[0]
    for left, right in ((a.score, b.score), (a.expected, b.expected), (a.upper, b.upper)):
        np.testing.assert_array_equal(left, right)


def test_steps_without_a_standard_error_do_not_count() -> None:
    """A stretch needs values with standard errors on at least half its steps: with none from
    step 700 on, the 48-step sum ending at 720 still rests on 27 steps, the one at 725 on 22."""
    series = quiet_nights(0, 0.0)
    assert series.stderr is not None
    stderr = series.stderr.copy()
    stderr[700:800] = np.nan
    values = series.values.copy()
    values[760] = np.nan  # a step without rows (n = 0) has no value either
    sums = stretch_sums(hourly(values, series.support, stderr), STRETCH)
    assert sums is not None
    four, _, forty_eight = sums
    assert np.isfinite(four[699]) and np.isnan(four[705]) and np.isnan(four[799])
    assert np.isfinite(forty_eight[720]) and np.isnan(forty_eight[725])
    assert np.isfinite(four[802])


def test_the_forecast_of_a_stretch_does_not_follow_it() -> None:
    """From step 600 the series is 5 up. The residual's own expected value has followed within
    a few steps (its level correction); the forecast a stretch of 12 is compared with, and the
    settled level, still expect the old level at every step of it."""
    rng = np.random.default_rng(5)
    hour = np.arange(24 * 30) % 24
    values = 10.0 + 2.0 * np.sin(2 * np.pi * hour / 24) + rng.normal(0.0, 0.3, hour.size)
    values[600:] += 5.0
    series = hourly(values, np.full(hour.size, 100.0), np.full(hour.size, 0.3))
    level = 10.0 + 2.0 * np.sin(2 * np.pi * hour / 24)
    assert np.abs(residual(series).expected[605:612] - level[605:612]).min() > 4.0
    for forecast in (weighted_expected(series, 12), settled_level(series, 12)):
        assert np.abs(forecast[600:612] - level[600:612]).max() < 1.0


def test_a_series_back_from_a_long_incident_is_back_at_its_settled_level() -> None:
    """Three days 5 up, then back: what was expected of the stretch after them (the incident's
    level) is not what the series reads in calm weeks; the settled level is."""
    rng = np.random.default_rng(6)
    hour = np.arange(24 * 30) % 24
    values = 10.0 + 2.0 * np.sin(2 * np.pi * hour / 24) + rng.normal(0.0, 0.3, hour.size)
    values[500:572] += 5.0
    series = hourly(values, np.full(hour.size, 100.0), np.full(hour.size, 0.3))
    level = 10.0 + 2.0 * np.sin(2 * np.pi * hour / 24)
    assert np.abs(weighted_expected(series, 12)[572:584] - level[572:584]).min() > 4.0
    assert np.abs(settled_level(series, 12)[572:600] - level[572:600]).max() < 1.0


def test_a_prefix_scores_as_the_whole_series_first_steps() -> None:
    """The watch scores each series once a cycle and thresholds on the steps before: the stretch
    evidence, like the rest, must not look ahead."""
    calm = quiet_nights(2, 1.0)
    assert calm.support is not None and calm.stderr is not None
    # Traffic grows sixteenfold at step 300 (standard errors a quarter), and three steps carry
    # a standard error of 0, without sample sizes to pool over: what a prefix knows of its
    # typical standard error is not what the whole series does.
    rows = np.where(np.arange(len(calm)) >= 300, 16.0, 1.0) * calm.support
    stderr = calm.stderr * np.sqrt(calm.support / rows)
    stderr[[320, 450, 480]] = 0.0
    series = hourly(calm.values, None, stderr)
    assert_prefixes_score_as_the_whole(series)


@pytest.mark.parametrize(
    "bad",
    [
        {"lengths": ()},
        {"lengths": (1, 12)},
        {"clip": 0.0},
        {"window": 10},
        {"familiar": 0.0},
        {"from_support": "yes"},
    ],
)
def test_settings_quote_the_bad_value(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="stretch"):
        Stretch(**bad)  # type: ignore[arg-type]


def test_the_stretch_is_on_by_default() -> None:
    """Shipped after the held-out seeds of session 8 (BENCHMARKS.md); ``stretch=None`` is off."""
    assert ConsensusSettings().stretch == Stretch()
    assert ConsensusSettings(stretch=None).stretch is None


def without_stderr(series: Series) -> Series:
    return hourly(series.values, series.support, None)


def test_a_step_variance_derived_from_sample_sizes_is_the_known_one() -> None:
    """Without standard errors, a per-row variance pooled from the series' own bends (``x_{t-1}
    - (x_{t-2} + x_t) / 2``, which a daily cycle's slope does not enter) over ``n``: within 15%
    of the true ``8²/n`` on quiet nights (30 rows) and busy days (600 rows) alike (the change
    from the step before, which carries the cycle's slope, read twice the truth here)."""
    series = quiet_nights(0, 0.0)
    assert series.stderr is not None
    bare = without_stderr(series)
    night = np.arange(len(series)) % 24 < 7
    ratio = derived_variance(bare, 12, STRETCH.window) / series.stderr**2
    for part in (night, ~night):
        assert abs(np.nanmedian(ratio[part]) - 1.0) < 0.15


def test_an_incident_in_the_window_barely_moves_the_derived_variance() -> None:
    """A median of the bends: two days 20 standard errors up and down, a tenth of the window,
    move it by a third at most (the median of the window's bends moves to about its 55th
    percentile); a mean would put it in the hundreds of times."""
    calm = without_stderr(quiet_nights(1, 0.0))
    values = calm.values.copy()
    values[600:648] += 20.0 * np.where(np.arange(48) % 2 == 0, 1.0, -1.0) * 8.0 / np.sqrt(600)
    noisy = hourly(values, calm.support, None)
    before = derived_variance(calm, 4, STRETCH.window)[700:900]
    after = derived_variance(noisy, 4, STRETCH.window)[700:900]
    assert np.nanmax(np.abs(after / before - 1.0)) < 0.4


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sample_sizes_alone_let_the_stretch_find_two_days_one_standard_error_off(
    seed: int,
) -> None:
    """The series of ``test_two_days_one_standard_error_off_are_found_by_the_stretch`` as the
    labeled CSV ``timestamp,value,label,n`` gives it: the stretch still finds the shift, and
    the calm series does not alert more."""
    series = without_stderr(quiet_nights(seed, 1.0))
    assert inside(alerts(series, UNGATED)) > inside(alerts(series, OFF))
    calm = without_stderr(quiet_nights(seed, 0.0))
    assert alerts(calm, ON).size <= alerts(calm, OFF).size


def test_standard_errors_when_present_are_used_whatever_from_support_says() -> None:
    series = quiet_nights(3, 1.0)
    sums = stretch_sums(series, STRETCH)
    other = stretch_sums(series, Stretch(from_support=False))
    assert sums is not None and other is not None
    for left, right in zip(sums, other, strict=True):
        np.testing.assert_array_equal(left, right)


def test_a_prefix_without_standard_errors_scores_as_the_whole_series_first_steps() -> None:
    """The derived variance looks only at the window before each stretch, and whether the
    series counts itself at its first step of two rows: a prefix scores as the whole does,
    though traffic grows sixteenfold at step 300."""
    calm = quiet_nights(2, 1.0)
    assert calm.support is not None
    rows = np.where(np.arange(len(calm)) >= 300, 16.0, 1.0) * calm.support
    series = hourly(calm.values, rows, None)
    assert_prefixes_score_as_the_whole(series)


def test_a_count_is_told_from_a_rate_on_its_first_step_of_two_rows() -> None:
    """A count carries itself as its ``n`` (no stretch, as its ``se`` is NaN where written);
    a rate of 1 in 1 row at its first step is still a rate: its first step of two rows decides."""
    rng = np.random.default_rng(7)
    rows = np.where(np.arange(720) % 24 < 6, 20.0, 400.0)
    rate = rng.binomial(rows.astype(int), 0.1) / rows
    rows[0], rate[0] = 1.0, 1.0
    assert stretch_sums(hourly(rate, rows, None), STRETCH) is not None
    count = rng.poisson(rows).astype(np.float64)
    count[0] = 1.0
    assert stretch_sums(hourly(count, count.copy(), None), STRETCH) is None


def assert_prefixes_score_as_the_whole(series: Series) -> None:
    """The scores and stretch sums of the first 500 and 820 steps are the whole series'."""
    whole = ConsensusDetector(settings=ON).score([series])[0].score
    for stop in (500, 820):
        part = ConsensusDetector(settings=ON).score([series.slice(0, stop)])[0].score
        np.testing.assert_array_equal(part, whole[:stop])
    sums = stretch_sums(series, STRETCH)
    head = stretch_sums(series.slice(0, 820), STRETCH)
    assert sums is not None and head is not None
    for left, right in zip(head, sums, strict=True):
        np.testing.assert_array_equal(left, right[:820])
