"""Change bands: the false-flag rate of each test is its alpha (or below), the minimum effect
binds where n is large, and the bands scale with the column's spread, not its offset."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from vigil.core import ConfigError
from vigil.profile import Moments
from vigil.stats.change import (
    MAX_STD_KURTOSIS,
    ChangeBand,
    ChangeTest,
    beyond_extreme_chance,
    ks_limit,
    mean_band,
    numeric_changes,
    quantile_band,
    share_change,
    std_band,
)
from vigil.stats.kurtosis import extreme_kurtosis, heavier_kurtosis, kurtosis_of, spread_kurtosis
from vigil.stats.sketches import ExactQuantiles

NO_FLOOR = ChangeTest(
    alpha=0.01, min_mean_sd=0, min_std_ratio=0, min_rank_shift=0, min_ks=0, min_share=0
)
TRIALS = 1000
# Flags under no change are Binomial(TRIALS, ~alpha): mean 10, sd 3.15.
MOST_FLAGS = 10 + 4 * 3.15


def _moments(values: np.ndarray) -> Moments:
    return Moments.of(np.asarray(values, dtype=np.float64))


def _false_flags(band_of, rng: np.random.Generator, draw) -> int:  # type: ignore[no-untyped-def]
    flags = 0
    for _ in range(TRIALS):
        current, reference = draw(rng, 270), draw(rng, 1900)
        value, band = band_of(current, reference)
        flags += not band.contains(value)
    return flags


def test_mean_band_flags_at_alpha_and_scales_with_spread_not_offset() -> None:
    rng = np.random.default_rng(1)

    def band_of(cur: np.ndarray, ref: np.ndarray) -> tuple[float, ChangeBand]:
        return float(cur.mean()), mean_band(_moments(cur), _moments(ref), NO_FLOOR)

    flags = _false_flags(band_of, rng, lambda r, n: r.normal(50, 10, n))
    assert flags <= MOST_FLAGS
    assert flags >= 1  # the test is not vacuous: about alpha of windows do flag
    cur, ref = rng.normal(0, 1, 270), rng.normal(0, 1, 1900)
    base = mean_band(_moments(cur), _moments(ref), ChangeTest())
    moved = mean_band(_moments(cur * 10 + 50), _moments(ref * 10 + 50), ChangeTest())
    assert moved.upper - moved.expected == pytest.approx(10 * (base.upper - base.expected))
    assert moved.expected == pytest.approx(10 * base.expected + 50)


def test_mean_band_minimum_effect_binds_at_large_n() -> None:
    rng = np.random.default_rng(2)
    ref = _moments(rng.normal(50, 10, 400_000))
    cur = rng.normal(50, 10, 100_000)
    band = mean_band(_moments(cur), ref, ChangeTest(min_mean_sd=0.1))
    assert band.upper - band.expected == pytest.approx(0.1 * ref.std)
    # Just inside and just outside the minimum effect.
    assert band.contains(ref.mean + 0.099 * ref.std)
    assert not band.contains(ref.mean + 0.101 * ref.std)


def test_mean_band_takes_the_larger_variance_of_the_two_sides() -> None:
    test = ChangeTest(min_mean_sd=0)

    def moments(count: int, variance: float) -> Moments:
        return Moments(count=count, mean=0.0, m2=variance * count)

    half = test.z * math.sqrt(4.0 * (1 / 100 + 1 / 1000))
    # The window's variance is the larger: it sets the band (as in Welch's test).
    band = mean_band(moments(100, 4.0), moments(1000, 1.0), test)
    assert band.upper - band.expected == pytest.approx(half)
    # The reference's is the larger: it sets the band, not the window's own smaller one.
    band = mean_band(moments(100, 1.0), moments(1000, 4.0), test)
    assert band.upper - band.expected == pytest.approx(half)
    assert band.expected - band.lower == pytest.approx(half)


def test_a_skewed_column_flags_the_mean_at_alpha_not_in_its_lower_tail() -> None:
    # A lognormal(σ=1) window lacking its rare large values has a low mean and a low variance:
    # Welch's z (each side's own variance) fell below -z 13 times in 2,000 unchanged windows at
    # alpha 1e-3 (about 1 expected on that side); the larger variance keeps it at alpha.
    rng = np.random.default_rng(9)
    test = ChangeTest(alpha=1e-3, min_mean_sd=0)
    flags = welch_low = 0
    for _ in range(2000):
        current = _moments(rng.lognormal(3.0, 1.0, 200))
        reference = _moments(rng.lognormal(3.0, 1.0, 1400))
        flags += not mean_band(current, reference, test).contains(current.mean)
        own = math.sqrt(current.variance / 200 + reference.variance / 1400)
        welch_low += (current.mean - reference.mean) / own < -test.z
    assert welch_low >= 8  # what the old band did: the case is a real one
    assert flags <= 2 + 4 * 1.42  # Binomial(2000, 1e-3): mean 2, sd 1.42


def test_the_default_smallest_mean_shift_is_a_twentieth_of_a_sd() -> None:
    # A drift of 0.1 sd a day has moved a trailing day's mean 0.05 sd after 24 h: a floor of
    # 0.1 sd held it until 36 h whatever the traffic (docs/stats.md).
    rng = np.random.default_rng(2)
    ref = _moments(rng.normal(50, 10, 400_000))
    band = mean_band(_moments(rng.normal(50, 10, 100_000)), ref, ChangeTest())
    assert band.contains(ref.mean + 0.049 * ref.std)
    assert not band.contains(ref.mean + 0.051 * ref.std)


def test_a_half_sd_shift_is_caught_in_one_hour_of_270_rows() -> None:
    rng = np.random.default_rng(3)
    ref = _moments(rng.normal(50, 10, 1900))
    caught = sum(
        not mean_band(_moments(cur := rng.normal(55, 10, 270)), ref, ChangeTest()).contains(
            float(cur.mean())
        )
        for _ in range(200)
    )
    assert caught >= 190


def test_std_band_flags_at_alpha_and_catches_doubled_variance() -> None:
    rng = np.random.default_rng(4)

    def band_of(cur: np.ndarray, ref: np.ndarray) -> tuple[float, ChangeBand]:
        return float(cur.std()), std_band(_moments(cur), _moments(ref), NO_FLOOR)

    assert _false_flags(band_of, rng, lambda r, n: r.normal(0, 1, n)) <= MOST_FLAGS
    ref = rng.normal(0, 1, 1900)
    caught = sum(
        not std_band(
            _moments(c := rng.normal(0, math.sqrt(2), 270)), _moments(ref), ChangeTest()
        ).contains(float(c.std()))
        for _ in range(100)
    )
    assert caught >= 95


def test_the_kurtosis_reads_the_tails() -> None:
    rng = np.random.default_rng(5)
    for sample in (
        rng.lognormal(3.0, 1.0, 20_000),
        rng.normal(0, 1, 20_000),
        rng.uniform(size=500),
    ):
        own = float(np.mean((sample - sample.mean()) ** 4) / sample.var() ** 2)
        assert kurtosis_of(ExactQuantiles.of(sample)) == pytest.approx(own, rel=0.1)


def test_heavy_tails_widen_the_std_band() -> None:
    rng = np.random.default_rng(5)
    heavy = rng.standard_t(6, 20_000)  # kurtosis 6
    kurtosis = kurtosis_of(ExactQuantiles.of(heavy))
    assert 4 < kurtosis <= MAX_STD_KURTOSIS
    cur, ref = _moments(heavy[:270]), _moments(heavy[270:2170])
    normal = std_band(cur, ref, NO_FLOOR)
    wide = std_band(cur, ref, NO_FLOOR, kurtosis=kurtosis)
    assert wide.upper / wide.expected > normal.upper / normal.expected


def test_the_std_of_a_column_with_tails_too_heavy_is_not_tested() -> None:
    # A day of 4,800 values against a week: at alpha 1e-6 the normal approximation of ln sd
    # flagged 60 in 300 unchanged lognormal(σ=1.5) days; untested, none is flagged.
    rng = np.random.default_rng(8)
    flagged = 0
    for _ in range(40):
        ref, cur = rng.lognormal(0.0, 1.5, 7 * 4800), rng.lognormal(0.0, 1.5, 4800)
        kurtosis = kurtosis_of(ExactQuantiles.of(ref))
        assert kurtosis > MAX_STD_KURTOSIS
        band = std_band(_moments(cur), _moments(ref), ChangeTest(), kurtosis=kurtosis)
        assert math.isnan(band.expected)
        flagged += not band.contains(float(cur.std()))
    assert flagged == 0
    # Just inside the limit the band is a real one and still catches a doubled variance.
    ref = rng.normal(0, 1, 7 * 4800)
    doubled = rng.normal(0, math.sqrt(2), 4800)
    band = std_band(_moments(doubled), _moments(ref), ChangeTest(), kurtosis=MAX_STD_KURTOSIS)
    assert not band.contains(float(doubled.std()))


def _std_changed(current: np.ndarray, reference: np.ndarray) -> bool:
    cur, ref = ExactQuantiles.of(current), ExactQuantiles.of(reference)
    found = numeric_changes(
        cur, _moments(current), ref, _moments(reference), ChangeTest(), ks=0.0, ks_sketch_error=0
    )
    return next(t for t in found if t.statistic == "std").changed


def test_the_kurtosis_of_both_sides_is_the_heavier_reading() -> None:
    rng = np.random.default_rng(12)
    light, heavy = rng.normal(0, 1, 500), rng.lognormal(0, 1, 500)
    both = heavier_kurtosis(ExactQuantiles.of(light), ExactQuantiles.of(heavy))
    assert both == kurtosis_of(ExactQuantiles.of(heavy)) > kurtosis_of(ExactQuantiles.of(light))
    assert heavier_kurtosis(ExactQuantiles.of(heavy), ExactQuantiles.of(light)) == both
    assert heavier_kurtosis(ExactQuantiles.of([1.0]), ExactQuantiles.of(light)) == pytest.approx(
        kurtosis_of(ExactQuantiles.of(light))
    )
    assert math.isnan(heavier_kurtosis(ExactQuantiles.of([]), ExactQuantiles.of([2.0])))


def test_a_day_holding_one_huge_value_of_a_heavy_column_is_not_a_spread_change() -> None:
    # Issue 20: a lognormal(σ=1) week of 1,400 values read a kurtosis under 20, and a day of
    # 200 holding one huge value (sd 110 against 36) paged. Unchanged days of this shape
    # flagged 36 in 20,000 with the reference's kurtosis; with the heavier reading, none.
    rng = np.random.default_rng(20)
    week = rng.lognormal(3.0, 1.0, 1400)
    while kurtosis_of(ExactQuantiles.of(week)) > 15:
        week = rng.lognormal(3.0, 1.0, 1400)
    day = np.append(rng.lognormal(3.0, 1.0, 199), 1500.0)
    assert day.std() / week.std() > 2.5
    reference_only = std_band(
        _moments(day), _moments(week), ChangeTest(), kurtosis=kurtosis_of(ExactQuantiles.of(week))
    )
    assert not reference_only.contains(float(day.std()))  # what paged
    assert not _std_changed(day, week)
    flagged = sum(
        _std_changed(rng.lognormal(3.0, 1.0, 200), rng.lognormal(3.0, 1.0, 1400))
        for _ in range(1000)
    )
    assert flagged == 0


def test_a_doubled_variance_of_a_normal_column_is_still_a_spread_change() -> None:
    # Each side's kurtosis is its own (scaled by itself), so a doubled variance reads 3 on both
    # sides and the band stays as narrow as the normal one: a day of 200 against a week of
    # 1,400 is flagged in about 92% of draws (95% with the reference's kurtosis alone).
    rng = np.random.default_rng(21)
    caught = sum(
        _std_changed(rng.normal(0, math.sqrt(2), 200), rng.normal(0, 1, 1400)) for _ in range(200)
    )
    assert caught >= 170
    assert not any(_std_changed(rng.normal(0, 1, 200), rng.normal(0, 1, 1400)) for _ in range(200))


def test_the_farthest_value_bounds_the_kurtosis_from_below() -> None:
    # One value d from the mean: m4 >= d^4 / n, so the kurtosis >= (d / sd)^4 / n.
    values = np.array([-1.0, 1.0] * 250 + [30.0])
    moments = _moments(values)
    exact = float(np.mean((values - values.mean()) ** 4) / values.var() ** 2)
    bound = extreme_kurtosis(moments)
    assert bound == pytest.approx((values.max() - values.mean()) ** 4 / values.var() ** 2 / 501)
    assert 0.9 * exact < bound <= exact  # the one value holds almost all of m4
    assert extreme_kurtosis(_moments(-values)) == pytest.approx(bound)  # either side
    assert math.isnan(extreme_kurtosis(_moments(np.ones(10))))
    assert math.isnan(extreme_kurtosis(_moments(np.array([1.0]))))


def test_an_hour_whose_sketch_lost_its_huge_value_is_not_a_spread_change() -> None:
    # Calm seed 60: a Student-t feature's hour of 347 values held one of 84.3, which its exact
    # moments kept and (in about half of the sketches of that hour) its KLL sketch's items lost.
    # The sketch then read a light tail, and "std 4.74, expected 1.7" paged. Here the sketch
    # is the hour without the value.
    rng = np.random.default_rng(60)
    week = rng.standard_t(3, 3500)
    while kurtosis_of(ExactQuantiles.of(week)) > 15:
        week = rng.standard_t(3, 3500)
    rest = rng.standard_t(3, 499)
    while kurtosis_of(ExactQuantiles.of(rest)) > 15:
        rest = rng.standard_t(3, 499)
    hour = np.append(rest, 95.0)
    sketch, reference = ExactQuantiles.of(rest), ExactQuantiles.of(week)
    assert heavier_kurtosis(sketch, reference) < MAX_STD_KURTOSIS
    lost = std_band(
        _moments(hour), _moments(week), ChangeTest(), kurtosis=heavier_kurtosis(sketch, reference)
    )
    assert not lost.contains(float(hour.std()))  # what paged
    kurtosis = spread_kurtosis(sketch, _moments(hour), reference, _moments(week))
    assert kurtosis == pytest.approx(extreme_kurtosis(_moments(hour)))
    assert kurtosis > MAX_STD_KURTOSIS
    found = numeric_changes(
        sketch, _moments(hour), reference, _moments(week), ChangeTest(), ks=0.0, ks_sketch_error=0
    )
    assert not next(t for t in found if t.statistic == "std").changed
    # A value just short of the bound's limit leaves the spread tested (the other side).
    sd = float(hour.std())
    edge = hour.mean() + sd * (MAX_STD_KURTOSIS * hour.size) ** 0.25
    assert extreme_kurtosis(replace(_moments(hour), max=edge * 0.99)) < MAX_STD_KURTOSIS
    assert extreme_kurtosis(replace(_moments(hour), max=edge * 1.01)) > MAX_STD_KURTOSIS


def test_the_farthest_value_leaves_a_normal_columns_spread_test_alone() -> None:
    # A normal sample's farthest value of 500 is ~3 sd: a bound of ~0.2, far under the
    # heavier reading of ~3. A doubled variance is caught exactly as before.
    rng = np.random.default_rng(22)
    for _ in range(50):
        cur, ref = rng.normal(0, math.sqrt(2), 200), rng.normal(0, 1, 1400)
        a, b = ExactQuantiles.of(cur), ExactQuantiles.of(ref)
        assert spread_kurtosis(a, _moments(cur), b, _moments(ref)) == heavier_kurtosis(a, b)


def test_quantile_band_flags_at_most_alpha() -> None:
    rng = np.random.default_rng(6)

    def band_of(cur: np.ndarray, ref: np.ndarray) -> tuple[float, ChangeBand]:
        current, reference = ExactQuantiles.of(cur), ExactQuantiles.of(ref)
        return float(current.quantiles([0.5])[0]), quantile_band(current, reference, 0.5, NO_FLOOR)

    assert _false_flags(band_of, rng, lambda r, n: r.normal(0, 1, n)) <= MOST_FLAGS


@pytest.mark.parametrize(("n_current", "n_reference"), [(12, 84), (40, 280)])
@pytest.mark.parametrize("level", [0.05, 0.95])
def test_tail_quantile_bands_of_few_values_flag_at_most_alpha(
    n_current: int, n_reference: int, level: float
) -> None:
    """The rank of a tail quantile of few values is skewed (Beta), not normal: the normal band
    flagged p05 of 12 heavy-tailed values in 16% of windows with no change at alpha 0.001."""
    rng = np.random.default_rng(14)
    flags = 0
    for _ in range(TRIALS):
        current = ExactQuantiles.of(rng.standard_t(3, n_current))
        reference = ExactQuantiles.of(rng.standard_t(3, n_reference))
        band = quantile_band(current, reference, level, NO_FLOOR)
        flags += not band.contains(float(current.quantiles([level])[0]))
    assert flags <= MOST_FLAGS


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_tail_quantile_beyond_the_reference_s_extreme_is_not_a_change_at_small_n(
    sign: float,
) -> None:
    """p05 (p95 mirrored) of 40 heavy-tailed values below the least (above the greatest) of 280:
    2 values there, 1.5% of windows with no change. That side of the band bounds nothing."""
    rng = np.random.default_rng(11)
    level = 0.05 if sign > 0 else 0.95
    flags = 0
    for _ in range(2000):
        current = ExactQuantiles.of(sign * rng.standard_t(3, 40))
        reference = ExactQuantiles.of(sign * rng.standard_t(3, 280))
        band = quantile_band(current, reference, level, ChangeTest())
        unbounded, bounded = (band.lower, band.upper) if sign > 0 else (band.upper, band.lower)
        assert math.isnan(unbounded) and math.isfinite(bounded)
        flags += not band.contains(float(current.quantiles([level])[0]))
    assert flags == 0


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_tail_quantile_beyond_the_reference_s_extreme_is_a_change_at_large_n(
    sign: float,
) -> None:
    """270 values against 1,900: 14 values beyond the reference's extreme happen 1 time in
    10^10 with no change, so the edge stays and a tail moved past it is flagged."""
    rng = np.random.default_rng(12)
    level = 0.05 if sign > 0 else 0.95
    reference_values = sign * rng.normal(0, 1, 1900)
    current_values = sign * rng.normal(0, 1, 270)
    extreme = reference_values.min() if sign > 0 else reference_values.max()
    current_values[:20] = extreme - sign * 1.0  # 7% of the window beyond the reference
    reference, current = ExactQuantiles.of(reference_values), ExactQuantiles.of(current_values)
    band = quantile_band(current, reference, level, ChangeTest())
    assert (band.lower if sign > 0 else band.upper) == pytest.approx(extreme)
    assert not band.contains(float(current.quantiles([level])[0]))
    calm = ExactQuantiles.of(sign * rng.normal(0, 1, 270))
    assert quantile_band(calm, reference, level, ChangeTest()).contains(
        float(calm.quantiles([level])[0])
    )


def test_beyond_extreme_chance_is_the_chance_the_most_extreme_values_are_the_window_s() -> None:
    assert beyond_extreme_chance(2, 2, 0.5) == pytest.approx(2 / 4)  # the least of 4 is ours
    assert beyond_extreme_chance(2, 2, 1.0) == pytest.approx(1 / 6)  # both: 1 of C(4, 2)
    rng = np.random.default_rng(13)
    pooled = rng.random((20_000, 40 + 280))
    beyond = (pooled[:, :40] < pooled[:, 40:].min(axis=1, keepdims=True)).sum(axis=1) >= 2
    assert beyond.mean() == pytest.approx(beyond_extreme_chance(40, 280, 0.05), rel=0.1)


def test_ks_limit_is_the_critical_value_and_the_minimum() -> None:
    rng = np.random.default_rng(7)
    flags = 0
    for _ in range(TRIALS):
        cur, ref = np.sort(rng.normal(0, 1, 270)), np.sort(rng.normal(0, 1, 1900))
        grid = np.union1d(cur, ref)
        ks = np.max(
            np.abs(
                np.searchsorted(cur, grid, side="right") / cur.size
                - np.searchsorted(ref, grid, side="right") / ref.size
            )
        )
        flags += ks > ks_limit(270, 1900, 0.0, NO_FLOOR)
    assert flags <= MOST_FLAGS
    assert ks_limit(1e6, 1e6, 0.0, ChangeTest(min_ks=0.05)) == 0.05
    assert ks_limit(1e6, 1e6, 0.02, ChangeTest(min_ks=0.0)) > 0.02  # sketch error added
    assert math.isnan(ks_limit(1, 100, 0.0, ChangeTest()))


def test_share_limit_flags_at_most_alpha() -> None:
    rng = np.random.default_rng(8)
    shares = np.array([0.4, 0.35, 0.2, 0.05])
    flags = 0
    for _ in range(TRIALS):
        cur = rng.multinomial(270, shares).astype(float)
        ref = rng.multinomial(1900, shares).astype(float)
        moved, limit = share_change(cur, ref, 0.0, NO_FLOOR)
        flags += moved > limit
    assert flags <= MOST_FLAGS
    # A new category on 10% of 150 rows against 1,000 rows that never saw it.
    new = np.array([0.9 * 150 * s for s in shares] + [15.0])
    old = np.array([1000 * s for s in shares] + [0.0])
    moved, limit = share_change(new, old, 0.0, ChangeTest())
    assert moved == pytest.approx(0.1) and moved > limit
    # Just inside the minimum share: a 2.9-point move on a million rows is no change.
    big = np.array([1e6 * 0.5, 1e6 * 0.5])
    assert np.subtract(*share_change(np.array([0.529e6, 0.471e6]), big, 0.0, ChangeTest())) < 0
    assert np.subtract(*share_change(np.array([0.531e6, 0.469e6]), big, 0.0, ChangeTest())) > 0


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="alpha must be in"):
        ChangeTest(alpha=0.7)
    with pytest.raises(ConfigError, match="min_mean_sd must be a finite number"):
        ChangeTest(min_mean_sd=-1)


def test_a_median_of_few_values_clipped_on_both_sides_bounds_neither() -> None:
    """Each clipped side is judged on its own (the median's two tails are the same share)."""
    band = quantile_band(
        ExactQuantiles.of(np.array([1.0, 2.0])),
        ExactQuantiles.of(np.array([0.0, 1.5, 3.0])),
        0.5,
        ChangeTest(),
    )
    assert math.isnan(band.lower) and math.isnan(band.upper)
    assert band.contains(100.0) and band.contains(-100.0)
