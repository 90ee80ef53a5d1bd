"""Drift mathematics checked by hand on small tables and against scipy on raw samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from scipy.spatial import distance

from vigil.core import ConfigError
from vigil.stats.divergence import (
    PSI_FLOOR,
    Divergence,
    chi_square,
    g_test,
    jensen_shannon,
    ks_statistic,
    linf_shares,
    midpoint_levels,
    psi,
    wasserstein_1,
)


def test_psi_by_hand() -> None:
    # shares 0.3/0.7 against 0.5/0.5: (0.3-0.5)ln(0.6) + (0.7-0.5)ln(1.4) = 0.2 ln(7/3)
    result = psi([30, 70], [50, 50])
    assert result.value == pytest.approx(0.2 * math.log(7 / 3), rel=1e-12)
    assert (result.n_current, result.n_reference) == (100, 100)


def test_psi_floors_an_empty_bin_instead_of_going_infinite() -> None:
    result = psi([0, 10], [5, 5])
    expected = (PSI_FLOOR - 0.5) * math.log(PSI_FLOOR / 0.5) + 0.5 * math.log(1.0 / 0.5)
    assert result.value == pytest.approx(expected, rel=1e-12)


def test_psi_is_zero_for_equal_shares_at_any_scale() -> None:
    assert psi([1, 2, 3], [10, 20, 30]).value == pytest.approx(0.0, abs=1e-15)


def test_jensen_shannon_extremes_and_scipy() -> None:
    assert jensen_shannon([1, 0], [0, 1]).value == pytest.approx(1.0)
    assert jensen_shannon([3, 5], [6, 10]).value == pytest.approx(0.0, abs=1e-7)
    rng = np.random.default_rng(7)
    cur, ref = rng.integers(0, 50, 10), rng.integers(1, 50, 10)
    expected = distance.jensenshannon(cur / cur.sum(), ref / ref.sum(), base=2)
    assert jensen_shannon(cur, ref).value == pytest.approx(expected, rel=1e-9)


def test_g_test_and_chi_square_by_hand() -> None:
    # 2x2 table [[10, 30], [30, 10]]: every expected count is 20.
    g = g_test([10, 30], [30, 10])
    assert g.value == pytest.approx(4 * (10 * math.log(0.5) + 30 * math.log(1.5)), rel=1e-12)
    assert g.p_value == pytest.approx(scipy_stats.chi2.sf(g.value, 1), rel=1e-12)
    chi = chi_square([10, 30], [30, 10])
    assert chi.value == pytest.approx(4 * (10**2 / 20), rel=1e-12)


def test_g_test_and_chi_square_match_scipy_contingency() -> None:
    rng = np.random.default_rng(3)
    cur, ref = rng.integers(1, 80, 10), rng.integers(1, 80, 10)
    table = np.vstack([cur, ref])
    g_ref = scipy_stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    c_ref = scipy_stats.chi2_contingency(table, correction=False)
    assert g_test(cur, ref).value == pytest.approx(g_ref.statistic, rel=1e-9)
    assert g_test(cur, ref).p_value == pytest.approx(g_ref.pvalue, rel=1e-6)
    assert chi_square(cur, ref).value == pytest.approx(c_ref.statistic, rel=1e-9)
    assert chi_square(cur, ref).p_value == pytest.approx(c_ref.pvalue, rel=1e-6)


def test_tests_drop_bins_empty_on_both_sides() -> None:
    with_gap = g_test([10, 0, 30], [30, 0, 10])
    assert with_gap.value == pytest.approx(g_test([10, 30], [30, 10]).value)
    assert with_gap.p_value == pytest.approx(g_test([10, 30], [30, 10]).p_value)
    single = chi_square([0, 7], [0, 9])
    assert (single.value, single.p_value) == (0.0, 1.0)


def test_linf_by_hand() -> None:
    assert linf_shares([1, 1, 2], [2, 1, 1]).value == pytest.approx(0.25)


def test_empty_side_gives_nan_with_sizes() -> None:
    result = psi([0, 0], [4, 6])
    assert math.isnan(result.value)
    assert (result.n_current, result.n_reference) == (0, 10)


def test_ks_on_exact_cdfs_equals_scipy() -> None:
    rng = np.random.default_rng(11)
    a, b = rng.normal(0, 1, 300), rng.normal(0.3, 1, 200)
    grid = np.union1d(a, b)
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / a.size
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / b.size
    result = ks_statistic(cdf_a, cdf_b, n_current=a.size, n_reference=b.size)
    expected = scipy_stats.ks_2samp(a, b, method="asymp")
    assert result.value == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-6)


def test_wasserstein_on_equal_size_samples_equals_scipy() -> None:
    # With m points per sample, the quantile at level (i + 1/2)/m is the i-th order statistic.
    rng = np.random.default_rng(5)
    a, b = rng.exponential(2.0, 400), rng.normal(1.0, 3.0, 400)
    result = wasserstein_1(np.sort(a), np.sort(b), n_current=400, n_reference=400)
    assert result.value == pytest.approx(scipy_stats.wasserstein_distance(a, b), rel=1e-12)
    assert np.allclose(midpoint_levels(4), [0.125, 0.375, 0.625, 0.875])


def test_bad_inputs_are_refused_with_the_value() -> None:
    with pytest.raises(ConfigError, match="-1"):
        psi([1, -1], [1, 1])
    with pytest.raises(ConfigError, match="3 bins"):
        g_test([1, 2, 3], [1, 2])
    with pytest.raises(ConfigError, match=r"1\.5"):
        Divergence(statistic="ks", value=0.1, n_current=1, n_reference=1, p_value=1.5)
