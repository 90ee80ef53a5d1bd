"""The day-long drift's pools built the fast way answer exactly as built the plain way: a
reference merged from its days' sorted pools (:func:`~vigil.stats.day_pools._merged_runs`),
frequent items and the categorical flag worked out on first use, and the recent mean reusing the
trailing day's merged moments. Compared to the last bit, since the tests' alarms hang on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from vigil.core import SeriesKey, ValueKind
from vigil.ingest import Column, RecordBatch
from vigil.profile import ColumnProfile, FrequentItems, Moments, Profile, ProfileSpec, profile_batch
from vigil.profile.column_stats import profile_column
from vigil.profile.synthetic import prediction_meta
from vigil.stats import StatsSpec, drift_day
from vigil.stats.change import ChangeTest
from vigil.stats.day_pools import Pooled, categorical
from vigil.stats.drift import drift_series
from vigil.stats.recent_mean import RecentWindow, recent_mean_change
from vigil.stats.timeline import SeriesCollector

HOUR = timedelta(hours=1)


def _column(rng: np.random.Generator, n: int, shift: float) -> ColumnProfile:
    """Rounded (many ties across windows), sometimes large enough to compact (weights > 1)."""
    return profile_column(
        Column.from_numbers(np.round(rng.normal(shift, 2.0, n), 1)), ProfileSpec()
    )


def _days(seed: int) -> list[list[ColumnProfile]]:
    """Three days of a few windows each, of 0 to 3,000 values."""
    rng = np.random.default_rng(seed)
    sizes = [[40, 3000, 200, 0], [200, 200, 1, 2500], [7, 900, 200]]
    return [[_column(rng, n, 0.1 * d) for n in day] for d, day in enumerate(sizes)]


def _items(columns: list[ColumnProfile]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sorted items, ties in their order, as the day-long drift keeps them."""
    found = []
    for column in columns:
        values, weights = column.quantiles.weighted_items()
        order = np.argsort(values, kind="stable")
        found.append((values[order], weights[order]))
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("chosen", [[0, 1, 2], [0, 2], [1], []])
def test_a_reference_merged_from_its_day_pools_is_the_pool_of_its_windows(
    seed: int, chosen: list[int]
) -> None:
    days = _days(seed)
    pools = [Pooled(day, items=_items(day)) for day in days]
    columns = [c for d in chosen for c in days[d]]
    slots = [3600 * (i % 5) for i in range(len(columns))]
    merged = Pooled(columns, slots, runs=[pools[d] for d in chosen])
    plain = Pooled(columns, slots, items=[pair for d in chosen for pair in _items(days[d])])
    assert any(float(w.max()) > 1 for _, w in _items(days[0]))  # compacted: weights differ
    np.testing.assert_array_equal(merged.quantiles.values, plain.quantiles.values)
    np.testing.assert_array_equal(merged.quantiles.cumulative, plain.quantiles.cumulative)
    assert merged.quantiles.rank_error == plain.quantiles.rank_error
    assert merged.moments == plain.moments
    for one, other in zip(merged._sorted_items(), plain._sorted_items(), strict=True):
        np.testing.assert_array_equal(one, other)
    # Reweighted by slot with factors that are not whole: the order of equal values and the
    # window each came from decide the cumulative sums' last bits.
    shares = {0: 0.3, 3600: 0.1, 7200: 0.25, 10800: 0.05, 14400: 0.3}
    mixed, plain_mixed = merged.mixed_like(shares), plain.mixed_like(shares)
    np.testing.assert_array_equal(mixed.quantiles.cumulative, plain_mixed.quantiles.cumulative)
    assert mixed.moments == plain_mixed.moments


def _texts(words: list[str]) -> ColumnProfile:
    return profile_column(
        Column(
            kinds=np.full(len(words), ValueKind.STRING, dtype=np.int8),
            numbers=np.full(len(words), np.nan),
            texts=pa.array(words, pa.string()),
        ),
        ProfileSpec(),
    )


def test_a_pools_frequent_items_and_kind_are_those_of_its_columns() -> None:
    columns = [c for day in _days(4) for c in day]
    texts = [_texts(["a", "b", "a", "c"] * 30), _texts(["b", "d"] * 5), _texts(["e"] * 70)]
    tipped = [texts[0], texts[1], columns[0], columns[2]]  # 130 words, then 240 numbers
    assert categorical(tipped[:3]) and not categorical(tipped)
    for chosen in (columns, [*texts[:1], *columns[:3]], texts, [*columns[:2], *texts], tipped):
        pool = Pooled(chosen)
        merged = FrequentItems.merge_all([c.frequent for c in chosen])
        assert pool.frequent.items() == merged.items()
        assert pool.frequent.total == merged.total
        assert pool.categorical == categorical(chosen)


