"""LogHistogram: the relative-error guarantee, exact merges, bytes round trip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core import IncompatibleSpecError, SchemaError, SerializationError
from vigil.profile import LogHistogram
from vigil.profile.histogram import histograms_by_group

RATIO = 0.02
latencies = st.lists(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    max_size=200,
)


def test_quantiles_within_relative_error_of_exact() -> None:
    rng = np.random.default_rng(7)
    values = rng.lognormal(mean=3.0, sigma=1.5, size=50_000)
    histogram = LogHistogram.empty(RATIO).update(values)
    for q in np.linspace(0.0, 1.0, 101):
        exact = float(np.quantile(values, q, method="lower"))
        estimate = histogram.quantile(float(q))
        assert abs(estimate - exact) <= RATIO / (2 + RATIO) * exact * (1 + 1e-9)


def test_values_land_in_their_bucket_and_zero_bucket() -> None:
    histogram = LogHistogram.empty(RATIO).update(np.array([0.0, 0.0, 1.0, 1.5, 100.0, -0.0]))
    assert histogram.zeros == 3
    assert histogram.total == 6
    for value in (1.0, 1.5, 100.0):
        index = int(np.floor(np.log(value) / np.log1p(RATIO)))
        lo, hi = histogram.bucket_bounds(index)
        assert lo <= value * (1 + 1e-12) and value < hi * (1 + 1e-12)
        assert histogram.counts()[index] >= 1
    assert sum(histogram.counts().values()) == 3
    assert histogram.quantile(0.0) == 0.0


def test_empty_quantile_is_nan_and_non_finite_refused() -> None:
    assert np.isnan(LogHistogram.empty(RATIO).quantile(0.5))
    with pytest.raises(SchemaError, match="2 non-finite"):
        LogHistogram.empty(RATIO).update(np.array([1.0, np.nan, np.inf]))


@settings(max_examples=60, deadline=None)
@given(latencies, latencies)
def test_merge_equals_one_pass_and_leaves_inputs_alone(a: list[float], b: list[float]) -> None:
    ha = LogHistogram.empty(RATIO).update(np.array(a))
    hb = LogHistogram.empty(RATIO).update(np.array(b))
    ha_before, hb_before = ha.to_bytes(), hb.to_bytes()
    merged = ha.merge(hb)
    assert merged == LogHistogram.empty(RATIO).update(np.array(a + b))
    assert merged == hb.merge(ha)
    assert ha.merge(LogHistogram.empty(RATIO)) == ha
    assert (ha.to_bytes(), hb.to_bytes()) == (ha_before, hb_before)


@settings(max_examples=40, deadline=None)
@given(latencies, latencies, latencies)
def test_merge_is_associative(a: list[float], b: list[float], c: list[float]) -> None:
    ha, hb, hc = (LogHistogram.empty(RATIO).update(np.array(v)) for v in (a, b, c))
    assert ha.merge(hb).merge(hc) == ha.merge(hb.merge(hc))


@settings(max_examples=60, deadline=None)
@given(latencies)
def test_bytes_round_trip_is_exact(a: list[float]) -> None:
    histogram = LogHistogram.empty(RATIO).update(np.array(a))
    assert LogHistogram.from_bytes(histogram.to_bytes()) == histogram


def test_different_ratio_does_not_merge_and_corrupt_bytes_raise() -> None:
    with pytest.raises(IncompatibleSpecError):
        LogHistogram.empty(0.02).merge(LogHistogram.empty(0.05))
    data = LogHistogram.empty(RATIO).update(np.array([1.0, 2.0])).to_bytes()
    with pytest.raises(SerializationError):
        LogHistogram.from_bytes(data[:-3])


@pytest.mark.parametrize("ratio", [0.02, 1e-4])  # 1e-4: too many buckets, the sorting path
def test_histograms_by_group_equal_one_histogram_per_group(ratio: float) -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.lognormal(3.0, 3.0, 5_000), np.zeros(100)])
    groups = rng.integers(0, 40, values.size)
    histograms = histograms_by_group(values, groups, 41, ratio)
    assert len(histograms) == 41
    for group, histogram in enumerate(histograms):
        assert histogram == LogHistogram.empty(ratio).update(values[groups == group])
    assert histograms[40].total == 0
