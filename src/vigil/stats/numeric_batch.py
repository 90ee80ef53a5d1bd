"""The numeric drift of many (window, reference) pairs at once, as arrays.

:func:`~vigil.stats.column_drift.numeric_drift` reads one pair in some forty small numpy calls,
each of which costs more in dispatch than in work at a window of a few hundred rows; a replay
asks it for every column of every window. :func:`numeric_drift_batch` answers a batch of pairs
(the hourly drift hands it every numeric column of every window whose references are settled)
with a handful of calls over ``pairs × levels`` arrays, and gives the same
:class:`~vigil.stats.divergence.Divergence` values to the last bit:

- the quantiles of every pair at once: each side's cumulative weights (whole numbers: a KLL
  weight is a power of two) laid end to end, each run lifted by the weight before it, so one
  ``searchsorted`` finds every pair's ``ceil(q n)``-th weight exactly where the pair's own would;
- KS over both sides' quantiles with their repeats (``numeric_drift`` takes the union first; a
  maximum does not care about repeats);
- the decile bins' statistics (PSI, JS, G-test) over ``pairs × 10`` arrays for the pairs whose
  ten bins are all filled, on both sides; numpy sums a C-contiguous row as it sums the same
  values alone (pairwise, in the same order), and the other pairs (tied deciles, an empty bin)
  go through the one-pair functions.

Only the CDF's ``searchsorted`` stays one call per side and pair: the items differ per pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from vigil.profile import Moments
from vigil.stats.change import (
    MIN_VALUES,
    TESTED_LEVELS,
    BandReach,
    ChangeBand,
    ChangeTest,
    Tested,
    _kurtosis_grid,
    ks_limit,
    kurtosis_rows,
    mean_band,
    numeric_changes,
    std_band,
)
from vigil.stats.column_drift import (
    DECILES,
    _bin_counts,
    numeric_drift,
    resolvable_n,
)
from vigil.stats.divergence import (
    PSI_FLOOR,
    Divergence,
    FloatArray,
    g_test,
    jensen_shannon,
    midpoint_levels,
    psi,
)
from vigil.stats.reference import WindowQuantiles
from vigil.stats.sketches import PooledQuantiles

NumericPair = tuple[WindowQuantiles, PooledQuantiles, float]
"""A window's quantiles, its pooled reference and the reference's standard deviation."""

_EXACT_WEIGHTS = 2.0**52
"""Cumulative weights laid end to end stay exact integers in float64 below this."""


def numeric_drift_batch(
    pairs: Sequence[NumericPair], *, grid_size: int = 512
) -> list[tuple[Divergence, ...]]:
    """``numeric_drift(current, reference, grid_size=..., reference_std=...,
    with_p_values=False)`` for every pair, in order, to the last bit."""
    found: list[tuple[Divergence, ...] | None] = [None] * len(pairs)
    rows = [i for i, (cur, ref, _) in enumerate(pairs) if cur.n > 0 and ref.n > 0]
    if grid_size >= 2 and rows and _stackable([pairs[i] for i in rows]):
        chosen = [pairs[i] for i in rows]
        for i, result in zip(rows, _drift_rows(chosen, grid_size), strict=True):
            found[i] = result
    return [
        result
        if result is not None
        else numeric_drift(cur, ref, grid_size=grid_size, reference_std=std, with_p_values=False)
        for result, (cur, ref, std) in zip(found, pairs, strict=True)
    ]


def _stackable(pairs: Sequence[NumericPair]) -> bool:
    """Whether every side's cumulative weights are whole numbers whose sum stays exact."""
    totals = [
        float(side.cumulative[-1]) for pair in pairs for side in pair[:2] if side.cumulative.size
    ]
    if sum(totals) >= _EXACT_WEIGHTS:
        return False
    return all(
        bool(np.all(np.floor(side.cumulative) == side.cumulative))
        for pair in pairs
        for side in pair[:2]
    )


