"""The drift computed for many windows at once (issue 22) answers to the last bit what the
one-window code answers: every value, sample size, sketch error and p-value of every pair,
over every shape a window's column takes, and whole drift series with the windows that drifted
left out of later references, as comparing one window at a time leaves them out."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from vigil.core import ConfigError, SeriesKey, Window
from vigil.ingest import Column, RecordBatch
from vigil.profile import Moments, Profile, ProfileSpec, QuantileSketch, profile_batch
from vigil.profile.synthetic import prediction_meta
from vigil.stats import StatsSpec, change, drift, drift_day
from vigil.stats.change import ChangeTest, numeric_changes
from vigil.stats.column_drift import ks_drift, numeric_drift
from vigil.stats.divergence import Divergence, midpoint_levels
from vigil.stats.numeric_bands import numeric_changes_batch
from vigil.stats.numeric_batch import (
    Quantiled,
    ks_drift_batch,
    numeric_drift_batch,
    stacked_quantiles,
)
from vigil.stats.reference import WindowQuantiles
from vigil.stats.sketches import PooledQuantiles
from vigil.stats.timeline import SeriesCollector

HOUR = timedelta(hours=1)
START = datetime(2026, 3, 2, tzinfo=UTC)


def _samples() -> list[np.ndarray]:
    """A window's column in every shape: empty, one value, two, a constant, three values with
    ties, rounded ties, a heavy tail, NaN among the values (the sketch skips them), and enough
    values to compact (weights 2, 4, ...)."""
    rng = np.random.default_rng(22)
    return [
        np.zeros(0),
        np.array([3.5]),
        np.array([2.0, 1.0]),
        np.full(500, 7.0),
        rng.integers(0, 3, 900).astype(np.float64),
        np.round(rng.normal(5.0, 2.0, 200), 1),
        rng.lognormal(0.0, 1.5, 3000),
        np.where(rng.random(300) < 0.2, np.nan, rng.normal(5.0, 2.0, 300)),
        rng.normal(0.0, 1.0, 20000),
        np.concatenate([np.full(150, 0.0), np.full(50, -0.0), rng.normal(0.0, 1.0, 30)]),
    ]


def _sketch(values: np.ndarray) -> QuantileSketch:
    return QuantileSketch.empty(ProfileSpec().kll_k).update(values[~np.isnan(values)])


def _pool(sketches: list[QuantileSketch]) -> PooledQuantiles:
    return PooledQuantiles.of(sketches)


def _bits(found: tuple[Divergence, ...]) -> list[tuple[str, bytes]]:
    """Every field of every divergence, floats as their bytes (NaN equal to NaN)."""
    return [
        (
            d.statistic,
            struct.pack("5d", d.value, d.n_current, d.n_reference, d.p_value, d.sketch_error),
        )
        for d in found
    ]


def _pairs() -> list[tuple[WindowQuantiles, PooledQuantiles, float]]:
    sketches = [_sketch(values) for values in _samples()]
    references = [
        _pool([]),
        _pool([sketches[1]]),
        _pool([sketches[3]] * 7),
        _pool(sketches[4:6] * 3),
        _pool([sketches[5], sketches[7], sketches[9]]),
        _pool([sketches[6], sketches[8]]),
        _pool(sketches),
    ]
    stds = [math.nan, 0.0, 1.5]
    return [
        (WindowQuantiles.of(sketch), reference, stds[(i + j) % 3])
        for i, sketch in enumerate(sketches)
        for j, reference in enumerate(references)
    ]


@pytest.mark.parametrize("grid_size", [2, 7, 512])
def test_the_batched_numeric_drift_is_each_pairs_own(grid_size: int) -> None:
    pairs = _pairs()
    batched = numeric_drift_batch(pairs, grid_size=grid_size)
    alone = [
        numeric_drift(c, r, grid_size=grid_size, reference_std=s, with_p_values=False)
        for c, r, s in pairs
    ]
    assert [_bits(found) for found in batched] == [_bits(found) for found in alone]
    # The shapes reach every path: empty sides, tied deciles, empty bins, all bins filled.
    values = np.array([[d.value for d in found] for found in alone])
    assert np.isnan(values[:, 0]).sum() >= 7 and np.isfinite(values[:, 0]).sum() > 40


def test_a_batch_below_two_grid_levels_is_refused_as_one_pair_is() -> None:
    """Below 2 levels nothing is batched: each pair goes to the one-pair code, which refuses."""
    pairs = _pairs()[:3]
    with pytest.raises(ConfigError, match="grid_size must be >= 2"):
        numeric_drift_batch(pairs, grid_size=1)
    with pytest.raises(ConfigError, match="grid_size must be >= 2"):
        ks_drift_batch([(c, r) for c, r, _ in pairs], grid_size=1)


def test_a_batch_with_weights_that_are_not_whole_answers_one_pair_at_a_time() -> None:
    """The stacked search needs whole weights (a KLL weight is a power of two); pools of
    other weights are answered by the one-pair code, still the same."""
    rng = np.random.default_rng(4)
    odd = PooledQuantiles.of_weighted_items(
        [(np.sort(rng.normal(0.0, 1.0, 50)), np.full(50, 0.5))], rank_error=0.0
    )
    current = WindowQuantiles.of(_sketch(rng.normal(0.3, 1.0, 80)))
    pairs = [(current, odd, 1.0), *_pairs()[:5]]
    alone = [numeric_drift(c, r, reference_std=s, with_p_values=False) for c, r, s in pairs]
    assert [_bits(f) for f in numeric_drift_batch(pairs)] == [_bits(f) for f in alone]


def test_stacked_quantiles_are_each_sources_own_at_the_ends_too() -> None:
    sketches = [_sketch(values) for values in _samples() if values.size]
    windows = [WindowQuantiles.of(s) for s in sketches]
    pools = [_pool(sketches[i : i + 3]) for i in range(len(sketches))]
    levels = np.concatenate([[0.0, 1e-12, 0.07, 0.5, 1.0 - 1e-12, 1.0], midpoint_levels(64)])
    sources: list[Quantiled] = [*windows, *pools, pools[2], windows[0], pools[2]]  # repeats
    found = stacked_quantiles(sources, levels)
    np.testing.assert_array_equal(found, np.stack([s.quantiles(levels) for s in sources]))
    rows = np.random.default_rng(3).random((len(sources), 5))  # a row of levels per source
    found = stacked_quantiles(sources, rows)
    expected = [s.quantiles(row) for s, row in zip(sources, rows, strict=True)]
    np.testing.assert_array_equal(found, np.stack(expected))
    large: list[Quantiled] = [_pool(sketches * 6), windows[0], _pool(sketches[4:] * 9)]
    assert sum(s.cumulative.size for s in large) > 2048 * len(large)  # searched one by one
    found = stacked_quantiles(large, levels)
    np.testing.assert_array_equal(found, np.stack([s.quantiles(levels) for s in large]))


def test_the_batched_ks_of_trailing_days_is_each_pairs_own() -> None:
    """The day-long drift: pooled days on both sides, one reference shared by many windows,
    and a reference reweighted to another mix of hours (weights not whole) among them."""
    sketches = [_sketch(values) for values in _samples()]
    days = [_pool(sketches[i : i + 4]) for i in range(len(sketches))]
    reference = _pool(sketches)
    reweighted = PooledQuantiles(
        values=reference.values,
        cumulative=np.cumsum(np.diff(reference.cumulative, prepend=0.0) * 0.7),
        rank_error=reference.rank_error,
    )
    large = _pool(sketches * 6)  # trailing days of thousands of items are searched one by one
    pairs = [(day, ref) for day in days for ref in (reference, reweighted, days[3], _pool([]))]
    pairs += [(large, reference), (large, large)]
    batched = ks_drift_batch(pairs, grid_size=512)
    alone = [ks_drift(cur, ref, grid_size=512) for cur, ref in pairs]
    assert _bits(tuple(batched)) == _bits(tuple(alone))


def _tested_bits(found: list[change.Tested]) -> list[tuple[str, bytes]]:
    return [
        (
            t.statistic,
            struct.pack("5d", t.value, t.support, t.band.expected, t.band.lower, t.band.upper),
        )
        for t in found
    ]


@pytest.mark.parametrize("test", [ChangeTest(), ChangeTest(alpha=0.2, min_rank_shift=0.01)])
def test_the_batched_bands_are_each_pairs_own(test: ChangeTest) -> None:
    """Mean, standard deviation (with the heavier kurtosis), three quantiles (bands clipped at
    the reference's extremes at ``alpha`` 0.2, on a few values) and KS, for every pair of
    window and reference shapes."""
    samples = [values[~np.isnan(values)] for values in _samples()]
    moments = [Moments.of(values) for values in samples]
    pairs = _pairs()
    ref_moments = [
        moments[0],
        moments[1],
        moments[3],
        moments[4],
        moments[5],
        moments[6],
        moments[8],
    ]
    changes = [
        (cur, moments[i // 7], ref, ref_moments[i % 7], found[0])
        for i, ((cur, ref, _), found) in enumerate(
            zip(pairs, numeric_drift_batch(pairs), strict=True)
        )
    ]
    alone = [
        numeric_changes(c, cm, r, rm, test, ks=ks.value, ks_sketch_error=ks.sketch_error)
        for c, cm, r, rm, ks in changes
    ]
    batched = numeric_changes_batch(changes, test)
    assert [_tested_bits(t) for t in batched] == [_tested_bits(t) for t in alone]
    bands = np.array([[t.band.lower for t in found] for found in alone])
    assert np.isnan(bands).any() and np.isfinite(bands).sum() > 100  # clipped and whole bands


def _hours(days: int, *, constant_days: range) -> list[Profile]:
    """``days`` of hourly profiles of 40 rows, ``age`` stuck at 40 through ``constant_days``
    and empty (no row has it) in each day's first hour."""
    rng = np.random.default_rng(11)
    found = []
    for hour in range(24 * days):
        meta = prediction_meta(40, start=START + hour * HOUR, span=HOUR)
        stuck = hour // 24 in constant_days
        age = np.full(40, 40.0) if stuck else rng.normal(40.0, 10.0, 40)
        if hour % 24 == 0:
            age = np.full(40, np.nan)
        batch = RecordBatch(
            meta=meta,
            features={"age": Column.from_numbers(age)},
            outputs={"score": Column.from_numbers(rng.beta(2.0, 5.0, 40))},
        )
        found += list(profile_batch(batch, ProfileSpec()).values())
    return found


def test_drift_in_batches_of_windows_is_drift_one_window_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch holds no window another of its windows is compared with, so what drifted is
    known before any reference is pooled: the series equal comparing one window at a time,
    which is the order the code had before the batches."""
    profiles = _hours(12, constant_days=range(6, 10))
    spec = StatsSpec(exclude_changed=True)
    batched = drift.drift_series(profiles, None, spec)
    sizes: list[int] = []
    compare = drift._compare

    def one_at_a_time(*args: Any) -> None:
        collector, model, version, batch, *rest = args
        sizes.append(len(batch))
        for item in batch:
            compare(collector, model, version, [item], *rest)

    monkeypatch.setattr(drift, "_compare", one_at_a_time)
    alone = drift.drift_series(profiles, None, spec)
    assert [s.key for s in batched] == [s.key for s in alone]
    for one, other in zip(batched, alone, strict=True):
        np.testing.assert_array_equal(one.values, other.values)
        np.testing.assert_array_equal(one.support, other.support)
    assert max(sizes) == 24  # a day's windows went in one batch
    # The constant days drifted and were left out of the days after them: four of a week's
    # seven, they would have outvoted the normal days in the references of days 7 to 11 (and
    # the test fails on batches spanning days).
    age_ks = next(s for s in batched if s.key.column == "age" and s.key.statistic == "ks")
    assert np.nanmin(age_ks.values[24 * 6 + 1 : 24 * 10]) >= 0.5
    assert np.nanmax(age_ks.values[24 * 10 + 1 :]) < 0.4


def test_the_day_long_drift_in_batches_is_the_drift_one_day_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every numeric trailing day tested at once (:func:`drift_day._add_numeric`) gives what
    testing each alone gives, with windows excluded from the references."""
    profiles = _hours(12, constant_days=range(6, 10))
    spec = StatsSpec(exclude_changed=True)
    excluded = drift_day.changed_windows(drift.drift_series(profiles, None, spec), spec)
    assert excluded
    batched = drift_day.drift_day_series(profiles, spec, excluded=excluded)

    def one_at_a_time(collector: Any, numeric: Any, spec: StatsSpec) -> None:
        for point, current, base in numeric:
            for tested in drift_day._changes(current, base, spec):
                drift_day._add(collector, point, tested)

    monkeypatch.setattr(drift_day, "_add_numeric", one_at_a_time)
    alone = drift_day.drift_day_series(profiles, spec, excluded=excluded)
    assert [s.key for s in batched] == [s.key for s in alone] and len(alone) > 40
    for one, other in zip(batched, alone, strict=True):
        np.testing.assert_array_equal(one.values, other.values)
        np.testing.assert_array_equal(one.support, other.support)


def test_points_added_together_are_the_points_added_one_by_one() -> None:
    """A batch adds each series' points of all its windows at once; a window outside the
    collector (a reference only) is skipped, as :meth:`SeriesCollector.add` skips it."""
    windows = tuple(Window(start=START + h * HOUR, end=START + (h + 1) * HOUR) for h in range(6))
    outside = Window(start=START - HOUR, end=START)
    key = SeriesKey(model="m", version="v", family="drift", column="age", statistic="ks")
    together, one_by_one = SeriesCollector(windows=windows), SeriesCollector(windows=windows)
    chosen = [windows[4], outside, windows[1], windows[2]]
    values, sizes = [0.25, 9.0, math.nan, 0.5], [40.0, 1.0, 0.0, 38.0]
    together.add_points(key, chosen, values, sizes)
    together.add_points(key, [outside], [1.0], [1.0])  # nothing inside: no series from it
    for window, value, size in zip(chosen, values, sizes, strict=True):
        one_by_one.add(key, window, value, size)
    (mine,), (theirs,) = together.series(), one_by_one.series()
    np.testing.assert_array_equal(mine.values, theirs.values)
    np.testing.assert_array_equal(mine.support, theirs.support)
    assert mine.values[4] == 0.25 and np.isnan(mine.values[0])


def test_the_batched_spread_takes_the_farthest_values_kurtosis_bound_too() -> None:
    """A sketch that lost its one huge value reads a light tail, but the exact moments still
    hold it (calm seed 60's hour): both paths leave that spread untested, and a side without
    such a value is tested in both."""
    rng = np.random.default_rng(60)
    normal = rng.normal(0.0, 1.7, 346)
    light = _sketch(normal)
    reference = rng.normal(0.0, 1.7, 2400)
    pool = _pool([_sketch(reference)])
    ks = ks_drift(WindowQuantiles.of(light), pool)
    changes = [
        (
            WindowQuantiles.of(light),
            Moments.of(np.append(normal, 84.3)),
            pool,
            Moments.of(reference),
            ks,
        ),
        (WindowQuantiles.of(light), Moments.of(normal), pool, Moments.of(reference), ks),
    ]
    alone = [
        numeric_changes(c, cm, r, rm, ChangeTest(), ks=k.value, ks_sketch_error=k.sketch_error)
        for c, cm, r, rm, k in changes
    ]
    batched = numeric_changes_batch(changes, ChangeTest())
    assert [_tested_bits(t) for t in batched] == [_tested_bits(t) for t in alone]
    spread = [next(t for t in found if t.statistic == "std").band for found in batched]
    assert math.isnan(spread[0].lower) and math.isfinite(spread[1].lower)
