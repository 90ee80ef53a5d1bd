"""DistinctSketch, FrequentItems and Moments: stated errors, exact merges, bytes round trips."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core import IncompatibleSpecError, SerializationError
from vigil.profile import DistinctSketch, FrequentItems, Moments

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("cardinality", [10, 1_000, 100_000])
@pytest.mark.parametrize("lg_k", [10, 12])
def test_distinct_estimate_within_three_standard_errors(cardinality: int, lg_k: int) -> None:
    rng = np.random.default_rng(cardinality + lg_k)
    values = rng.normal(size=cardinality)
    repeated = np.concatenate([values, values[: cardinality // 2]])  # repeats do not count
    sketch = DistinctSketch.empty(lg_k).update(repeated)
    error = abs(sketch.estimate() - cardinality) / cardinality
    assert error <= 3 * sketch.relative_standard_error


def test_distinct_counts_strings_and_ignores_nulls() -> None:
    words = pa.array([f"id-{i % 3000}" for i in range(9000)] + [None] * 50)
    sketch = DistinctSketch.empty(12).update(words)
    assert abs(sketch.estimate() - 3000) / 3000 <= 3 * sketch.relative_standard_error
    assert DistinctSketch.empty(12).update(pa.array([None, None], pa.string())).estimate() == 0


def test_distinct_merge_is_exact_elementwise_max() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=20_000), rng.normal(size=30_000)
    sa, sb = DistinctSketch.empty(12).update(a), DistinctSketch.empty(12).update(b)
    before = (sa.to_bytes(), sb.to_bytes())
    assert sa.merge(sb) == DistinctSketch.empty(12).update(np.concatenate([a, b]))
    assert sa.merge(sb) == sb.merge(sa)
    assert (sa.to_bytes(), sb.to_bytes()) == before
    assert DistinctSketch.from_bytes(sa.to_bytes()) == sa
    assert DistinctSketch.empty(12).update(np.array([0.0])) == DistinctSketch.empty(12).update(
        np.array([-0.0])
    )
    with pytest.raises(IncompatibleSpecError):
        sa.merge(DistinctSketch.empty(11))
    with pytest.raises(SerializationError):
        DistinctSketch.from_bytes(sa.to_bytes()[:-1])


def test_frequent_items_exact_below_capacity_and_merge() -> None:
    first = pa.array(["a"] * 50 + ["b"] * 30 + [None] * 7 + ["c"] * 20)
    second = pa.array(["b"] * 40 + ["d"])
    fa = FrequentItems.empty(7).update(first)
    fb = FrequentItems.empty(7).update(second)
    assert fa.items() == [("a", 50), ("b", 30), ("c", 20)]
    assert fa.total == 100
    assert fa.top_share() == 0.5
    merged = fa.merge(fb)
    assert merged.items() == [("b", 70), ("a", 50), ("c", 20), ("d", 1)]
    assert merged == FrequentItems.empty(7).update(pa.chunked_array([first, second]))
    assert fa.items() == [("a", 50), ("b", 30), ("c", 20)]  # input unchanged
    assert FrequentItems.from_bytes(merged.to_bytes()) == merged
    assert math.isnan(FrequentItems.empty(7).top_share())
    with pytest.raises(IncompatibleSpecError):
        fa.merge(FrequentItems.empty(6))


def test_frequent_items_many_values_within_stated_error() -> None:
    rng = np.random.default_rng(9)
    values = rng.zipf(1.3, size=200_000).astype(str)
    sketch = FrequentItems.empty(7).update(pa.array(values.tolist()))
    uniques, counts = np.unique(values, return_counts=True)
    exact = dict(zip(uniques.tolist(), counts.tolist(), strict=True))
    assert sketch.total == values.size
    for item, estimate in sketch.items()[:10]:
        assert abs(estimate - exact[item]) <= sketch.epsilon * sketch.total
    assert sketch.items()[0][0] == uniques[np.argmax(counts)]


@settings(max_examples=80, deadline=None)
@given(st.lists(finite, max_size=100), st.lists(finite, max_size=100))
def test_moments_merge_equals_one_pass(a: list[float], b: list[float]) -> None:
    ma, mb = Moments.of(np.array(a)), Moments.of(np.array(b))
    merged, one_pass = ma.merge(mb), Moments.of(np.array(a + b))
    assert merged.count == one_pass.count
    assert (merged.min, merged.max) == (one_pass.min, one_pass.max)
    scale = max([1.0, *map(abs, a + b)])
    assert merged.mean == pytest.approx(one_pass.mean, rel=1e-9, abs=1e-9 * scale)
    assert merged.m2 == pytest.approx(one_pass.m2, rel=1e-7, abs=1e-7 * scale**2)
    assert ma.merge(Moments()) == ma and Moments().merge(ma) == ma


def test_moments_stay_accurate_far_from_zero() -> None:
    values = 1e9 + np.array([-1.0, 0.0, 1.0] * 1000)
    halves = Moments.of(values[:1500]).merge(Moments.of(values[1500:]))
    assert halves.variance == pytest.approx(2 / 3, rel=1e-6)
    assert math.isnan(Moments().variance)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(finite, max_size=30), max_size=6))
def test_moments_merge_all_equals_one_pass(parts: list[list[float]]) -> None:
    merged = Moments.merge_all([Moments.of(np.array(part)) for part in parts])
    values = [value for part in parts for value in part]
    one_pass = Moments.of(np.array(values))
    assert (merged.count, merged.min, merged.max) == (one_pass.count, one_pass.min, one_pass.max)
    scale = max([1.0, *map(abs, values)])
    assert merged.mean == pytest.approx(one_pass.mean, rel=1e-9, abs=1e-9 * scale)
    assert merged.m2 == pytest.approx(one_pass.m2, rel=1e-7, abs=1e-7 * scale**2)
