"""Distances between two distributions, computed from binned counts, CDFs or quantile functions.

These are the drift mathematics, kept as pure numpy functions over small arrays so each can be
checked by hand and against scipy. None of them sees a raw row: callers hand in what a sketch can
answer (CDF values on a grid, quantiles at levels, counts per bin). :mod:`vigil.stats.drift`
does that translation.

Every result is a :class:`Divergence`: the value *and* the sample sizes it rests on (a PSI of 0.4
between 12 rows and 12 rows is noise; between a million and a million it is a fact), and, where
the statistic has one, a p-value.

Conventions, decided once here:

- ``psi`` uses natural logarithms and floors empty bins at a share of ``1e-4`` (the usual
  practice; otherwise one empty bin makes PSI infinite).
- ``jensen_shannon`` is the Jensen–Shannon *distance* (square root of the divergence, base 2), so
  it is a metric in ``[0, 1]`` and equals ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
- ``g_test`` and ``chi_square`` are *two-sample* tests of homogeneity on the 2×k table of current
  and reference counts: the reference is a sample too, not a known truth. Bins empty on both
  sides are dropped; the degrees of freedom are (bins kept − 1).
- ``ks`` is the two-sample Kolmogorov–Smirnov statistic ``max |F_cur − F_ref|`` over a grid; its
  p-value uses the asymptotic distribution of ``scipy.stats.ks_2samp``.
- ``wasserstein`` is ``∫₀¹ |Q_cur(u) − Q_ref(u)| du`` by the midpoint rule, in the column's
  units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError

FloatArray = npt.NDArray[np.float64]

PSI_FLOOR = 1e-4
"""Share given to an empty bin in PSI, so one empty bin does not make the index infinite."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Divergence:
    """One drift value with the evidence behind it.

    ``value`` is NaN when either side is empty. ``p_value`` is NaN for statistics without one.
    ``sketch_error`` bounds how far ``value`` may sit from the same statistic computed on the raw
    rows, given the sketches' stated rank error (NaN when no such bound is known).
    """

    statistic: str
    value: float
    n_current: float
    n_reference: float
    p_value: float = math.nan
    sketch_error: float = math.nan

    def __post_init__(self) -> None:
        if not self.statistic:
            raise ConfigError("a divergence needs a statistic name")
        if not (self.n_current >= 0 and self.n_reference >= 0):
            raise ConfigError(
                f"{self.statistic}: sample sizes must be >= 0, got n_current={self.n_current!r}, "
                f"n_reference={self.n_reference!r}"
            )
        if not (math.isnan(self.p_value) or 0.0 <= self.p_value <= 1.0):
            raise ConfigError(f"{self.statistic}: p-value {self.p_value!r} is outside [0, 1]")

    @property
    def support(self) -> float:
        """The smaller of the two sample sizes: what the value's reliability is limited by."""
        return min(self.n_current, self.n_reference)


