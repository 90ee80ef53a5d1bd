"""Drift of one column between two windows, from the two windows' sketches alone.

Numeric columns are compared through their quantile sketches:

- ``ks``: both CDFs evaluated on the union of both sketches' quantiles at the ``grid_size``
  midpoint levels ``(i + ½) / grid_size``. Off by at most ``ε_cur + ε_ref + 1/grid_size`` from
  the raw-sample statistic, where ``ε`` is each sketch's stated normalized rank error; that
  bound travels with the value.
- ``psi``, ``js``, ``g_test``: over the *reference's deciles* (bins of ~10% of the reference
  each; repeated edges, from ties, are merged). Bin counts are each side's ``n`` times its CDF
  increments at the edges.

A sketch cannot resolve share differences below its rank error ``ε``, yet a test on a million
rows would call such a difference significant. So the KS p-value and the G-test (value and
p-value) treat each side as at most ``1/ε²`` rows (:func:`resolvable_n`); the reported sample
sizes stay the true ones. Without this, two halves of one stream "drift" with p < 1e-10.
- ``wasserstein``: midpoint rule over ``grid_size`` quantile levels, in the column's units; plus
  ``wasserstein_std``, the same divided by the reference's standard deviation when the caller
  knows it, so columns of different scales read alike.

Categorical columns are compared through their frequent-items sketches over the items both
sides can speak for plus an ``other`` bucket (:func:`category_counts`): ``chi2``, ``g_test`` and
``psi`` on those bins, and ``linf``, the largest change of one bin's share.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from vigil.core import ConfigError
from vigil.stats.divergence import (
    Divergence,
    FloatArray,
    chi_square,
    g_test,
    jensen_shannon,
    ks_statistic,
    midpoint_levels,
    psi,
    wasserstein_1,
)
from vigil.stats.sketches import FrequentSource, QuantileSource

DECILES = np.linspace(0.1, 0.9, 9)
NUMERIC_STATISTICS = ("ks", "psi", "js", "g_test", "wasserstein", "wasserstein_std")
CATEGORICAL_STATISTICS = ("chi2", "g_test", "psi", "linf")


def numeric_drift(
    current: QuantileSource,
    reference: QuantileSource,
    *,
    grid_size: int = 512,
    reference_std: float = math.nan,
    with_p_values: bool = True,
) -> tuple[Divergence, ...]:
    """The numeric drift statistics, in the order of ``NUMERIC_STATISTICS``.

    ``with_p_values=False`` skips the KS p-value (the slowest part) when only values are kept.
    """
    n_cur, n_ref = float(current.n), float(reference.n)
    read = _read_grid(current, reference, grid_size)
    if read is None:
        return tuple(
            Divergence(statistic=name, value=math.nan, n_current=n_cur, n_reference=n_ref)
            for name in NUMERIC_STATISTICS
        )
    q_cur, q_ref, cdf_cur, cdf_ref, size = read
    eff_cur, eff_ref = resolvable_n(current), resolvable_n(reference)
    ks = _ks(current, reference, cdf_cur[:size], cdf_ref[:size], grid_size, with_p_values)
    cur_bins = _bin_counts(cdf_cur[size:], n_cur)
    ref_bins = _bin_counts(cdf_ref[size:], n_ref)
    w1 = wasserstein_1(q_cur, q_ref, n_current=n_cur, n_reference=n_ref)
    scaled = w1.value / reference_std if reference_std > 0 else math.nan
    return (
        ks,
        psi(cur_bins, ref_bins),
        jensen_shannon(cur_bins, ref_bins),
        replace(
            g_test(cur_bins * (eff_cur / n_cur), ref_bins * (eff_ref / n_ref)),
            n_current=n_cur,
            n_reference=n_ref,
        ),
        w1,
        Divergence(statistic="wasserstein_std", value=scaled, n_current=n_cur, n_reference=n_ref),
    )


def ks_drift(
    current: QuantileSource, reference: QuantileSource, *, grid_size: int = 512
) -> Divergence:
    """``numeric_drift(...)[0]`` without the p-value, and without computing the statistics
    after it (for the day-long drift, which tests KS alone): the same value to the last bit."""
    read = _read_grid(current, reference, grid_size)
    if read is None:
        n_cur, n_ref = float(current.n), float(reference.n)
        return Divergence(statistic="ks", value=math.nan, n_current=n_cur, n_reference=n_ref)
    _, _, cdf_cur, cdf_ref, size = read
    return _ks(current, reference, cdf_cur[:size], cdf_ref[:size], grid_size, False)


def _read_grid(
    current: QuantileSource, reference: QuantileSource, grid_size: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, int] | None:
    """Both sides' quantiles at the midpoint levels, and both CDFs on the union of those
    quantiles followed by the reference's deciles; the union's size. None when a side is empty.

    One quantile query and one CDF query per sketch: the midpoint levels serve both as the
    KS grid (spacing 1/grid_size) and as the Wasserstein levels; the reference's deciles ride
    along."""
    if grid_size < 2:
        raise ConfigError(f"grid_size must be >= 2, got {grid_size!r}")
    if current.n == 0 or reference.n == 0:
        return None
    mids = midpoint_levels(grid_size)
    q_cur = current.quantiles(mids)
    q_ref_all = reference.quantiles(np.concatenate([mids, DECILES]))
    q_ref, edges = q_ref_all[:grid_size], np.unique(q_ref_all[grid_size:])
    grid = np.union1d(q_cur, q_ref)
    points = np.concatenate([grid, edges])
    return q_cur, q_ref, current.cdf(points), reference.cdf(points), grid.size


def _ks(
    current: QuantileSource,
    reference: QuantileSource,
    cdf_cur: FloatArray,
    cdf_ref: FloatArray,
    grid_size: int,
    with_p_value: bool,
) -> Divergence:
    return ks_statistic(
        cdf_cur,
        cdf_ref,
        n_current=float(current.n),
        n_reference=float(reference.n),
        p_value_n=(resolvable_n(current), resolvable_n(reference)),
        with_p_value=with_p_value,
        sketch_error=current.normalized_rank_error
        + reference.normalized_rank_error
        + 1.0 / grid_size,
    )


def _bin_counts(cdf_at_edges: FloatArray, n: float) -> FloatArray:
    ranks = np.concatenate([[0.0], np.clip(cdf_at_edges, 0.0, 1.0), [1.0]])
    return np.maximum(np.diff(ranks), 0.0) * n


def resolvable_n(source: QuantileSource) -> float:
    """How many rows' worth of evidence a sketch holds: ``min(n, 1/ε²)``."""
    error = source.normalized_rank_error
    return float(source.n) if error <= 0 else min(float(source.n), 1.0 / error**2)