def stacked_quantiles(
    items: Sequence[FloatArray],
    cumulatives: Sequence[FloatArray],
    levels: FloatArray,
    *,
    rounded: bool,
) -> FloatArray:
    """Each run's inclusive quantiles at ``levels`` (a row per run), as
    :meth:`WindowQuantiles.quantiles` (``rounded=False``) or
    :meth:`PooledQuantiles.quantiles` (``rounded=True``: ``q n`` rounded to 9 decimals first)
    answer them: the first item whose cumulative weight reaches ``ceil(q n)``, the last when
    none does. ``levels`` is one row for every run or a row per run. Every run holds items;
    the weights are whole numbers (see the module)."""
    sizes = np.array([c.size for c in cumulatives])
    totals = np.array([c[-1] for c in cumulatives], dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    bases = np.concatenate([[0.0], np.cumsum(totals)[:-1]])
    flat = np.concatenate(cumulatives) + np.repeat(bases, sizes)
    scaled = np.atleast_2d(levels) * totals[:, None]
    wanted = np.ceil(np.round(scaled, 9) if rounded else scaled) + bases[:, None]
    index = np.searchsorted(flat, wanted, side="left")
    # A rank of 0 lands on the run before's last weight, one past the total on the next run's
    # first: each run's own first and last item, as the one-run search gives.
    index = np.minimum(np.maximum(index, starts[:, None]), (starts + sizes - 1)[:, None])
    found: FloatArray = np.concatenate(items)[index]
    return found


def _drift_rows(pairs: Sequence[NumericPair], grid_size: int) -> list[tuple[Divergence, ...]]:
    mids = midpoint_levels(grid_size)
    currents = [cur for cur, _, _ in pairs]
    references = [ref for _, ref, _ in pairs]
    q_cur = stacked_quantiles(
        [c.sorted_items for c in currents], [c.cumulative for c in currents], mids, rounded=False
    )
    q_ref_all = stacked_quantiles(
        [r.values for r in references],
        [r.cumulative for r in references],
        np.concatenate([mids, DECILES]),
        rounded=True,
    )
    q_ref = q_ref_all[:, :grid_size]
    points = np.concatenate([q_cur, q_ref_all], axis=1)
    cdf_cur = _stacked_cdf(
        [c.sorted_items for c in currents], [c.below_each for c in currents], points
    )
    cdf_ref = _stacked_cdf(
        [r.values for r in references],
        [np.concatenate([[0.0], r.cumulative]) for r in references],
        points,
    )
    size = 2 * grid_size
    ks = np.minimum(
        np.maximum(np.max(np.abs(cdf_cur[:, :size] - cdf_ref[:, :size]), axis=1), 0.0), 1.0
    )
    w1 = np.mean(np.abs(q_cur - q_ref), axis=1)
    bins = _decile_statistics(pairs, q_ref_all[:, grid_size:], cdf_cur[:, size:], cdf_ref[:, size:])
    found: list[tuple[Divergence, ...]] = []
    for row, (cur, ref, std) in enumerate(pairs):
        n_cur, n_ref = float(cur.n), float(ref.n)
        scaled = float(w1[row]) / std if std > 0 else math.nan
        found.append(
            (
                Divergence(
                    statistic="ks",
                    value=float(ks[row]),
                    n_current=n_cur,
                    n_reference=n_ref,
                    sketch_error=cur.normalized_rank_error
                    + ref.normalized_rank_error
                    + 1.0 / grid_size,
                ),
                *bins[row],
                Divergence(
                    statistic="wasserstein",
                    value=float(w1[row]),
                    n_current=n_cur,
                    n_reference=n_ref,
                ),
                Divergence(
                    statistic="wasserstein_std", value=scaled, n_current=n_cur, n_reference=n_ref
                ),
            )
        )
    return found


def _stacked_cdf(
    items: Sequence[FloatArray], below_each: Sequence[FloatArray], points: FloatArray
) -> FloatArray:
    """Each run's inclusive CDF at its row of ``points``: the weight of items ``<= x`` (its
    ``below_each``, the cumulative weights behind a leading 0) over the run's total."""
    offsets = np.concatenate([[0], np.cumsum([b.size for b in below_each])[:-1]])
    below = np.stack(
        [np.searchsorted(run, row, side="right") for run, row in zip(items, points, strict=True)]
    )
    totals = np.array([b[-1] for b in below_each], dtype=np.float64)
    weights: FloatArray = np.concatenate(below_each)[below + offsets[:, None]]
    return weights / totals[:, None]


def _decile_statistics(
    pairs: Sequence[NumericPair],
    deciles: FloatArray,
    cdf_cur: FloatArray,
    cdf_ref: FloatArray,
) -> list[tuple[Divergence, Divergence, Divergence]]:
    """PSI, JS and the G-test over the bins cut at the reference's deciles (their repeats
    merged), as ``numeric_drift`` computes them."""
    n_cur = np.array([float(cur.n) for cur, _, _ in pairs])
    n_ref = np.array([float(ref.n) for _, ref, _ in pairs])
    scale_cur = np.array([resolvable_n(cur) for cur, _, _ in pairs]) / n_cur
    scale_ref = np.array([resolvable_n(ref) for _, ref, _ in pairs]) / n_ref
    cur_bins = _stacked_bins(cdf_cur, n_cur)
    ref_bins = _stacked_bins(cdf_ref, n_ref)
    whole = _Filled.of(cur_bins, ref_bins, scale_cur, scale_ref)
    distinct = np.all(np.diff(deciles, axis=1) > 0, axis=1)
    filled = distinct & whole.filled
    found: list[tuple[Divergence, Divergence, Divergence]] = []
    for i, (cur, ref, _) in enumerate(pairs):
        if filled[i]:
            found.append(whole.statistics(i, n_cur[i], n_ref[i]))
            continue
        keep = np.concatenate([[True], deciles[i, 1:] != deciles[i, :-1]])
        found.append(
            _one_pair_statistics(
                cur,
                ref,
                _bin_counts(cdf_cur[i, keep], float(n_cur[i])),
                _bin_counts(cdf_ref[i, keep], float(n_ref[i])),
            )
        )
    return found


def _stacked_bins(cdf_at_edges: FloatArray, n: FloatArray) -> FloatArray:
    """``_bin_counts`` of each row."""
    rows = cdf_at_edges.shape[0]
    ranks = np.concatenate(
        [np.zeros((rows, 1)), np.minimum(np.maximum(cdf_at_edges, 0.0), 1.0), np.ones((rows, 1))],
        axis=1,
    )
    counts: FloatArray = np.maximum(np.diff(ranks, axis=1), 0.0) * n[:, None]
    return counts


def _one_pair_statistics(
    current: WindowQuantiles, reference: PooledQuantiles, cur_bins: FloatArray, ref_bins: FloatArray
) -> tuple[Divergence, Divergence, Divergence]:
    n_cur, n_ref = float(current.n), float(reference.n)
    eff_cur, eff_ref = resolvable_n(current), resolvable_n(reference)
    tested = g_test(cur_bins * (eff_cur / n_cur), ref_bins * (eff_ref / n_ref))
    return (
        psi(cur_bins, ref_bins),
        jensen_shannon(cur_bins, ref_bins),
        Divergence(
            statistic="g_test",
            value=tested.value,
            n_current=n_cur,
            n_reference=n_ref,
            p_value=tested.p_value,
            sketch_error=tested.sketch_error,
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Filled:
    """PSI, JS and the G-test of every row as arrays, and which rows they hold exactly: those
    whose bins (and shares, and scaled counts) are all above 0 on both sides, so the one-pair
    functions mask nothing out and each row's sums take the same values in the same order."""

    filled: npt.NDArray[np.bool_]
    sum_cur: FloatArray
    sum_ref: FloatArray
    psi: FloatArray
    js: FloatArray
    g: FloatArray
    g_p: FloatArray

    @classmethod
    def of(
        cls, cur: FloatArray, ref: FloatArray, scale_cur: FloatArray, scale_ref: FloatArray
    ) -> _Filled:
        with np.errstate(divide="ignore", invalid="ignore"):
            sum_cur, sum_ref = np.sum(cur, axis=1), np.sum(ref, axis=1)
            p, q = cur / sum_cur[:, None], ref / sum_ref[:, None]
            c, r = np.maximum(p, PSI_FLOOR), np.maximum(q, PSI_FLOOR)
            psi_value = np.sum((c - r) * np.log(c / r), axis=1)
            m = (p + q) / 2
            js_in = (np.sum(p * np.log2(p / m), axis=1) + np.sum(q * np.log2(q / m), axis=1)) / 2
            scaled_cur, scaled_ref = cur * scale_cur[:, None], ref * scale_ref[:, None]
            g_value = _g_statistic(scaled_cur, scaled_ref)
        filled = (
            np.all(p > 0, axis=1)
            & np.all(q > 0, axis=1)
            & np.all(scaled_cur > 0, axis=1)
            & np.all(scaled_ref > 0, axis=1)
            & np.isfinite(sum_cur)
            & np.isfinite(sum_ref)
        )
        dof = cur.shape[1] - 1
        g_p = special.chdtrc(dof, g_value) if dof >= 1 else np.ones_like(g_value)
        return cls(
            filled=filled,
            sum_cur=sum_cur,
            sum_ref=sum_ref,
            psi=psi_value,
            js=np.sqrt(np.minimum(np.maximum(js_in, 0.0), 1.0)),
            g=g_value,
            g_p=g_p,
        )

    def statistics(
        self, row: int, n_cur: float, n_ref: float
    ) -> tuple[Divergence, Divergence, Divergence]:
        sizes = {"n_current": float(self.sum_cur[row]), "n_reference": float(self.sum_ref[row])}
        return (
            Divergence(statistic="psi", value=float(self.psi[row]), **sizes),
            Divergence(statistic="js", value=float(self.js[row]), **sizes),
            Divergence(
                statistic="g_test",
                value=float(self.g[row]),
                n_current=float(n_cur),
                n_reference=float(n_ref),
                p_value=float(self.g_p[row]),
            ),
        )


def _g_statistic(cur: FloatArray, ref: FloatArray) -> npt.NDArray[np.float64]:
    """``g_test``'s value of each row (every bin filled): its 2×k table's sums taken as the
    one-pair code takes them (row sums, then the whole table as one run of 2k values)."""
    observed = np.concatenate([cur, ref], axis=1)
    row_cur, row_ref = np.sum(cur, axis=1), np.sum(ref, axis=1)
    total = np.sum(observed, axis=1)
    column = cur + ref
    expected = (
        np.concatenate([row_cur[:, None] * column, row_ref[:, None] * column], axis=1)
        / total[:, None]
    )
    value = 2.0 * np.sum(observed * np.log(observed / expected), axis=1)
    found: FloatArray = np.maximum(value, 0.0)
    return found


ChangePair = tuple[WindowQuantiles, Moments, PooledQuantiles, Moments, Divergence]
"""A window's quantiles and moments, its pooled reference's, and the pair's KS (with its sketch
error), as :func:`~vigil.stats.change.numeric_changes` takes them."""


def numeric_changes_batch(pairs: Sequence[ChangePair], test: ChangeTest) -> list[list[Tested]]:
    """``numeric_changes(current, current_moments, reference, reference_moments, test,
    ks=ks.value, ks_sketch_error=ks.sketch_error)`` for every pair, in order, to the last bit:
    both sides' kurtosis (rows of one size together), the window's three tested quantiles and
    the reference's quantiles at every band's edges read for all pairs at once."""
    if not pairs or not _stackable([(cur, ref, 0.0) for cur, _, ref, _, _ in pairs]):
        return [
            numeric_changes(
                cur, cur_m, ref, ref_m, test, ks=ks.value, ks_sketch_error=ks.sketch_error
            )
            for cur, cur_m, ref, ref_m, ks in pairs
        ]
    currents = [cur for cur, _, _, _, _ in pairs]
    references = [ref for _, _, ref, _, _ in pairs]
    kurtosis = [
        max((k for k in both if math.isfinite(k)), default=math.nan)
        for both in zip(
            _kurtoses(currents, rounded=False), _kurtoses(references, rounded=True), strict=True
        )
    ]
    levels = np.array(list(TESTED_LEVELS.values()))
    values = _quantiles_where(currents, levels, lambda c: c.n > 0, rounded=False)
    banded = [
        i
        for i, (cur, ref) in enumerate(zip(currents, references, strict=True))
        if min(cur.n, ref.n) >= MIN_VALUES
    ]
    reaches = {
        i: [BandReach.of(currents[i], references[i], level, test) for level in levels.tolist()]
        for i in banded
    }
    edges: dict[int, FloatArray] = {}
    if banded:
        asked = np.stack([np.concatenate([r.levels for r in reaches[i]]) for i in banded])
        read = stacked_quantiles(
            [references[i].values for i in banded],
            [references[i].cumulative for i in banded],
            asked,
            rounded=True,
        )
        edges = dict(zip(banded, read, strict=True))
    found: list[list[Tested]] = []
    for i, (cur, cur_m, ref, ref_m, ks) in enumerate(pairs):
        support = float(min(cur.n, ref.n))
        tested = [
            Tested(
                statistic="mean",
                value=cur_m.mean if cur_m.count else math.nan,
                band=mean_band(cur_m, ref_m, test),
                support=support,
            ),
            Tested(
                statistic="std",
                value=cur_m.std if cur_m.count else math.nan,
                band=std_band(cur_m, ref_m, test, kurtosis=kurtosis[i]),
                support=support,
            ),
        ]
        for j, name in enumerate(TESTED_LEVELS):
            band = (
                reaches[i][j].band(edges[i][3 * j : 3 * j + 3], test)
                if i in reaches
                else ChangeBand.unknown()
            )
            tested.append(
                Tested(statistic=name, value=float(values[i, j]), band=band, support=support)
            )
        limit = ks_limit(float(cur.n), float(ref.n), ks.sketch_error, test)
        tested.append(
            Tested(
                statistic="ks",
                value=ks.value,
                band=ChangeBand.unknown()
                if math.isnan(limit)
                else ChangeBand(expected=0.0, lower=0.0, upper=limit),
                support=support,
            )
        )
        found.append(tested)
    return found


Quantiled = WindowQuantiles | PooledQuantiles


def _items(source: Quantiled) -> FloatArray:
    return source.sorted_items if isinstance(source, WindowQuantiles) else source.values


def _quantiles_where(
    sources: Sequence[Quantiled],
    levels: FloatArray,
    chosen: Callable[[Quantiled], bool],
    *,
    rounded: bool,
) -> FloatArray:
    """The quantiles of the ``chosen`` sources at ``levels`` (a row each), NaN for the rest."""
    found = np.full((len(sources), levels.size), np.nan)
    rows = [i for i, source in enumerate(sources) if chosen(source)]
    if rows:
        found[rows] = stacked_quantiles(
            [_items(sources[i]) for i in rows],
            [sources[i].cumulative for i in rows],
            levels,
            rounded=rounded,
        )
    return found


def _kurtoses(sources: Sequence[Quantiled], *, rounded: bool) -> list[float]:
    """:func:`~vigil.stats.change.kurtosis_of` of each source, the sources of one size (one
    grid) read and summed together."""
    found = [math.nan] * len(sources)
    by_size: dict[int, list[int]] = {}
    for i, source in enumerate(sources):
        if source.n >= MIN_VALUES:
            by_size.setdefault(source.n, []).append(i)
    for n, rows in by_size.items():
        widths, middles = _kurtosis_grid(n, 256)
        values = stacked_quantiles(
            [_items(sources[i]) for i in rows],
            [sources[i].cumulative for i in rows],
            middles,
            rounded=rounded,
        )
        for i, k in zip(rows, kurtosis_rows(widths, values), strict=True):
            found[i] = k
    return found
