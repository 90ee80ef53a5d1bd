"""Shortcuts taken for speed (issue 22) answer to the last bit what the long way answered.

Each test writes the long way out again, as it stood before the shortcut, and compares arrays
with ``array_equal`` and floats with ``==``: a drift series or a band that moved in its last
digit could move an alarm.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from scipy import special

from vigil.core import ConfigError, ValueKind
from vigil.ingest import Column, RecordBatch
from vigil.profile import Profile, ProfileSpec, QuantileSketch, profile_batch
from vigil.profile.column_stats import profile_column
from vigil.profile.synthetic import prediction_meta
from vigil.stats import StatsSpec, drift_day
from vigil.stats.change import ChangeTest, _rank_reach, beyond_extreme_chance, quantile_band
from vigil.stats.column_drift import DECILES
from vigil.stats.day_pools import TrailingItems
from vigil.stats.divergence import midpoint_levels
from vigil.stats.drift import (
    column_changes,
    column_drift,
    drift_series,
    merge_reference,
    reference_column,
)
from vigil.stats.drift_day import changed_windows, drift_day_series
from vigil.stats.kurtosis import _kurtosis_grid, kurtosis_of
from vigil.stats.reference import (
    ReferenceWindow,
    WindowFrequent,
    WindowQuantiles,
    median_of_rows,
)
from vigil.stats.sketches import ExactQuantiles, PooledQuantiles, QuantileSource

HOUR = timedelta(hours=1)
START = datetime(2026, 3, 2, tzinfo=UTC)


def _windows(count: int, n: int, *, seed: int) -> list[ReferenceWindow]:
    """``count`` windows of ``n`` values with many ties (rounded), compacted by KLL (weights
    above 1), as one column's reference windows."""
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(count):
        values = np.round(rng.normal(5.0, 2.0, n), 1)
        column = Column(
            kinds=np.full(n, ValueKind.NUMBER, dtype=np.int8),
            numbers=values,
            texts=pa.nulls(n, pa.string()),
        )
        found.append(ReferenceWindow.of(profile_column(column, ProfileSpec())))
    return found


@pytest.mark.parametrize(("count", "n"), [(1, 50), (7, 200), (7, 3000)])
def test_a_reference_pooled_from_sorted_runs_is_the_pool_of_the_items_as_listed(
    count: int, n: int
) -> None:
    windows = _windows(count, n, seed=n + count)
    assert any(w.quantiles.weights.max() > 1 for w in windows) or n < 1000
    pooled = merge_reference(windows).quantiles
    as_listed = PooledQuantiles.of_weighted_items(
        [(w.quantiles.items, w.quantiles.weights) for w in windows],
        rank_error=pooled.rank_error,
    )
    np.testing.assert_array_equal(pooled.values, as_listed.values)
    np.testing.assert_array_equal(pooled.cumulative, as_listed.cumulative)


def _cdf_as_before(pool: PooledQuantiles, points: np.ndarray) -> np.ndarray:
    below = np.searchsorted(pool.values, points, side="right")
    weights: np.ndarray = np.concatenate([[0.0], pool.cumulative])[below]
    return weights / float(pool.cumulative[-1])


def test_a_pooled_cdf_is_the_weight_up_to_each_point() -> None:
    pool = merge_reference(_windows(7, 3000, seed=3)).quantiles
    low, high = float(pool.values[0]), float(pool.values[-1])
    points = np.concatenate(
        [[low - 1.0, low, high, high + 1.0], pool.values[::97], pool.values[::89] + 0.05]
    )
    found = pool.cdf(points)
    np.testing.assert_array_equal(found, _cdf_as_before(pool, points))
    assert found[0] == 0.0 and found[3] == 1.0


def _kurtosis_as_before(source: QuantileSource, levels: int = 256) -> float:
    tail = 1.0 / levels
    halves: list[float] = []
    while tail > 1.0 / source.n and len(halves) < 60:
        tail /= 2.0
        halves.append(tail)
    low = np.array([0.0, *halves[::-1]])
    edges = np.concatenate([low, np.linspace(1.0 / levels, 1.0 - 1.0 / levels, levels - 1)])
    edges = np.concatenate([edges, 1.0 - low[::-1]])
    widths = np.diff(edges)
    values = source.quantiles((edges[:-1] + edges[1:]) / 2.0)
    centred = values - float(np.sum(widths * values))
    m2 = float(np.sum(widths * centred**2))
    return float(np.sum(widths * centred**4)) / m2**2 if m2 > 0 else math.nan


@pytest.mark.parametrize("n", [2, 3, 40, 200, 1400, 33600])
def test_the_kurtosis_on_a_remembered_grid_is_the_kurtosis(n: int) -> None:
    rng = np.random.default_rng(n)
    source = ExactQuantiles.of(rng.lognormal(0.0, 1.0, n))
    for _ in range(2):  # the second call reads the remembered grid
        assert kurtosis_of(source) == _kurtosis_as_before(source)
    pool = merge_reference(_windows(7, 200, seed=n)).quantiles
    assert kurtosis_of(pool) == _kurtosis_as_before(pool)