def _as_counts(name: str, values: npt.ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ConfigError(
            f"{name} must be a non-empty 1-d array of counts, got shape {array.shape}"
        )
    if not bool(np.all(np.isfinite(array))) or bool(np.any(array < 0)):
        raise ConfigError(f"{name} must hold finite counts >= 0, got {array.tolist()!r}")
    return array


def _paired_counts(
    current: npt.ArrayLike, reference: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    cur = _as_counts("current counts", current)
    ref = _as_counts("reference counts", reference)
    if cur.shape != ref.shape:
        raise ConfigError(f"current has {cur.size} bins but reference has {ref.size}")
    return cur, ref


def _empty(statistic: str, n_current: float, n_reference: float) -> Divergence:
    return Divergence(
        statistic=statistic, value=math.nan, n_current=n_current, n_reference=n_reference
    )


def psi(current: npt.ArrayLike, reference: npt.ArrayLike) -> Divergence:
    """Population stability index ``Σ (c − r) ln(c / r)`` over bin shares."""
    cur, ref = _paired_counts(current, reference)
    n_cur, n_ref = float(cur.sum()), float(ref.sum())
    if n_cur == 0 or n_ref == 0:
        return _empty("psi", n_cur, n_ref)
    c = np.maximum(cur / n_cur, PSI_FLOOR)
    r = np.maximum(ref / n_ref, PSI_FLOOR)
    value = float(np.sum((c - r) * np.log(c / r)))
    return Divergence(statistic="psi", value=value, n_current=n_cur, n_reference=n_ref)


def jensen_shannon(current: npt.ArrayLike, reference: npt.ArrayLike) -> Divergence:
    """Jensen–Shannon distance (base 2, in ``[0, 1]``) between the two bin-share vectors."""
    cur, ref = _paired_counts(current, reference)
    n_cur, n_ref = float(cur.sum()), float(ref.sum())
    if n_cur == 0 or n_ref == 0:
        return _empty("js", n_cur, n_ref)
    p, q = cur / n_cur, ref / n_ref
    m = (p + q) / 2

    def kl_to_m(x: FloatArray) -> float:
        keep = x > 0
        return float(np.sum(x[keep] * np.log2(x[keep] / m[keep])))

    divergence = max(0.0, (kl_to_m(p) + kl_to_m(q)) / 2)
    return Divergence(
        statistic="js", value=math.sqrt(min(divergence, 1.0)), n_current=n_cur, n_reference=n_ref
    )


def _table(cur: FloatArray, ref: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Observed 2×k table with all-empty bins dropped, and its expected counts."""
    keep = (cur + ref) > 0
    observed = np.vstack([cur[keep], ref[keep]])
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True)
    return observed, expected / observed.sum()


def g_test(current: npt.ArrayLike, reference: npt.ArrayLike) -> Divergence:
    """Log-likelihood-ratio test that current and reference counts share one distribution.

    ``G = 2 Σ O ln(O / E)`` over the 2×k table; ``p = P(χ²_{k−1} ≥ G)``. Equals
    ``scipy.stats.chi2_contingency(table, lambda_="log-likelihood")`` on the same table.
    """
    cur, ref = _paired_counts(current, reference)
    n_cur, n_ref = float(cur.sum()), float(ref.sum())
    if n_cur == 0 or n_ref == 0:
        return _empty("g_test", n_cur, n_ref)
    observed, expected = _table(cur, ref)
    nonzero = observed > 0
    value = float(2.0 * np.sum(observed[nonzero] * np.log(observed[nonzero] / expected[nonzero])))
    return _tested("g_test", max(value, 0.0), observed.shape[1] - 1, n_cur, n_ref)


def chi_square(current: npt.ArrayLike, reference: npt.ArrayLike) -> Divergence:
    """Pearson's chi-square test of homogeneity on the 2×k table (no continuity correction)."""
    cur, ref = _paired_counts(current, reference)
    n_cur, n_ref = float(cur.sum()), float(ref.sum())
    if n_cur == 0 or n_ref == 0:
        return _empty("chi2", n_cur, n_ref)
    observed, expected = _table(cur, ref)
    value = float(np.sum((observed - expected) ** 2 / expected))
    return _tested("chi2", value, observed.shape[1] - 1, n_cur, n_ref)


def _tested(statistic: str, value: float, dof: int, n_cur: float, n_ref: float) -> Divergence:
    # One non-empty bin on both sides: the two samples cannot differ, nothing to test.
    from scipy import special  # imported on first use: scipy costs ~0.3 CPU s to import

    p_value = 1.0 if dof < 1 else float(special.chdtrc(dof, value))
    return Divergence(
        statistic=statistic, value=value, n_current=n_cur, n_reference=n_ref, p_value=p_value
    )


def linf_shares(current: npt.ArrayLike, reference: npt.ArrayLike) -> Divergence:
    """Largest absolute difference of one bin's (item's) share: ``max |c_i − r_i|``."""
    cur, ref = _paired_counts(current, reference)
    n_cur, n_ref = float(cur.sum()), float(ref.sum())
    if n_cur == 0 or n_ref == 0:
        return _empty("linf", n_cur, n_ref)
    value = float(np.max(np.abs(cur / n_cur - ref / n_ref)))
    return Divergence(statistic="linf", value=value, n_current=n_cur, n_reference=n_ref)


def ks_statistic(
    cdf_current: npt.ArrayLike,
    cdf_reference: npt.ArrayLike,
    *,
    n_current: float,
    n_reference: float,
    sketch_error: float = math.nan,
    p_value_n: tuple[float, float] | None = None,
    with_p_value: bool = True,
) -> Divergence:
    """Two-sample KS statistic from both CDFs evaluated on one common grid of points.

    The grid should hold both samples' quantile points densely enough that neither CDF rises by
    more than the sketch error between neighbours; then the maximum over the grid is within
    ``sketch_error`` (the sum of both sketches' rank errors plus that spacing) of the raw-sample
    statistic. The p-value is asymptotic (as ``ks_2samp(method="asymp")``) and, like everything
    from sketches, approximate; ``p_value_n`` overrides the sample sizes it uses (a sketch's
    evidence is capped by its resolution, see :func:`vigil.stats.column_drift.resolvable_n`).
    The p-value costs more than the statistic; ``with_p_value=False`` leaves it NaN.
    """
    f_cur = np.asarray(cdf_current, dtype=np.float64)
    f_ref = np.asarray(cdf_reference, dtype=np.float64)
    if f_cur.shape != f_ref.shape or f_cur.ndim != 1:
        raise ConfigError(f"CDF grids differ: current {f_cur.shape}, reference {f_ref.shape}")
    if n_current <= 0 or n_reference <= 0 or f_cur.size == 0:
        return _empty("ks", max(n_current, 0.0), max(n_reference, 0.0))
    value = float(np.clip(np.max(np.abs(f_cur - f_ref)), 0.0, 1.0))
    n_a, n_b = p_value_n if p_value_n is not None else (n_current, n_reference)
    effective_n = n_a * n_b / (n_a + n_b)
    p_value = float(np.clip(_ks_sf(value, effective_n), 0.0, 1.0)) if with_p_value else math.nan
    return Divergence(
        statistic="ks",
        value=value,
        n_current=n_current,
        n_reference=n_reference,
        p_value=p_value,
        sketch_error=sketch_error,
    )


KS_EXACT_UP_TO = 2000
"""Effective sample sizes up to which the KS p-value uses the finite-n distribution."""


def _ks_sf(statistic: float, effective_n: float) -> float:
    # scipy's finite-n distribution costs ~1 ms a call; beyond a few thousand rows the limiting
    # Kolmogorov distribution agrees with it to well under the sketches' own error.
    from scipy import special
    from scipy import stats as scipy_stats

    if effective_n <= KS_EXACT_UP_TO:
        return float(scipy_stats.kstwo.sf(statistic, max(1, round(effective_n))))
    return float(special.kolmogorov(math.sqrt(effective_n) * statistic))


def wasserstein_1(
    quantiles_current: npt.ArrayLike,
    quantiles_reference: npt.ArrayLike,
    *,
    n_current: float,
    n_reference: float,
) -> Divergence:
    """Wasserstein-1 distance from both quantile functions at midpoint levels ``(i + ½) / m``.

    In one dimension ``W₁ = ∫₀¹ |Q_cur(u) − Q_ref(u)| du``; with the quantiles at the ``m``
    midpoints this is the midpoint rule, exact for two samples of ``m`` equal-weight points.
    """
    q_cur = np.asarray(quantiles_current, dtype=np.float64)
    q_ref = np.asarray(quantiles_reference, dtype=np.float64)
    if q_cur.shape != q_ref.shape or q_cur.ndim != 1:
        raise ConfigError(f"quantile grids differ: current {q_cur.shape}, reference {q_ref.shape}")
    if n_current <= 0 or n_reference <= 0 or q_cur.size == 0:
        return _empty("wasserstein", max(n_current, 0.0), max(n_reference, 0.0))
    value = float(np.mean(np.abs(q_cur - q_ref)))
    return Divergence(
        statistic="wasserstein", value=value, n_current=n_current, n_reference=n_reference
    )


def midpoint_levels(m: int) -> FloatArray:
    """The ``m`` levels ``(i + ½) / m`` at which :func:`wasserstein_1` wants quantiles."""
    if m < 1:
        raise ConfigError(f"need at least one quantile level, got m={m!r}")
    return (np.arange(m, dtype=np.float64) + 0.5) / m
