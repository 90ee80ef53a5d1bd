"""Properties every divergence must have, on arbitrary count vectors and samples."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.stats import ExactQuantiles, numeric_drift
from vigil.stats.divergence import chi_square, g_test, jensen_shannon, linf_shares, psi

counts = st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=12)
samples = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=200
)


@given(counts, counts)
@settings(max_examples=200, deadline=None)
def test_bin_divergences_are_non_negative_symmetric_where_defined_and_zero_on_self(
    a: list[int], b: list[int]
) -> None:
    size = min(len(a), len(b))
    cur, ref = np.array(a[:size]), np.array(b[:size])
    if cur.sum() == 0 or ref.sum() == 0:
        return
    for measure in (psi, jensen_shannon, g_test, chi_square, linf_shares):
        forward, backward = measure(cur, ref).value, measure(ref, cur).value
        assert forward >= 0
        assert abs(forward - backward) <= 1e-9 * max(1.0, forward)  # each is symmetric
        assert abs(measure(cur, cur).value) <= 1e-9
    assert jensen_shannon(cur, ref).value <= 1.0
    assert linf_shares(cur, ref).value <= 1.0
    assert 0.0 <= g_test(cur, ref).p_value <= 1.0


@given(samples, samples)
@settings(max_examples=100, deadline=None)
def test_sketch_drift_of_a_sample_with_itself_is_zero_and_ks_is_bounded(
    a: list[float], b: list[float]
) -> None:
    left, right = ExactQuantiles.of(a), ExactQuantiles.of(b)
    same = {d.statistic: d.value for d in numeric_drift(left, left)}
    assert same["ks"] == 0.0 and same["wasserstein"] == 0.0 and abs(same["psi"]) < 1e-12
    other = {d.statistic: d.value for d in numeric_drift(left, right)}
    assert 0.0 <= other["ks"] <= 1.0
    assert other["wasserstein"] >= 0.0