@pytest.mark.parametrize(
    ("n_current", "n_reference", "share"),
    [(200, 1400, 0.05), (4800, 33600, 0.05), (12, 290, 0.05), (52, 290, 0.0499), (3, 3, 1.0)],
)
def test_the_remembered_band_helpers_answer_as_computed_afresh(
    n_current: int, n_reference: int, share: float
) -> None:
    k = max(1, math.ceil(share * n_current - 1e-9))
    i = np.arange(k, dtype=np.float64)
    fresh = float(np.exp(np.sum(np.log((n_current - i) / (n_current + n_reference - i)))))
    for _ in range(2):
        assert beyond_extreme_chance(n_current, n_reference, share) == fresh
    test = ChangeTest()
    for level in (0.05, 0.5, 0.95):
        n = max(1.0, float(n_current))
        k_level = min(max(1.0, math.ceil(round(level * n, 9))), n)
        low, high = (
            float(special.betaincinv(k_level, n - k_level + 1.0, p))
            for p in (test.alpha / 2.0, 1.0 - test.alpha / 2.0)
        )
        reference = test.z * math.sqrt(level * (1.0 - level) / n_reference)
        expected = (
            math.hypot(max(0.0, level - low), reference),
            math.hypot(max(0.0, high - level), reference),
        )
        for _ in range(2):
            assert _rank_reach(n_current, n_reference, level, test) == expected


def test_a_quantile_band_clipped_at_the_extremes_reads_the_extremes() -> None:
    """The band's levels are clipped into [0, 1] without ``np.clip``: a level beyond either end
    reads the reference's least or greatest value, exactly as clipped."""
    reference = ExactQuantiles.of(np.arange(1.0, 401.0))
    current = ExactQuantiles.of(np.arange(1.0, 13.0))
    test = ChangeTest(alpha=0.4, min_rank_shift=0.2)
    assert quantile_band(current, reference, 0.05, test).lower == 1.0
    assert quantile_band(current, reference, 0.95, test).upper == 400.0


def test_a_sliding_trailing_pool_is_the_stable_sort_of_its_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The day-long drift's trailing pool, slid a window at a time (a new window in, the oldest
    out, windows missing, the day shrinking, a jump), equals pooling its windows afresh."""
    rng = np.random.default_rng(7)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    items: dict[datetime, tuple[np.ndarray, np.ndarray]] = {}
    for hour in range(80):
        values = np.sort(np.round(rng.normal(0.0, 1.0, int(rng.integers(1, 60))), 1))
        weights = rng.choice([1.0, 2.0, 4.0], values.size)
        items[start + hour * HOUR] = (values, weights)
    missing = {start + h * HOUR for h in (30, 31, 45)}
    rebuilt: list[int] = []
    rebuild = TrailingItems._rebuild

    def counted(self: TrailingItems, *args: Any) -> tuple[np.ndarray, np.ndarray]:
        rebuilt.append(1)
        return rebuild(self, *args)

    monkeypatch.setattr(TrailingItems, "_rebuild", counted)
    pool = TrailingItems()
    hours = [*range(60), 70, 71, 72, 20, 21]
    for hour in hours:
        window = start + hour * HOUR
        starts = [window - k * HOUR for k in range(24) if window - k * HOUR in items]
        starts = [s for s in starts if s not in missing or s == window][: 24 - (hour % 5 == 0)]
        fresh = PooledQuantiles.of_weighted_items([items[s] for s in starts], rank_error=0.0)

        def read(i: int, chosen: list[datetime] = starts) -> tuple[np.ndarray, np.ndarray]:
            return items[chosen[i]]

        values, weights = pool.slide(starts, read)
        np.testing.assert_array_equal(values, fresh.values)
        np.testing.assert_array_equal(np.cumsum(weights), fresh.cumulative)
    assert 0 < len(rebuilt) < len(hours) / 2  # most steps slid


def _hours(days: int, *, constant_day: int) -> list[Profile]:
    """``days`` of hourly profiles of 40 rows, ``age`` stuck at 40 through ``constant_day``."""
    rng = np.random.default_rng(11)
    found = []
    for hour in range(24 * days):
        meta = prediction_meta(40, start=START + hour * HOUR, span=HOUR)
        stuck = hour // 24 == constant_day
        age = np.full(40, 40.0) if stuck else rng.normal(40.0, 10.0, 40)
        batch = RecordBatch(
            meta=meta,
            features={"age": Column.from_numbers(age)},
            outputs={"score": Column.from_numbers(rng.beta(2.0, 5.0, 40))},
        )
        found += list(profile_batch(batch, ProfileSpec()).values())
    return found


def test_the_day_long_drift_with_shared_day_pools_is_the_drift_with_fresh_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A day's pool is made once for the seven references it is in; with windows excluded (a
    constant day the hourly drift flagged), every point is what pooling afresh gives."""
    profiles = _hours(12, constant_day=9)
    spec = StatsSpec(exclude_changed=True)
    excluded = changed_windows(drift_series(profiles, None, spec), spec)
    assert excluded
    shared = drift_day_series(profiles, spec, excluded=excluded)
    fresh_reference = drift_day._reference_of

    def fresh(*args: Any) -> Any:
        return fresh_reference(*args[:8])  # without the shared day pools

    monkeypatch.setattr(drift_day, "_reference_of", fresh)
    alone = drift_day_series(profiles, spec, excluded=excluded)
    assert [s.key for s in shared] == [s.key for s in alone]
    for one, other in zip(shared, alone, strict=True):
        np.testing.assert_array_equal(one.values, other.values)


