"""The test statistics the real-time monitors score with.

Kept in one small module until the stats layer grows shared drift statistics (G-test over bins,
KS from sketch CDFs); then these merge into it. All functions are vectorized over numpy arrays.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError

FloatArray = npt.NDArray[np.float64]


def _xlogx(values: FloatArray) -> FloatArray:
    safe = np.where(values > 0, values, 1.0)
    return np.where(values > 0, values * np.log(safe), 0.0)


def g_statistic(
    observed: npt.ArrayLike, reference: npt.ArrayLike, *, pseudocount: float = 0.5
) -> float:
    """G-test of ``observed`` bin counts against the bin proportions of ``reference`` counts.

    ``G = 2 * sum(o * ln(o / e))`` with ``e = n * p`` is the log-likelihood ratio of the
    observed counts under their own proportions versus the reference's; it is asymptotically
    chi-square with ``bins - 1`` degrees of freedom. A ``pseudocount`` is added to every
    reference bin so a bin the reference never saw does not give an infinite score (Dunning's
    background histograms are long but finite).
    """
    counts = np.asarray(observed, dtype=np.float64)
    background = np.asarray(reference, dtype=np.float64) + pseudocount
    if counts.shape != background.shape or counts.ndim != 1:
        raise ConfigError(f"G-test needs equal 1-d bins, got {counts.shape} and {background.shape}")
    total = counts.sum()
    if total <= 0:
        return 0.0
    expected = total * background / background.sum()
    return float(2.0 * np.sum(_xlogx(counts) - counts * np.log(expected)))


def signed_root_llr(
    k11: npt.ArrayLike, k12: npt.ArrayLike, k21: npt.ArrayLike, k22: npt.ArrayLike
) -> FloatArray:
    """Dunning's signed root log-likelihood ratio of 2x2 tables, vectorized.

    Rows are "has the tag" / "has not", columns "in the slow tail" / "not". The result is
    ``sqrt(LLR)``, positive when the tag's rate of slow requests exceeds the others' rate, so it
    reads like a z-score: a value of 5 is an over-representation no chance fluctuation explains.
    """
    a, b, c, d = (np.asarray(k, dtype=np.float64) for k in (k11, k12, k21, k22))
    total = a + b + c + d
    llr = 2.0 * (
        _xlogx(a)
        + _xlogx(b)
        + _xlogx(c)
        + _xlogx(d)
        - _xlogx(a + b)
        - _xlogx(c + d)
        - _xlogx(a + c)
        - _xlogx(b + d)
        + _xlogx(total)
    )
    root = np.sqrt(np.maximum(llr, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        higher = a / np.maximum(a + b, 1e-300) > c / np.maximum(c + d, 1e-300)
    return np.where(higher, root, -root)


def ks_statistic(cdf_latest: npt.ArrayLike, cdf_reference: npt.ArrayLike) -> float:
    """Kolmogorov-Smirnov distance: the largest gap between two CDFs evaluated at the same points.

    With sketches the CDFs are estimates, so the result carries the sum of both sketches' rank
    errors; evaluate at the union of both sketches' quantile points to miss no jump by more.
    """
    latest = np.asarray(cdf_latest, dtype=np.float64)
    reference = np.asarray(cdf_reference, dtype=np.float64)
    if latest.shape != reference.shape:
        raise ConfigError(
            f"KS needs CDFs at the same points, got {latest.shape} and {reference.shape}"
        )
    if latest.size == 0:
        return 0.0
    return float(np.max(np.abs(latest - reference)))


def poisson_deviation(observed: float, expected: float, relative_error: float) -> float:
    """How far a count lies from its prediction, in standard deviations (signed).

    The variance is the Poisson variance plus the predictor's own error, ``e + (r * e)**2``, so
    a 3% forecast miss on a million requests is not read as a 30-sigma event.
    """
    if expected <= 0:
        return float(observed > 0) * float(np.sqrt(observed))
    variance = expected + (relative_error * expected) ** 2
    return float((observed - expected) / np.sqrt(variance))


def chi2_surprise(statistic: float, dof: int) -> float:
    """``-ln P(chi2(dof) >= statistic)``: exponentially distributed under the null.

    Uses the special function directly (``scipy.stats`` costs a millisecond a call) and, where
    the survival underflows, the leading term of its asymptotic expansion.
    """
    if dof < 1:
        raise ConfigError(f"chi-square needs dof >= 1, got {dof!r}")
    if statistic <= 0:
        return 0.0
    from scipy.special import chdtrc  # on first use

    survival = float(chdtrc(dof, statistic))
    if survival > 1e-300:
        return -math.log(survival)
    half = statistic / 2.0
    return half - (dof / 2.0 - 1.0) * math.log(half) + math.lgamma(dof / 2.0)


def pool_sparse_bins(
    counts: npt.ArrayLike,
    shares: npt.ArrayLike,
    *,
    min_expected: float = 1.0,
    min_share: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Merge neighbouring bins until each expects at least ``min_expected`` counts.

    The G-test's chi-square approximation fails when bins expect a fraction of a count: one
    value in a bin expecting 0.03 adds 7 to G. Tail cuts stay separate only when the sample is
    large enough to populate them. ``min_share`` also pools bins whose share is not known well
    enough: shares read off a sketch's CDF are only good to its rank error, and a 0.1% tail bin
    whose true share might be 1% makes G meaningless.
    """
    observed = np.asarray(counts, dtype=np.float64)
    share = np.asarray(shares, dtype=np.float64)
    total = observed.sum()
    # Expected = share * total, so both conditions are one floor on the share.
    needed = max(min_expected / total if total > 0 else 0.0, min_share)
    groups: list[list[int]] = [[i] for i in range(observed.size)]
    pooled = [float(s) for s in share]
    while len(groups) > 1 and min(pooled) < needed:
        worst = int(np.argmin(pooled))
        if worst == 0:
            neighbour = 1
        elif worst == len(groups) - 1:
            neighbour = worst - 1
        else:
            neighbour = worst - 1 if pooled[worst - 1] < pooled[worst + 1] else worst + 1
        low, high = sorted((worst, neighbour))
        groups[low] += groups.pop(high)
        pooled[low] += pooled.pop(high)
    pooled_counts = np.array([observed[group].sum() for group in groups])
    pooled_shares = np.array([share[group].sum() for group in groups])
    return pooled_counts, pooled_shares
