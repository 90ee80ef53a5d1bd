"""drift_series on profiles: small between samples of one distribution, large after a shift."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as scipy_stats

from vigil.core import SeriesKey, ValueKind, Window
from vigil.ingest import Column, RecordBatch
from vigil.profile import FrequentItems, Profile, ProfileSpec, QuantileSketch, profile_batch
from vigil.profile.synthetic import prediction_meta
from vigil.stats import (
    FrequentSource,
    PooledQuantiles,
    QuantileSource,
    Reference,
    StatsSpec,
    numeric_drift,
)
from vigil.stats.drift import drift_series
from vigil.stats.series import Series

START = datetime(2026, 11, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
SPEC = StatsSpec(reference=Reference.trailing(timedelta(hours=3)))
COUNTRIES = ["DE", "FR", "US", "IT"]


def _records(
    hour: int, n: int, seed: int, *, age_shift: float = 0.0, countries: list[float] | None = None
) -> RecordBatch:
    """``n`` prediction rows in one hour, built as columns (fast; the ingest path is tested
    elsewhere): age ~ N(40 + shift, 10), country by ``countries`` shares, score ~ Beta."""
    rng = np.random.default_rng(seed)
    shares = countries or [0.4, 0.3, 0.2, 0.1]
    meta = prediction_meta(n, start=START + hour * HOUR, span=HOUR)
    country = Column(
        kinds=np.full(n, ValueKind.STRING, dtype=np.int8),
        numbers=np.full(n, np.nan),
        texts=pa.array(rng.choice(COUNTRIES, n, p=shares).tolist(), pa.string()),
    )
    return RecordBatch(
        meta=meta,
        features={
            "age": Column.from_numbers(rng.normal(40 + age_shift, 10, n)),
            "country": country,
        },
        outputs={"score": Column.from_numbers(rng.beta(2 + age_shift / 5, 5, n))},
    )


def _profiles(*batches: RecordBatch) -> list[Profile]:
    return [p for batch in batches for p in profile_batch(batch, ProfileSpec()).values()]


def _get(series: list[Series], family: str, column: str, statistic: str) -> Series:
    key = SeriesKey(model="ranker", version="v1", family=family, column=column, statistic=statistic)
    found = [s for s in series if s.key == key]
    assert found, f"no series {key}; have {sorted({s.key.statistic for s in series})}"
    return found[0]


def test_profile_sketches_are_drift_sources() -> None:
    assert isinstance(QuantileSketch.empty(64), QuantileSource)
    assert isinstance(FrequentItems.empty(6), FrequentSource)


def test_ks_from_profile_sketches_agrees_with_scipy_within_stated_error() -> None:
    rng = np.random.default_rng(21)
    k = ProfileSpec().kll_k
    for shift in (0.0, 0.25, 1.0):
        cur, ref = rng.lognormal(shift, 1.0, 30_000), rng.lognormal(0.0, 1.0, 50_000)
        ks = numeric_drift(
            QuantileSketch.empty(k).update(cur), QuantileSketch.empty(k).update(ref)
        )[0]
        assert abs(ks.value - scipy_stats.ks_2samp(cur, ref).statistic) <= ks.sketch_error


def test_same_distribution_stays_small_and_shift_is_large() -> None:
    healthy = [_records(h, 3000, seed=h) for h in range(3)]
    same = _profiles(*healthy, _records(3, 3000, seed=3))
    moved = _profiles(
        *[_records(h, 3000, seed=h) for h in range(3)],
        _records(3, 3000, seed=3, age_shift=10.0, countries=[0.1, 0.2, 0.3, 0.4]),
    )
    calm, shifted = drift_series(same, None, SPEC), drift_series(moved, None, SPEC)
    # Numeric feature: one standard deviation of shift (true KS = 2Φ(½) − 1 ≈ 0.383).
    assert _get(calm, "drift", "age", "ks").values[3] < 0.05
    assert _get(shifted, "drift", "age", "ks").values[3] == pytest.approx(0.383, abs=0.04)
    assert _get(calm, "drift", "age", "psi").values[3] < 0.02
    assert _get(shifted, "drift", "age", "psi").values[3] > 0.25
    assert _get(shifted, "drift", "age", "wasserstein_std").values[3] == pytest.approx(1.0, abs=0.1)
    # Categorical feature: shares 0.4/0.3/0.2/0.1 reversed; the largest change is 0.3.
    assert _get(calm, "drift", "country", "linf").values[3] < 0.03
    assert _get(shifted, "drift", "country", "linf").values[3] == pytest.approx(0.3, abs=0.03)
    assert _get(shifted, "drift", "country", "chi2").values[3] > 100
    # Output drift stays in the output family.
    assert _get(shifted, "output", "score", "drift_ks").values[3] > 0.2
    assert _get(calm, "output", "score", "drift_ks").values[3] < 0.05


def test_first_window_has_no_reference_and_support_is_the_smaller_sample() -> None:
    profiles = _profiles(_records(0, 800, 0), _records(1, 700, 1), _records(2, 12, 2))
    ks = _get(drift_series(profiles, None, SPEC), "drift", "age", "ks")
    assert math.isnan(ks.values[0])
    assert ks.support is not None
    assert math.isnan(ks.support[0])
    assert ks.support[1:].tolist() == [700.0, 12.0]  # min(700, 800); min(12, 800 + 700)


def test_fixed_reference_and_since() -> None:
    profiles = _profiles(*[_records(h, 4000, h, age_shift=2.0 * h) for h in range(5)])
    baseline = Reference.fixed(profiles[0].key.window)
    series = drift_series(profiles, baseline, SPEC, since=START + 2 * HOUR)
    wstd = _get(series, "drift", "age", "wasserstein_std")
    assert len(wstd) == 3  # windows 2, 3, 4 only
    # Age moves 0.2 sd per hour away from the fixed hour-0 baseline. For a pure location shift
    # W1 is the distance of the means; in the samples' own moments, within the sampling noise of
    # a W1 between two samples of 4000 (~0.03 sd) and the sketches' quantile error.
    base = profiles[0].features["age"].moments
    shifts = [(p.features["age"].moments.mean - base.mean) / base.std for p in profiles[2:]]
    assert wstd.values == pytest.approx(shifts, abs=0.05)
    assert shifts == pytest.approx([0.4, 0.6, 0.8], abs=0.1)


def test_a_fixed_reference_merged_once_reads_as_the_same_windows_merged_per_window() -> None:
    """Hours 0-2 as a fixed baseline are merged once for every later window; hour 3's
    reference is also exactly the trailing 3 hours, merged for it alone: the same values."""
    profiles = _profiles(*[_records(h, 500, h, age_shift=h - 3.0) for h in range(6)])
    baseline = Reference.fixed(Window(start=START, end=START + 3 * HOUR))
    fixed = drift_series(profiles, baseline, SPEC, since=START + 3 * HOUR)
    trailing = drift_series(profiles, Reference.trailing(3 * HOUR), SPEC, since=START + 3 * HOUR)
    by_key = {one.key: one for one in trailing}
    assert len(fixed) == len(by_key) > 20
    for one in fixed:
        np.testing.assert_array_equal(one.values[:1], by_key[one.key].values[:1], str(one.key))
    ks = _get(fixed, "drift", "age", "ks").values
    assert ks[0] < ks[1] < ks[2]  # later hours move further from the one baseline


def test_drift_is_the_same_in_every_run_whatever_the_reference_order() -> None:
    """A KLL merge compacts with random coin flips, so a merged reference differed between runs
    (and with the order of its windows); the pooled reference does not."""
    profiles = _profiles(*[_records(h, 3000, seed=h) for h in range(4)])
    first = _get(drift_series(profiles, None, SPEC), "drift", "age", "g_test").values
    for _ in range(3):
        again = _get(drift_series(profiles[::-1], None, SPEC), "drift", "age", "g_test").values
        np.testing.assert_array_equal(again, first)


def test_pooled_reference_reads_like_its_sketches_and_within_their_rank_error() -> None:
    rng = np.random.default_rng(5)
    parts = [rng.lognormal(0.0, 1.0, n) for n in (9_000, 4_000, 250, 1)]
    sketches = [QuantileSketch.empty(ProfileSpec().kll_k).update(p) for p in parts]
    points = np.quantile(np.concatenate(parts), np.linspace(0.01, 0.99, 99))
    single = PooledQuantiles.of(sketches[:1])
    np.testing.assert_array_equal(single.cdf(points), sketches[0].cdf(points))
    pooled = PooledQuantiles.of(sketches)
    assert pooled.n == sum(p.size for p in parts)
    everything = np.sort(np.concatenate(parts))
    exact = np.searchsorted(everything, points, side="right") / everything.size
    assert np.abs(pooled.cdf(points) - exact).max() <= pooled.normalized_rank_error
    levels = np.linspace(0.0, 1.0, 201)
    ranks = np.searchsorted(everything, pooled.quantiles(levels), side="right") / everything.size
    assert np.all(ranks >= levels - pooled.normalized_rank_error)
    assert PooledQuantiles.of([]).n == 0
    assert np.isnan(PooledQuantiles.of([]).quantiles([0.5])).all()