def _texts(values: list[str]) -> Column:
    return Column(
        kinds=np.full(len(values), ValueKind.STRING, dtype=np.int8),
        numbers=np.full(len(values), np.nan),
        texts=pa.array(values, pa.string()),
    )


def _sketches() -> list[QuantileSketch]:
    """KLL sketches of every shape a window's column takes: empty, one value, a few, ties,
    a constant, heavy tails, and enough values to compact (weights 2, 4, ...)."""
    rng = np.random.default_rng(22)
    samples = [
        np.zeros(0),
        np.array([3.5]),
        np.array([2.0, 1.0]),
        np.full(500, 7.0),
        rng.integers(0, 3, 900).astype(np.float64),
        np.round(rng.normal(5.0, 2.0, 200), 1),
        rng.lognormal(0.0, 1.5, 3000),
        rng.normal(0.0, 1.0, 20000),
    ]
    return [QuantileSketch.empty(ProfileSpec().kll_k).update(values) for values in samples]


@pytest.mark.parametrize("which", range(8))
def test_a_window_answers_its_quantiles_and_cdf_as_its_sketch(which: int) -> None:
    """A window read once (:class:`WindowQuantiles`) is the current side of its own drift:
    its quantiles (DataSketches' inclusive rule, redone on the sorted items) and its CDF are
    the sketch's own to the last bit, at the drift's levels and at the extremes."""
    sketch = _sketches()[which]
    window = WindowQuantiles.of(sketch)
    rng = np.random.default_rng(which)
    _, middles = _kurtosis_grid(max(sketch.n, 2), 256)
    levels = np.concatenate(
        [[0.0, 1e-12, 0.05, 0.5, 0.95, 1.0 - 1e-12, 1.0], DECILES, midpoint_levels(512)]
    )
    for asked in (levels, middles, rng.random(300), np.array([0.05]), np.zeros(0)):
        np.testing.assert_array_equal(window.quantiles(asked), sketch.quantiles(asked))
    np.testing.assert_array_equal(window.deciles, sketch.quantiles(DECILES))
    assert (window.n, window.normalized_rank_error) == (sketch.n, sketch.normalized_rank_error)
    if sketch.n:
        items = window.sorted_items
        points = np.concatenate([[items[0] - 1.0, items[-1] + 1.0], items, items + 1e-9])
        np.testing.assert_array_equal(window.cdf(points), sketch.cdf(points))
    with pytest.raises(ConfigError):
        window.quantiles([1.5])


def test_a_windows_frequent_items_keep_their_count_error() -> None:
    rng = np.random.default_rng(5)
    names = np.array([f"c{i}" for i in range(400)])
    frequent = profile_column(
        _texts(names[rng.zipf(1.3, 5000) % 400].tolist()), ProfileSpec()
    ).frequent
    assert frequent.count_error > 0  # more items than the sketch keeps exactly
    window = ReferenceWindow.of(profile_column(_texts(names[:3].tolist()), ProfileSpec()))
    assert window.frequent.count_error == window.column.frequent.count_error
    assert WindowFrequent.of(frequent).count_error == frequent.count_error


@pytest.mark.parametrize("rows", [3, 4, 7, 8])
def test_the_median_of_a_references_rows_is_numpys(rows: int) -> None:
    rng = np.random.default_rng(rows)
    table = np.round(rng.normal(0.0, 1.0, (rows, 40)), 1)  # ties
    table[:, 0] = 0.25
    np.testing.assert_array_equal(median_of_rows(table), np.median(table, axis=0))
    table[1, 3] = np.nan
    np.testing.assert_array_equal(median_of_rows(table), np.median(table, axis=0))


def test_the_drift_of_a_window_read_once_is_the_drift_of_its_profile() -> None:
    """The hourly drift reads the current window through its :class:`ReferenceWindow` (read
    once; it is part of later references too): every drift value and band is what the
    column's own profile gives, numeric and categorical, compacted or not."""
    spec = StatsSpec()
    rng = np.random.default_rng(9)
    names = np.array([f"c{i}" for i in range(60)])
    for n in (40, 200, 3000):
        numbers = [Column.from_numbers(np.round(rng.lognormal(0.0, 1.0, n), 2)) for _ in range(8)]
        texts = [_texts(names[rng.zipf(1.5, n) % 60].tolist()) for _ in range(8)]
        for columns in (numbers, texts):
            profiles = [profile_column(c, ProfileSpec()) for c in columns]
            merged = reference_column(profiles[:7], spec)
            current = profiles[7]
            drift = column_drift(current, merged, spec)
            read = ReferenceWindow.of(current)
            assert column_drift(read, merged, spec) == drift
            assert column_changes(read, merged, drift, spec) == column_changes(
                current, merged, drift, spec
            )
