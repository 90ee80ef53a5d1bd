"""Is this window's statistic different from its reference's? A test against sampling noise at
both sample sizes, combined with a smallest change worth a page.

Fixed effect sizes alone (``KS >= 0.3``) ignore the sample size: with 5,000 rows a KS of 0.2 is
overwhelming evidence, with 40 rows a KS of 0.3 is noise. Tests alone page on every change a
million rows can resolve, however small. So every band here is the wider of two half-widths:

- ``z * se``: the change sampling noise can produce at this window's ``n`` and the reference's
  ``n`` (plus, for statistics read from sketches, the sketches' stated rank error), with ``z``
  the two-sided normal quantile of :attr:`ChangeTest.alpha`, the false-alarm probability of one
  test;
- the smallest change a user cares about (:class:`ChangeTest`'s ``min_*`` fields), in units
  that scale with the column: a mean in reference standard deviations, a spread as a ratio, a
  quantile in ranks, a distribution by KS, a category's share in share points.

A band is ``expected`` (the reference's value) with ``lower`` and ``upper``; the window's value
outside it is a change. Bands are NaN (no opinion) when a side has too few values to say
anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from vigil.core import ConfigError
from vigil.profile import Moments
from vigil.stats.kurtosis import MIN_VALUES, spread_kurtosis
from vigil.stats.sketches import FloatArray, QuantileSource

KURTOSIS_RANGE = (1.8, 50.0)
MAX_STD_KURTOSIS = 20.0
"""Above this kurtosis the standard deviation is not tested. So heavy a tail (a lognormal with
σ ≥ 0.8, Student's t with 3 degrees of freedom, a Pareto) makes a day's standard deviation jump
with its few largest values far beyond what the normal approximation of ``ln sd`` allows: at
``alpha`` 1e-6 a lognormal(σ=1) column flagged 2 in 300 unchanged days, a lognormal(σ=1.5) one
60 in 300. The quantile and KS tests, which count ranks, judge such a column's spread."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeTest:
    """How sure (``alpha``) and how large (``min_*``) a change must be to be one.

    - ``alpha``: false-alarm probability of one test of one window (two-sided).
    - ``min_mean_sd``: smallest mean shift, in reference standard deviations.
    - ``min_std_ratio``: smallest change of the standard deviation, as a ratio (0.15 = ±15%).
    - ``min_rank_shift``: smallest move of a quantile, in ranks (0.05 = the median moving to the
      reference's 45th or 55th percentile).
    - ``min_ks``: smallest KS distance between the two distributions.
    - ``min_share``: smallest change of one category's share (categorical columns).
    - ``min_performance``: smallest change of a performance metric in ``[0, 1]`` (accuracy,
      AUC, ...) and of log loss and calibration error.
    - ``min_error_ratio``: smallest relative change of a regressor's error (MAE, RMSE, MAPE;
      bias relative to the reference's RMSE).
    - ``recent_mean_alpha_ratio``: the day-long ``recent_mean`` (a slow drift's test,
      :mod:`vigil.stats.recent_mean`) is tested at ``alpha`` times this (at most 0.1, or
      ``alpha`` if larger); at the default 10 (1e-5) it adds about 1e-4 false alarms per calm
      column-day.
    """

    alpha: float = 1e-6
    min_mean_sd: float = 0.05
    min_std_ratio: float = 0.1
    min_rank_shift: float = 0.05
    min_ks: float = 0.05
    min_share: float = 0.03
    min_performance: float = 0.02
    min_error_ratio: float = 0.1
    recent_mean_alpha_ratio: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 0.5:
            raise ConfigError(f"alpha must be in (0, 0.5), got {self.alpha!r}")
        ratio = self.recent_mean_alpha_ratio
        if not (math.isfinite(ratio) and ratio > 0.0):
            raise ConfigError(f"recent_mean_alpha_ratio must be a number > 0, got {ratio!r}")
        names = (
            "min_mean_sd",
            "min_std_ratio",
            "min_rank_shift",
            "min_ks",
            "min_share",
            "min_performance",
            "min_error_ratio",
        )
        for name in names:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.min_rank_shift >= 0.5 or self.min_ks >= 1.0 or self.min_share >= 1.0:
            raise ConfigError(
                f"min_rank_shift ({self.min_rank_shift!r}) must be < 0.5, min_ks "
                f"({self.min_ks!r}) and min_share ({self.min_share!r}) < 1"
            )

    @property
    def z(self) -> float:
        """Two-sided normal quantile of ``alpha``."""
        return float(special.ndtri(1.0 - self.alpha / 2.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeBand:
    """Where a window's statistic may lie without being a change."""

    expected: float
    lower: float
    upper: float

    def __post_init__(self) -> None:
        if self.lower > self.upper:
            raise ConfigError(f"band lower {self.lower!r} is above its upper {self.upper!r}")

    @classmethod
    def unknown(cls) -> ChangeBand:
        return cls(expected=math.nan, lower=math.nan, upper=math.nan)

    def contains(self, value: float) -> bool:
        """True inside the band, and when the value or the band is unknown; a side that is NaN
        (a tail quantile's side the reference cannot bound, :func:`quantile_band`) bounds
        nothing, as in :meth:`~vigil.pipeline.policy.DriftRule.tested_flags`."""
        if math.isnan(value):
            return True
        return not (value < self.lower or value > self.upper)


def mean_band(current: Moments, reference: Moments, test: ChangeTest) -> ChangeBand:
    """A test of the means: half-width ``max(min_mean_sd * sd_ref, z * se)``, so the band
    scales with the column's spread, never with its offset.

    ``se = sqrt(max(var_cur, var_ref) * (1/n_cur + 1/n_ref))``: the larger of the two
    variances, not each side's own (Welch's). On a skewed column a window that happens to lack
    the rare large values has a low mean *and* a low variance, so Welch's ``z`` runs far into
    the lower tail: on lognormal(σ=1) days of 1,000 values against a week, ``z < -3.89`` came
    up 7 times as often as the normal tail says (3.5e-4 vs 5e-5 in 20,000 days); with the
    larger variance, never. Under no change both variances estimate the same one, so on
    normal data the test is Welch's."""
    if min(current.count, reference.count) < MIN_VALUES:
        return ChangeBand.unknown()
    variance = max(current.variance, reference.variance)
    se = math.sqrt(variance * (1.0 / current.count + 1.0 / reference.count))
    half = max(test.min_mean_sd * reference.std, test.z * se)
    return ChangeBand(
        expected=reference.mean, lower=reference.mean - half, upper=reference.mean + half
    )


def std_band(
    current: Moments, reference: Moments, test: ChangeTest, *, kurtosis: float = 3.0
) -> ChangeBand:
    """A test of ``ln(sd_cur / sd_ref)``, whose variance is about ``(κ - 1) / (4 n)`` per side
    (κ the kurtosis, 3 for normal data; heavy tails widen the band; :func:`numeric_changes`
    passes :func:`heavier_kurtosis`). The band is multiplicative around the reference's
    standard deviation; unknown (untested) above :data:`MAX_STD_KURTOSIS`."""
    if min(current.count, reference.count) < MIN_VALUES or kurtosis > MAX_STD_KURTOSIS:
        return ChangeBand.unknown()
    spread = reference.std
    low, high = KURTOSIS_RANGE
    excess = min(max(kurtosis, low), high) - 1.0 if math.isfinite(kurtosis) else 2.0
    se = math.sqrt(excess / 4.0 * (1.0 / current.count + 1.0 / reference.count))
    half = max(math.log1p(test.min_std_ratio), test.z * se)
    return ChangeBand(
        expected=spread, lower=spread * math.exp(-half), upper=spread * math.exp(half)
    )


def quantile_band(
    current: QuantileSource, reference: QuantileSource, level: float, test: ChangeTest
) -> ChangeBand:
    """The window's quantile at ``level`` against the reference's quantiles ``h`` ranks either
    side, ``h = max(min_rank_shift, z * sqrt(q (1 - q) (1/n_cur + 1/n_ref)) + ε_cur + ε_ref)``:
    the share of the window below the reference's quantile is a binomial proportion, and each
    sketch may misplace a rank by its stated error ``ε``.

    Where ``level - h`` falls below 0 (or ``level + h`` above 1) that side's edge is the
    reference's extreme, and the normal approximation no longer holds: it is kept only while
    the window's quantile beyond the reference's extreme is itself improbable
    (:func:`beyond_extreme_chance` below ``alpha / 2``), else that side is NaN and bounds
    nothing. A p05 of 52 values below the least of 290 reference values needs 3 values there,
    which happens 1 time in 300 with no change (a heavy-tailed column at night paged on it);
    of 270 values below the least of 1,900, one time in 10^10.
    """
    if not 0.0 < level < 1.0:
        raise ConfigError(f"quantile level must be in (0, 1), got {level!r}")
    if min(current.n, reference.n) < MIN_VALUES:
        return ChangeBand.unknown()
    reach = BandReach.of(current, reference, level, test)
    return reach.band(reference.quantiles(reach.levels), test)


@dataclass(frozen=True, slots=True, kw_only=True)
class BandReach:
    """:func:`quantile_band`'s reference levels (``level`` and the band's two edges, clipped
    into ``[0, 1]``) and what deciding its clipped sides needs, apart from the reference's
    quantiles there: the drift of many windows reads those for all of them at once."""

    level: float
    levels: FloatArray
    clipped_low: bool
    clipped_high: bool
    n_current: float
    n_reference: float
    current_error: float

    @classmethod
    def of(
        cls, current: QuantileSource, reference: QuantileSource, level: float, test: ChangeTest
    ) -> BandReach:
        below, above = _rank_reach(current.n, reference.n, level, test)
        sketch = current.normalized_rank_error + reference.normalized_rank_error
        below = max(test.min_rank_shift, below + sketch)
        above = max(test.min_rank_shift, above + sketch)
        return cls(
            level=level,
            levels=np.minimum(
                np.maximum(np.array([level - below, level, level + above]), 0.0), 1.0
            ),
            clipped_low=level - below <= 0.0,
            clipped_high=level + above >= 1.0,
            n_current=current.n,
            n_reference=reference.n,
            current_error=current.normalized_rank_error,
        )

    def band(self, quantiles: FloatArray, test: ChangeTest) -> ChangeBand:
        """The band from the reference's quantiles at :attr:`levels`."""
        low, expected, high = (float(v) for v in quantiles)
        level, error = self.level, self.current_error
        # Each side on its own (a median can clip on both): a clipped side stays only while
        # that share of the window beyond the reference's extreme is improbable.
        side = test.alpha / 2.0
        if (
            self.clipped_low
            and beyond_extreme_chance(self.n_current, self.n_reference, level - error) >= side
        ):
            low = math.nan
        if (
            self.clipped_high
            and beyond_extreme_chance(self.n_current, self.n_reference, 1.0 - level - error) >= side
        ):
            high = math.nan
        return ChangeBand(expected=expected, lower=low, upper=high)


def _rank_reach(
    n_current: float, n_reference: float, level: float, test: ChangeTest
) -> tuple[float, float]:
    """How far below and above ``level`` the window's quantile may fall, in the reference's
    ranks, with no change: the window's side from the exact law of a sample quantile (the
    quantile at ``level`` of ``n`` values is their ``k = ceil(level n)``-th, as the sketches
    read it, and its rank is Beta(k, n - k + 1): skewed for a tail quantile of few values,
    where the normal law is far too narrow on the inner side), the reference's from the normal
    law, added in quadrature.

    For many values both sides tend to ``z sqrt(level (1 - level) (1/n_cur + 1/n_ref))``.
    """
    n = max(1.0, float(n_current))
    k = min(max(1.0, math.ceil(round(level * n, 9))), n)
    low, high = _beta_bounds(k, n, test.alpha)
    reference = test.z * math.sqrt(level * (1.0 - level) / n_reference)
    return math.hypot(max(0.0, level - low), reference), math.hypot(
        max(0.0, high - level), reference
    )


@lru_cache(maxsize=4096)
def _beta_bounds(k: float, n: float, alpha: float) -> tuple[float, float]:
    """The ``alpha / 2`` and ``1 - alpha / 2`` quantiles of Beta(k, n - k + 1), remembered: a
    replay asks the same few (a window's size, three levels) for every column and window."""
    return (
        float(special.betaincinv(k, n - k + 1.0, alpha / 2.0)),
        float(special.betaincinv(k, n - k + 1.0, 1.0 - alpha / 2.0)),
    )


def beyond_extreme_chance(n_current: float, n_reference: float, share: float) -> float:
    """The chance, with no change, that a ``share`` of the window's values lie beyond every
    one of the reference's (below its least, or above its greatest).

    That needs the ``k = ceil(share * n_current)`` (at least 1) most extreme of the pooled
    values all to be the window's; for two samples of one distribution every order is equally
    likely, so the chance is ``prod_{i < k} (n_current - i) / (n_current + n_reference - i)``.
    """
    if n_current < 1 or n_reference < 1:
        return 1.0
    k = max(1, math.ceil(share * n_current - 1e-9))
    if k > n_current:
        return 0.0
    return _all_extremes_chance(float(n_current), float(n_reference), k)


@lru_cache(maxsize=4096)
def _all_extremes_chance(n_current: float, n_reference: float, k: int) -> float:
    """``prod_{i < k} (n_current - i) / (n_current + n_reference - i)``, remembered by its
    arguments (a day-long replay asks the same sizes for every window)."""
    i = np.arange(k, dtype=np.float64)
    return float(np.exp(np.sum(np.log((n_current - i) / (n_current + n_reference - i)))))


def ks_limit(n_current: float, n_reference: float, sketch_error: float, test: ChangeTest) -> float:
    """The KS distance beyond which two samples of these sizes differ: the ``1 - alpha``
    quantile of the two-sample KS statistic under no change, plus the sketches' error, and at
    least ``min_ks``. NaN when a side is empty."""
    if min(n_current, n_reference) < MIN_VALUES:
        return math.nan
    effective = n_current * n_reference / (n_current + n_reference)
    critical = float(special.kolmogi(test.alpha)) / math.sqrt(effective)
    error = sketch_error if math.isfinite(sketch_error) else 0.0
    return max(test.min_ks, min(critical + error, 1.0))


def share_change(
    current: np.ndarray, reference: np.ndarray, share_error: float, test: ChangeTest
) -> tuple[float, float]:
    """The change of the category (bin) that moved most surely, and its limit.

    Each bin ``i`` is tested on its own: its share may move by ``z * sqrt(p_i (1 - p_i)
    (1/n_cur + 1/n_ref))`` (``p_i`` the pooled share, ``z`` Bonferroni's for ``k`` bins, so
    ``alpha`` holds for the column) plus the sketches' share error, and at least ``min_share``.
    Returned: ``(|change|, limit)`` of the bin whose change is the largest multiple of its own
    limit, so the column changed exactly when the first exceeds the second. NaN when a side is
    empty."""
    n_cur, n_ref = float(current.sum()), float(reference.sum())
    if min(n_cur, n_ref) < MIN_VALUES:
        return math.nan, math.nan
    pooled = (current + reference) / (n_cur + n_ref)
    noise = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n_cur + 1.0 / n_ref))
    z = float(special.ndtri(1.0 - test.alpha / (2.0 * max(current.size, 1))))
    limits = np.minimum(np.maximum(test.min_share, z * noise + share_error), 1.0)
    moved = np.abs(current / n_cur - reference / n_ref)
    worst = int(np.argmax(moved / limits))
    return float(moved[worst]), float(limits[worst])


@dataclass(frozen=True, slots=True, kw_only=True)
class Tested:
    """One statistic of one window with the band that decides it."""

    statistic: str
    value: float
    band: ChangeBand
    support: float

    @property
    def changed(self) -> bool:
        return not self.band.contains(self.value)


NUMERIC_TESTED = ("mean", "std", "p05", "p50", "p95", "ks")
CATEGORICAL_TESTED = ("share",)
TESTED_LEVELS = {"p05": 0.05, "p50": 0.5, "p95": 0.95}
BAND_SUFFIXES = ("_expected", "_lower", "_upper")
"""A tested statistic ``s`` is stored as ``s`` plus ``s_expected``, ``s_lower``, ``s_upper``."""


def numeric_changes(
    current: QuantileSource,
    current_moments: Moments,
    reference: QuantileSource,
    reference_moments: Moments,
    test: ChangeTest,
    *,
    ks: float,
    ks_sketch_error: float,
) -> list[Tested]:
    """Mean, standard deviation, three quantiles and the KS distance of one numeric column,
    each with its band (``ks`` is computed by the caller, with the sketches' error)."""
    support = float(min(current.n, reference.n))
    kurtosis = spread_kurtosis(current, current_moments, reference, reference_moments)
    found = moment_changes(current_moments, reference_moments, test, kurtosis, support)
    for name, level in TESTED_LEVELS.items():
        value = float(current.quantiles([level])[0]) if current.n else math.nan
        band = quantile_band(current, reference, level, test)
        found.append(Tested(statistic=name, value=value, band=band, support=support))
    limit = ks_limit(float(current.n), float(reference.n), ks_sketch_error, test)
    found.append(
        Tested(
            statistic="ks",
            value=ks,
            band=ChangeBand.unknown()
            if math.isnan(limit)
            else ChangeBand(expected=0.0, lower=0.0, upper=limit),
            support=support,
        )
    )
    return found


def moment_changes(
    current: Moments, reference: Moments, test: ChangeTest, kurtosis: float, support: float
) -> list[Tested]:
    """The mean and the standard deviation (its band widened by ``kurtosis``) of one numeric
    column, as :func:`numeric_changes` and the batched bands both give them."""
    return [
        Tested(
            statistic="mean",
            value=current.mean if current.count else math.nan,
            band=mean_band(current, reference, test),
            support=support,
        ),
        Tested(
            statistic="std",
            value=current.std if current.count else math.nan,
            band=std_band(current, reference, test, kurtosis=kurtosis),
            support=support,
        ),
    ]


def categorical_change(
    current_bins: np.ndarray, reference_bins: np.ndarray, share_error: float, test: ChangeTest
) -> Tested:
    """The change of the category that moved most surely (``share``, over the bins of
    :func:`~vigil.stats.column_drift.category_counts`) with its limit."""
    value, limit = share_change(current_bins, reference_bins, share_error, test)
    band = (
        ChangeBand.unknown()
        if math.isnan(limit)
        else ChangeBand(expected=0.0, lower=0.0, upper=limit)
    )
    support = min(float(current_bins.sum()), float(reference_bins.sum()))
    return Tested(statistic="share", value=value, band=band, support=support)
