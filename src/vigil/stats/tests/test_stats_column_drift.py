"""Column drift from sketches: agreement with scipy on raw rows within the sketches' error."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from datasketches import kll_doubles_sketch
from scipy import stats as scipy_stats

from vigil.stats.column_drift import (
    CATEGORICAL_STATISTICS,
    NUMERIC_STATISTICS,
    categorical_drift,
    category_counts,
    decile_counts,
    numeric_drift,
    resolvable_n,
)
from vigil.stats.divergence import chi_square, g_test, psi
from vigil.stats.sketches import ExactFrequencies, ExactQuantiles, QuantileSource


class KllSource:
    """DataSketches' KLL seen through the ``QuantileSource`` protocol (inclusive ranks)."""

    def __init__(self, values: npt.ArrayLike, k: int = 200) -> None:
        self._sketch = kll_doubles_sketch(k)
        self._sketch.update(np.asarray(values, dtype=np.float64))

    @property
    def n(self) -> int:
        return int(self._sketch.n)

    @property
    def normalized_rank_error(self) -> float:
        return float(self._sketch.normalized_rank_error(False))

    def quantiles(self, qs: npt.ArrayLike) -> npt.NDArray[np.float64]:
        levels = np.asarray(qs, dtype=np.float64).tolist()
        return np.asarray(self._sketch.get_quantiles(levels, True), dtype=np.float64)

    def cdf(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        unique, inverse = np.unique(np.asarray(points, dtype=np.float64), return_inverse=True)
        ranks = np.asarray(self._sketch.get_cdf(unique.tolist(), True), dtype=np.float64)
        return ranks[:-1][inverse]


def _by_name(values: tuple[object, ...]) -> dict[str, float]:
    return {d.statistic: d.value for d in values}  # type: ignore[attr-defined]


def test_sources_satisfy_the_protocol() -> None:
    assert isinstance(KllSource([1.0]), QuantileSource)
    assert isinstance(ExactQuantiles.of([1.0]), QuantileSource)


@pytest.mark.parametrize(
    ("seed", "shift", "scale"), [(0, 0.0, 1.0), (1, 0.2, 1.0), (2, 0.0, 1.5), (3, 1.0, 0.5)]
)
def test_ks_from_sketches_agrees_with_scipy_within_stated_error(
    seed: int, shift: float, scale: float
) -> None:
    rng = np.random.default_rng(seed)
    cur, ref = rng.normal(shift, scale, 20_000), rng.normal(0.0, 1.0, 30_000)
    ks = numeric_drift(KllSource(cur), KllSource(ref))[0]
    expected = scipy_stats.ks_2samp(cur, ref).statistic
    assert ks.statistic == "ks"
    assert abs(ks.value - expected) <= ks.sketch_error
    assert (ks.n_current, ks.n_reference) == (20_000, 30_000)


def test_exact_sources_reproduce_scipy_exactly() -> None:
    rng = np.random.default_rng(4)
    cur, ref = rng.gamma(2.0, 1.0, 300), rng.gamma(2.5, 1.0, 400)
    drift = numeric_drift(ExactQuantiles.of(cur), ExactQuantiles.of(ref), grid_size=512)
    values = _by_name(drift)
    assert values["ks"] == pytest.approx(scipy_stats.ks_2samp(cur, ref).statistic, abs=1e-12)
    # The ks p-value of an exact source uses the true sample sizes (resolution is unlimited).
    asymp = scipy_stats.ks_2samp(cur, ref, method="asymp").pvalue
    assert drift[0].p_value == pytest.approx(asymp, rel=1e-6)
    assert [d.statistic for d in drift] == list(NUMERIC_STATISTICS)


def test_decile_bins_hold_a_tenth_of_the_reference_each() -> None:
    ref = ExactQuantiles.of(np.arange(1000.0))
    cur = ExactQuantiles.of(np.arange(1000.0) + 500)
    cur_bins, ref_bins = decile_counts(cur, ref)
    assert ref_bins == pytest.approx([100.0] * 10)
    # Shifted by half the range: the top bin (> 899) holds 600 of the current rows.
    assert cur_bins[-1] == pytest.approx(600.0)
    assert cur_bins.sum() == pytest.approx(1000.0)
    assert _by_name(numeric_drift(cur, ref))["psi"] == pytest.approx(psi(cur_bins, ref_bins).value)


def test_constant_reference_collapses_to_two_bins() -> None:
    cur_bins, ref_bins = decile_counts(
        ExactQuantiles.of([1.0, 1.0, 2.0]), ExactQuantiles.of([1.0] * 5)
    )
    assert ref_bins.tolist() == [5.0, 0.0]
    assert cur_bins.tolist() == [2.0, 1.0]


def test_same_distribution_stays_small_and_a_shift_is_large() -> None:
    rng = np.random.default_rng(9)
    ref = KllSource(rng.normal(0, 1, 40_000))
    same = _by_name(numeric_drift(KllSource(rng.normal(0, 1, 40_000)), ref, reference_std=1.0))
    moved = _by_name(numeric_drift(KllSource(rng.normal(1, 1, 40_000)), ref, reference_std=1.0))
    # A one-sigma shift: true KS = 2Φ(0.5) − 1 ≈ 0.383, W1 = 1 sigma, PSI far above 0.25.
    assert moved["ks"] == pytest.approx(2 * scipy_stats.norm.cdf(0.5) - 1, abs=0.03)
    assert moved["wasserstein_std"] == pytest.approx(1.0, abs=0.1)
    assert moved["psi"] > 0.25
    assert moved["js"] > 0.2
    # Same distribution: every statistic within the sketch error of zero.
    eps = 2 * ref.normalized_rank_error
    assert same["ks"] <= eps + 1 / 512
    assert same["psi"] < 0.02
    assert same["js"] < 0.05
    assert same["wasserstein_std"] < 0.1


def test_g_test_p_value_is_calibrated_by_sketch_resolution() -> None:
    rng = np.random.default_rng(12)
    ref = KllSource(rng.normal(0, 1, 100_000))
    same = numeric_drift(KllSource(rng.normal(0, 1, 100_000)), ref)
    g_same = next(d for d in same if d.statistic == "g_test")
    assert g_same.n_current == 100_000
    assert resolvable_n(ref) == pytest.approx(1 / ref.normalized_rank_error**2)
    assert g_same.p_value > 1e-3
    moved = numeric_drift(KllSource(rng.normal(0.3, 1, 100_000)), ref)
    assert next(d for d in moved if d.statistic == "g_test").p_value < 1e-6


def test_empty_side_gives_nan_for_every_statistic() -> None:
    drift = numeric_drift(ExactQuantiles.of([]), ExactQuantiles.of([1.0, 2.0]))
    assert all(math.isnan(d.value) for d in drift)
    assert all(d.n_reference == 2 for d in drift)


def test_categorical_bins_by_hand() -> None:
    ref = ExactFrequencies.of(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    cur = ExactFrequencies.of(["a"] * 20 + ["b"] * 30 + ["d"] * 50)
    labels, cur_bins, ref_bins = category_counts(cur, ref, max_items=2)
    # Top 2 of each side: {a, b} and {d, b}; c (reference) and a (current) fall in "other".
    assert labels == ["a", "b", "d", "other"]
    assert ref_bins.tolist() == [50, 30, 0, 20]
    assert cur_bins.tolist() == [0, 30, 50, 20]
    drift = categorical_drift(cur, ref, max_items=2)
    assert [d.statistic for d in drift] == list(CATEGORICAL_STATISTICS)
    values = _by_name(drift)
    assert values["chi2"] == pytest.approx(chi_square(cur_bins, ref_bins).value)
    assert values["g_test"] == pytest.approx(g_test(cur_bins, ref_bins).value)
    assert values["linf"] == pytest.approx(0.5)  # "d": 0.0 -> 0.5


def test_categorical_same_shares_read_as_no_drift() -> None:
    ref = ExactFrequencies.of(["x"] * 60 + ["y"] * 40)
    cur = ExactFrequencies.of(["x"] * 600 + ["y"] * 400)
    values = _by_name(categorical_drift(cur, ref))
    assert values["linf"] == 0.0
    assert values["psi"] == pytest.approx(0.0, abs=1e-12)
    assert values["chi2"] == pytest.approx(0.0, abs=1e-9)
