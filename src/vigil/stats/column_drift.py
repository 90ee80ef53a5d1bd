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

Categorical columns are compared through their frequent-items sketches over the union of both
sides' listed items plus an ``other`` bucket (the total not covered by listed items):
``chi2``, ``g_test`` and ``psi`` on those bins, and ``linf``, the largest change of one listed
item's share.
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
    if grid_size < 2:
        raise ConfigError(f"grid_size must be >= 2, got {grid_size!r}")
    n_cur, n_ref = float(current.n), float(reference.n)
    if n_cur == 0 or n_ref == 0:
        return tuple(
            Divergence(statistic=name, value=math.nan, n_current=n_cur, n_reference=n_ref)
            for name in NUMERIC_STATISTICS
        )
    # One quantile query and one CDF query per sketch: the midpoint levels serve both as the
    # KS grid (spacing 1/grid_size) and as the Wasserstein levels; the reference's deciles
    # ride along.
    mids = midpoint_levels(grid_size)
    q_cur = current.quantiles(mids)
    q_ref_all = reference.quantiles(np.concatenate([mids, DECILES]))
    q_ref, edges = q_ref_all[:grid_size], np.unique(q_ref_all[grid_size:])
    grid = np.union1d(q_cur, q_ref)
    points = np.concatenate([grid, edges])
    cdf_cur, cdf_ref = current.cdf(points), reference.cdf(points)
    eff_cur, eff_ref = resolvable_n(current), resolvable_n(reference)
    ks = ks_statistic(
        cdf_cur[: grid.size],
        cdf_ref[: grid.size],
        n_current=n_cur,
        n_reference=n_ref,
        p_value_n=(eff_cur, eff_ref),
        with_p_value=with_p_values,
        sketch_error=current.normalized_rank_error
        + reference.normalized_rank_error
        + 1.0 / grid_size,
    )
    cur_bins = _bin_counts(cdf_cur[grid.size :], n_cur)
    ref_bins = _bin_counts(cdf_ref[grid.size :], n_ref)
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
    """The categorical drift statistics, in the order of ``CATEGORICAL_STATISTICS``."""
    _, cur_bins, ref_bins = category_counts(current, reference, max_items=max_items)
    n_cur, n_ref = float(cur_bins.sum()), float(ref_bins.sum())
    linf_value = math.nan
    if n_cur > 0 and n_ref > 0:
        # Listed items only: "other" mixes different items on the two sides.
        shift = np.abs(cur_bins[:-1] / n_cur - ref_bins[:-1] / n_ref)
        linf_value = float(shift.max()) if shift.size else 0.0
    return (
        chi_square(cur_bins, ref_bins),
        g_test(cur_bins, ref_bins),
        psi(cur_bins, ref_bins),
        Divergence(statistic="linf", value=linf_value, n_current=n_cur, n_reference=n_ref),
    )


def category_counts(
    current: FrequentSource, reference: FrequentSource, *, max_items: int = 50
) -> tuple[list[str], FloatArray, FloatArray]:
    """Bins: the union of each side's ``max_items`` most frequent items, then ``other``.

    An item one side does not list counts 0 there (below that sketch's threshold it is part of
    ``other``), so a brand-new category shows up as its own bin, not hidden in ``other``.
    """
    if max_items < 1:
        raise ConfigError(f"max_items must be >= 1, got {max_items!r}")
    cur_items = dict(current.items()[:max_items])
    ref_items = dict(reference.items()[:max_items])
    labels = sorted(set(cur_items) | set(ref_items))

    def counts(listed: dict[str, int], total: int) -> FloatArray:
        row = np.array([float(listed.get(label, 0)) for label in labels] + [0.0])
        row[-1] = max(0.0, float(total) - float(row[:-1].sum()))
        return row

    return (
        [*labels, "other"],
        counts(cur_items, current.total),
        counts(ref_items, reference.total),
    )
