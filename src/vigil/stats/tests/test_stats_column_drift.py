"""Column drift from sketches: agreement with scipy on raw rows within the sketches' error."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest
from datasketches import kll_doubles_sketch
from scipy import stats as scipy_stats

from vigil.profile import FrequentItems
from vigil.stats.column_drift import (
    CATEGORICAL_STATISTICS,
    NUMERIC_STATISTICS,
    categorical_drift,
    category_counts,
    decile_counts,
    ks_drift,
    numeric_drift,
    resolvable_n,
)
from vigil.stats.divergence import chi_square, g_test, psi
from vigil.stats.sketches import (
    ExactFrequencies,
    ExactQuantiles,
    PooledQuantiles,
    QuantileSource,
)


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
    # Exact sources speak for every item (unlisted is 0). Pooled shares a .35, b .30, d .25,
    # c .10: the top 2 keep bins, c and d fall in "other" on both sides alike.
    assert labels == ["a", "b", "other"]
    assert ref_bins.tolist() == [50, 30, 20]
    assert cur_bins.tolist() == [20, 30, 50]
    drift = categorical_drift(cur, ref, max_items=2)
    assert [d.statistic for d in drift] == list(CATEGORICAL_STATISTICS)
    values = _by_name(drift)
    assert values["chi2"] == pytest.approx(chi_square(cur_bins, ref_bins).value)
    assert values["g_test"] == pytest.approx(g_test(cur_bins, ref_bins).value)
    assert values["linf"] == pytest.approx(0.3)  # a: .5 -> .2, other: .2 -> .5


def test_items_the_smaller_side_expects_fewer_than_five_times_go_to_other() -> None:
    ref = ExactFrequencies.of(["a"] * 90 + ["b"] * 10)
    # b's pooled share is 14/200 = 0.07: 7 expected on the smaller side (100 rows), a bin.
    labels, _, _ = category_counts(ExactFrequencies.of(["a"] * 96 + ["b"] * 4), ref)
    assert labels == ["a", "b", "other"]
    # With 50 rows on the smaller side, b (pooled 12/150 = 0.08) expects 4: into "other".
    labels, cur_bins, _ = category_counts(ExactFrequencies.of(["a"] * 48 + ["b"] * 2), ref)
    assert labels == ["a", "other"]
    assert cur_bins.tolist() == [48, 2]


def _zipf_column(rng: np.random.Generator, n: int, size: int = 2000) -> npt.NDArray[np.str_]:
    shares = 1.0 / np.arange(1, size + 1)
    return np.array([f"v{i}" for i in rng.choice(size, size=n, p=shares / shares.sum())])


def _sketched(values: npt.NDArray[np.str_]) -> FrequentItems:
    return FrequentItems.empty(7).update(pa.array(values))


@pytest.mark.parametrize("seed", [3, 4])
def test_an_unchanged_many_valued_column_reads_unchanged_from_sketches(seed: int) -> None:
    """A 2,000-value Zipf column, a day against a week of the same stream: the sketches list
    different tails, which once read as PSI 0.5-0.8. The bins now agree with exact counts on
    the same labels within the sketches' count errors."""
    rng = np.random.default_rng(seed)
    current = _zipf_column(rng, 6500)
    week = [_zipf_column(rng, 6500) for _ in range(7)]
    cur = _sketched(current)
    ref = FrequentItems.merge_all([_sketched(day) for day in week])
    labels, cur_bins, ref_bins = category_counts(cur, ref)
    assert cur.count_error > 0 and ref.count_error > 0  # both sketches are saturated
    exact_cur, exact_ref = Counter(current.tolist()), Counter(np.concatenate(week).tolist())

    def exact_bins(counts: Counter[str], total: int) -> npt.NDArray[np.float64]:
        listed = [float(counts[label]) for label in labels[:-1]]
        return np.array([*listed, total - sum(listed)])

    # Each labelled count is within one count error of the truth, so "other" within k of them.
    k = len(labels) - 1
    cur_share_error = k * cur.count_error / cur.total
    ref_share_error = k * ref.count_error / ref.total
    true_cur = exact_bins(exact_cur, cur.total) / cur.total
    true_ref = exact_bins(exact_ref, ref.total) / ref.total
    assert np.abs(cur_bins / cur.total - true_cur).max() <= cur_share_error
    assert np.abs(ref_bins / ref.total - true_ref).max() <= ref_share_error
    values = _by_name(categorical_drift(cur, ref))
    exact_linf = float(np.abs(true_cur - true_ref).max())
    assert abs(values["linf"] - exact_linf) <= cur_share_error + ref_share_error
    assert values["psi"] < 0.05


def test_a_new_category_shows_against_a_sketch_that_does_not_list_it() -> None:
    rng = np.random.default_rng(5)
    reference = _sketched(_zipf_column(rng, 1900))
    hour = _zipf_column(rng, 270)
    changed = np.where(rng.random(hour.size) < 0.1, "brand-new", hour)
    assert "brand-new" not in dict(reference.items())
    values = {d.statistic: d for d in categorical_drift(_sketched(changed), reference)}
    # The new item's share moves from at most count_error / total (~0.7%) to ~10%.
    bound = reference.count_error / reference.total
    new_share = float(np.mean(changed == "brand-new"))
    assert values["linf"].value >= new_share - bound - 1 / hour.size
    assert values["chi2"].p_value < 1e-10
    unchanged = {d.statistic: d for d in categorical_drift(_sketched(hour), reference)}
    assert unchanged["linf"].value < 0.05
    assert unchanged["chi2"].p_value > 1e-4


def test_categorical_same_shares_read_as_no_drift() -> None:
    ref = ExactFrequencies.of(["x"] * 60 + ["y"] * 40)
    cur = ExactFrequencies.of(["x"] * 600 + ["y"] * 400)
    values = _by_name(categorical_drift(cur, ref))
    assert values["linf"] == 0.0
    assert values["psi"] == pytest.approx(0.0, abs=1e-12)
    assert values["chi2"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("shift", [0.0, 0.3, 5.0])
def test_ks_drift_is_numeric_drifts_ks_to_the_last_bit(shift: float) -> None:
    """The day-long drift reads KS alone through ks_drift; it must be numeric_drift's."""
    rng = np.random.default_rng(11)
    current = KllSource(rng.normal(shift, 1.0, 3000))
    pooled = PooledQuantiles.of_weighted_items(
        [(np.sort(rng.normal(0.0, 1.0, 500)), np.ones(500)) for _ in range(7)], rank_error=0.01
    )
    for reference in (pooled, KllSource(rng.lognormal(0.0, 1.0, 900), k=64)):
        whole = numeric_drift(current, reference, grid_size=256, with_p_values=False)[0]
        alone = ks_drift(current, reference, grid_size=256)
        assert alone == whole
    empty = ks_drift(KllSource([]), pooled)
    assert math.isnan(empty.value) and empty.n_reference == pooled.n


def test_pooled_quantiles_answer_repeated_levels_alike_and_read_only() -> None:
    pooled = PooledQuantiles.of_weighted_items(
        [(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 1.0, 4.0]))], rank_error=0.0
    )
    levels = np.array([0.1, 0.5, 0.9])
    first = pooled.quantiles(levels)
    assert np.array_equal(pooled.quantiles(levels.copy()), first)
    assert list(first) == [1.0, 3.0, 4.0]  # ranks 1, 4 and 8 of cumulative weights 1, 3, 4, 8
    assert not first.flags.writeable
