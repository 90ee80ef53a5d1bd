"""QuantileSketch: stated rank error, immutable merges, bytes round trip."""

from __future__ import annotations

import numpy as np
import pytest
from datasketches import kll_doubles_sketch
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core import IncompatibleSpecError, SchemaError, SerializationError
from vigil.profile import QuantileSketch
from vigil.profile.quantiles import smallest_kll_k

K = smallest_kll_k(0.01)
numbers = st.lists(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False),
    max_size=300,
)


def _exact_rank(sorted_values: np.ndarray, x: float) -> float:
    return float(np.searchsorted(sorted_values, x, side="right")) / sorted_values.size


def test_smallest_k_meets_target_and_is_smallest() -> None:
    assert kll_doubles_sketch.get_normalized_rank_error(K, False) <= 0.01
    assert kll_doubles_sketch.get_normalized_rank_error(K - 1, False) > 0.01


def test_quantiles_and_cdf_within_stated_rank_error() -> None:
    rng = np.random.default_rng(11)
    values = rng.standard_t(df=3, size=200_000)
    sketch = QuantileSketch.empty(K).update(values[:120_000]).update(values[120_000:])
    ordered = np.sort(values)
    eps = sketch.normalized_rank_error
    qs = np.linspace(0.01, 0.99, 99)
    for q, estimate in zip(qs, sketch.quantiles(qs), strict=True):
        assert abs(_exact_rank(ordered, float(estimate)) - q) <= eps
    points = np.quantile(values, [0.9, 0.1, 0.5, 0.5])
    exact = np.array([_exact_rank(ordered, float(p)) for p in points])
    assert np.all(np.abs(sketch.cdf(points) - exact) <= eps)
    assert sketch.n == values.size
    assert sketch.min == values.min() and sketch.max == values.max()
    assert abs(sketch.rank(0.0) - _exact_rank(ordered, 0.0)) <= eps


def test_empty_sketch_answers_nan() -> None:
    sketch = QuantileSketch.empty(K)
    assert sketch.n == 0 and np.isnan(sketch.min) and np.isnan(sketch.quantile(0.5))
    assert np.isnan(sketch.cdf(np.array([1.0]))).all()


def test_bad_input_is_refused() -> None:
    with pytest.raises(SchemaError, match="1 non-finite"):
        QuantileSketch.empty(K).update(np.array([1.0, np.nan]))
    with pytest.raises(IncompatibleSpecError):
        QuantileSketch.empty(K).merge(QuantileSketch.empty(K + 1))
    with pytest.raises(SerializationError):
        QuantileSketch.from_bytes(b"\x00\x01garbage")


@settings(max_examples=60, deadline=None)
@given(numbers, numbers)
def test_merge_small_streams_is_exact_and_pure(a: list[float], b: list[float]) -> None:
    # Below k values KLL keeps every value, so merge equals one pass exactly.
    sa = QuantileSketch.empty(K).update(np.array(a))
    sb = QuantileSketch.empty(K).update(np.array(b))
    before = (sa.to_bytes(), sb.to_bytes())
    merged = sa.merge(sb)
    one_pass = QuantileSketch.empty(K).update(np.array(a + b))
    assert merged.n == one_pass.n == len(a) + len(b)
    qs = np.linspace(0, 1, 21)
    np.testing.assert_array_equal(merged.quantiles(qs), one_pass.quantiles(qs))
    np.testing.assert_array_equal(sb.merge(sa).quantiles(qs), one_pass.quantiles(qs))
    assert sa.merge(QuantileSketch.empty(K)) == sa
    assert (sa.to_bytes(), sb.to_bytes()) == before
    assert QuantileSketch.from_bytes(merged.to_bytes()) == merged


def test_merge_of_large_streams_within_rank_error() -> None:
    rng = np.random.default_rng(3)
    parts = [rng.exponential(scale=s, size=30_000) for s in (1.0, 5.0, 0.2)]
    sketches = [QuantileSketch.empty(K).update(p) for p in parts]
    merged = sketches[0].merge(sketches[1]).merge(sketches[2])
    other_order = sketches[2].merge(sketches[0].merge(sketches[1]))
    ordered = np.sort(np.concatenate(parts))
    for sketch in (merged, other_order):
        assert sketch.n == ordered.size
        for q in (0.01, 0.25, 0.5, 0.9, 0.99):
            assert abs(_exact_rank(ordered, sketch.quantile(q)) - q) <= sketch.normalized_rank_error


@pytest.mark.parametrize("size", [0, 1, 2, 268, 269, 270, 5_000, 200_000])
def test_weighted_items_are_what_the_sketch_retains(size: int) -> None:
    """The bytes-level reading agrees with the binding's own (slow) item iterator."""
    values = np.random.default_rng(size).standard_normal(size)
    sketch = QuantileSketch.empty(200).update(values)
    items, weights = sketch.weighted_items()
    assert weights.sum() == size
    expected = sorted((float(v), float(w)) for v, w in sketch._sketch)
    assert sorted(zip(items.tolist(), weights.tolist(), strict=True)) == expected
    if size > 1_000:
        assert weights.max() > 1  # compacted: some values stand for several