def test_the_recent_mean_with_the_days_merged_moments_is_the_recent_mean() -> None:
    rng = np.random.default_rng(5)
    windows = [
        RecentWindow(
            age=age,
            slot=3600 * ((23 - age) % 24),
            moments=Moments.of(rng.normal(0.01 * age, 1.0, 0 if age == 3 else 150)),
        )
        for age in range(24)
    ]
    slots = {3600 * s: Moments.of(rng.normal(0.0, 1.0, 1000)) for s in range(24)}
    reference = Moments.merge_all(list(slots.values()))
    merged = Moments.merge_all([w.moments for w in windows])
    for test in (ChangeTest(), ChangeTest(alpha=0.01)):
        alone = recent_mean_change(windows, reference, slots, test, span=24)
        given = recent_mean_change(windows, reference, slots, test, span=24, merged=merged)
        assert alone is not None
        assert given == alone


def _hours(days: int) -> list[Profile]:
    """``days`` of hourly profiles: ``age`` (numeric, stuck at 40 on day 8, none in the first
    hour of each day), ``country`` (categorical, its mix shifting on day 9) and ``score``."""
    rng = np.random.default_rng(17)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    found = []
    for hour in range(24 * days):
        n = 35 + (7 * hour) % 11  # the day's rows, so the sample sizes, move window by window
        meta = prediction_meta(n, start=start + hour * HOUR, span=HOUR)
        age = np.full(n, 40.0) if hour // 24 == 8 else rng.normal(40.0, 10.0, n)
        if hour % 24 == 0:
            age = np.full(n, np.nan)
        shares = [0.2, 0.3, 0.5] if hour // 24 == 9 else [0.5, 0.3, 0.2]
        words = [str(w) for w in rng.choice(["DE", "FR", "US"], n, p=shares)]
        country = Column(
            kinds=np.full(n, ValueKind.STRING, dtype=np.int8),
            numbers=np.full(n, np.nan),
            texts=pa.array(words, pa.string()),
        )
        batch = RecordBatch(
            meta=meta,
            features={"age": Column.from_numbers(age), "country": country},
            outputs={"score": Column.from_numbers(rng.beta(2.0, 5.0, n))},
        )
        found += list(profile_batch(batch, ProfileSpec()).values())
    return found


def test_the_day_long_points_gathered_per_series_are_the_points_added_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each series' points of a version reach the collector at once; every value, band and
    sample size is what adding each tested statistic's four points one at a time gives
    (numeric, categorical and recent-mean statistics, windows excluded from references)."""
    profiles = _hours(12)
    spec = StatsSpec(exclude_changed=True)
    excluded = drift_day.changed_windows(drift_series(profiles, None, spec), spec)
    assert excluded
    together = drift_day.drift_day_series(profiles, spec, excluded=excluded)
    added: list[Any] = []

    def one_by_one(gathered: Any, point: Any, tested: Any) -> None:
        added.append((point, tested))

    def flush(gathered: Any, collector: SeriesCollector) -> None:
        for point, tested in added:
            band = tested.band
            values = (tested.value, band.expected, band.lower, band.upper)
            for suffix, value in zip(("", "_expected", "_lower", "_upper"), values, strict=True):
                key = SeriesKey(
                    model=point.model,
                    version=point.version,
                    family=point.family,
                    column=point.name,
                    statistic=f"{point.prefix}{tested.statistic}_1d{suffix}",
                )
                collector.add(key, point.window, value, tested.support)
        added.clear()

    monkeypatch.setattr(drift_day._Gathered, "add", one_by_one)
    monkeypatch.setattr(drift_day._Gathered, "flush", flush)
    alone = drift_day.drift_day_series(profiles, spec, excluded=excluded)
    statistics = {s.key.statistic for s in alone}
    assert {"share_1d", "recent_mean_1d_upper", "ks_1d", "drift_mean_1d"} <= statistics
    assert [s.key for s in together] == [s.key for s in alone]
    for mine, theirs in zip(together, alone, strict=True):
        np.testing.assert_array_equal(mine.values, theirs.values)
        np.testing.assert_array_equal(mine.support, theirs.support)
        assert mine.stderr is None and theirs.stderr is None