def decile_counts(
    current: QuantileSource, reference: QuantileSource
) -> tuple[FloatArray, FloatArray]:
    """Estimated counts of both sides in the bins cut at the reference's deciles.

    Bins are ``(-inf, e1], (e1, e2], ..., (e_last, inf)`` with inclusive CDFs, so a value equal
    to an edge counts in the bin below it on both sides alike.
    """
    edges = np.unique(reference.quantiles(DECILES))
    return (
        _bin_counts(current.cdf(edges), float(current.n)),
        _bin_counts(reference.cdf(edges), float(reference.n)),
    )


def categorical_drift(
    current: FrequentSource, reference: FrequentSource, *, max_items: int = 50
) -> tuple[Divergence, ...]:
    """The categorical drift statistics, in the order of ``CATEGORICAL_STATISTICS``.

    All of them over the bins of :func:`category_counts`; ``linf`` is the largest change of
    one bin's share, ``other`` included (it holds the same items on both sides).
    """
    _, cur_bins, ref_bins = category_counts(current, reference, max_items=max_items)
    n_cur, n_ref = float(cur_bins.sum()), float(ref_bins.sum())
    linf_value = math.nan
    if n_cur > 0 and n_ref > 0:
        linf_value = float(np.abs(cur_bins / n_cur - ref_bins / n_ref).max())
    return (
        chi_square(cur_bins, ref_bins),
        g_test(cur_bins, ref_bins),
        psi(cur_bins, ref_bins),
        Divergence(statistic="linf", value=linf_value, n_current=n_cur, n_reference=n_ref),
    )


MIN_BIN_COUNT = 5.0
"""An item gets its own bin only when the smaller side expects at least this many of it (the
usual rule for a chi-square table); rarer items are counted in ``other``."""


def category_counts(
    current: FrequentSource, reference: FrequentSource, *, max_items: int = 50
) -> tuple[list[str], FloatArray, FloatArray]:
    """Bins: items both sides can speak for, then ``other`` (the rest of each side's total).

    A side *knows* an item's count when it is exact (``count_error == 0``; an unlisted item is
    absent) or when the item's count is at least twice its error (the lower bound clears the
    error); the count used is the midpoint of its interval, ``estimate - count_error / 2``. A
    side that does not know an item still *bounds* it: at most ``count_error``. An item known
    on one side and bounded on the other is counted there as the value within that bound
    closest to no change (the known side's share times this side's total, capped at
    ``count_error``), so a brand-new category (10% now, at most 0.6% in the reference) shows
    at full strength, while an item that merely sits below one sketch's threshold adds nothing.
    Counting it as 0, as this function once did, made an unchanged 2,000-value column read as
    PSI 0.5-0.8 every day.

    Of those items, the ``max_items`` most frequent (pooled) that the smaller side expects at
    least :data:`MIN_BIN_COUNT` times keep their own bins.
    """
    if max_items < 1:
        raise ConfigError(f"max_items must be >= 1, got {max_items!r}")
    n_cur, n_ref = float(current.total), float(reference.total)
    # Each count_error asks the sketch for all its items: read once, not once per item.
    cur_error, ref_error = current.count_error, reference.count_error
    cur, ref = _known_counts(current, cur_error), _known_counts(reference, ref_error)
    for item in set(cur) - set(ref):
        ref[item] = min(ref_error, cur[item] / n_cur * n_ref)
    for item in set(ref) - set(cur):
        cur[item] = min(cur_error, ref[item] / n_ref * n_cur)
    smaller = min(n_cur, n_ref)
    pooled = {item: (cur[item] + ref[item]) / (n_cur + n_ref) for item in cur}
    ranked = sorted(pooled, key=lambda item: (-pooled[item], item))[:max_items]
    labels = sorted(item for item in ranked if pooled[item] * smaller >= MIN_BIN_COUNT)

    def counts(known: dict[str, float], total: float) -> FloatArray:
        row = np.array([known[label] for label in labels] + [0.0])
        row[-1] = max(0.0, total - float(row[:-1].sum()))
        return row

    return [*labels, "other"], counts(cur, n_cur), counts(ref, n_ref)


def _known_counts(source: FrequentSource, error: float) -> dict[str, float]:
    """The items ``source`` (whose ``count_error`` is ``error``) can speak for, with their
    midpoint counts."""
    return {
        item: float(count) - error / 2
        for item, count in source.items()
        if count > 0 and count >= 2 * error
    }
