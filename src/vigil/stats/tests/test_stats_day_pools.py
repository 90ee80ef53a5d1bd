"""The day-long drift's pools built the fast way answer exactly as built the plain way: a
reference merged from its days' sorted pools (:func:`~vigil.stats.day_pools._merged_runs`),
frequent items and the categorical flag worked out on first use, and the recent mean reusing the
trailing day's merged moments. Compared to the last bit, since the tests' alarms hang on them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from vigil.core import ValueKind
from vigil.ingest import Column
from vigil.profile import ColumnProfile, FrequentItems, Moments, ProfileSpec
from vigil.profile.column_stats import profile_column
from vigil.stats.change import ChangeTest
from vigil.stats.day_pools import Pooled, categorical
from vigil.stats.recent_mean import RecentWindow, recent_mean_change


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
