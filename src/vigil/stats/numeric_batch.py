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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy import special

from vigil.stats.column_drift import (
    DECILES,
    _bin_counts,
    ks_drift,
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

Quantiled = WindowQuantiles | PooledQuantiles
"""What the batches read: a window's quantiles read once, or several windows' pooled."""

P = TypeVar("P")
R = TypeVar("R")

NumericPair = tuple[Quantiled, Quantiled, float]
"""A window's (or a trailing day's) quantiles, its reference's and the reference's standard
deviation."""

_EXACT_WEIGHTS = 2.0**52
"""Cumulative weights laid end to end stay exact integers in float64 below this."""


def numeric_drift_batch(
    pairs: Sequence[NumericPair], *, grid_size: int = 512
) -> list[tuple[Divergence, ...]]:
    """``numeric_drift(current, reference, grid_size=..., reference_std=...,
    with_p_values=False)`` for every pair, in order, to the last bit."""
    rows = [i for i, (cur, ref, _) in enumerate(pairs) if cur.n > 0 and ref.n > 0]
    rows = [rows[i] for i in stackable([pairs[i][:2] for i in rows])] if grid_size >= 2 else []
    return answered_in_batch(
        pairs,
        rows,
        lambda chosen: _drift_rows(chosen, grid_size),
        lambda pair: numeric_drift(
            pair[0], pair[1], grid_size=grid_size, reference_std=pair[2], with_p_values=False
        ),
    )


def ks_drift_batch(
    pairs: Sequence[tuple[Quantiled, Quantiled]], *, grid_size: int = 512
) -> list[Divergence]:
    """``ks_drift(current, reference, grid_size=...)`` for every pair, in order, to the last
    bit (the day-long drift, which tests KS alone)."""
    rows = [i for i, (cur, ref) in enumerate(pairs) if cur.n > 0 and ref.n > 0]
    rows = [rows[i] for i in stackable([pairs[i] for i in rows])] if grid_size >= 2 else []

    def together(chosen: list[tuple[Quantiled, Quantiled]]) -> list[Divergence]:
        reads = _grid_reads([(cur, ref, 0.0) for cur, ref in chosen], grid_size).ks.tolist()
        return [_ks(cur, ref, ks, grid_size) for (cur, ref), ks in zip(chosen, reads, strict=True)]

    return answered_in_batch(
        pairs, rows, together, lambda pair: ks_drift(pair[0], pair[1], grid_size=grid_size)
    )


def answered_in_batch(
    pairs: Sequence[P],
    rows: Sequence[int],
    together: Callable[[list[P]], Iterable[R]],
    alone: Callable[[P], R],
) -> list[R]:
    """``alone(pair)`` for every pair, in order: the pairs at ``rows`` (those a batch answers
    to the last bit) answered by one call of ``together``, the others one at a time."""
    found: dict[int, R] = {}
    if rows:
        found = dict(zip(rows, together([pairs[i] for i in rows]), strict=True))
    return [found[i] if i in found else alone(pair) for i, pair in enumerate(pairs)]


def _ks(current: Quantiled, reference: Quantiled, value: float, grid_size: int) -> Divergence:
    return Divergence(
        statistic="ks",
        value=value,
        n_current=float(current.n),
        n_reference=float(reference.n),
        sketch_error=current.normalized_rank_error
        + reference.normalized_rank_error
        + 1.0 / grid_size,
    )


def stackable(pairs: Sequence[tuple[Quantiled, Quantiled]]) -> list[int]:
    """The pairs whose sides both hold items with whole cumulative weights (a KLL weight is a
    power of two; a reference weighted to another mix of the day's hours is not), so long as
    the distinct sides' totals laid end to end stay exact; the others go one pair at a time."""
    whole: dict[int, bool] = {}
    total = 0.0
    for pair in pairs:
        for side in pair:
            if id(side) not in whole:
                c = side.cumulative
                whole[id(side)] = bool(c.size) and bool(np.all(np.floor(c) == c))
                total += float(c[-1]) if c.size else 0.0
    if total >= _EXACT_WEIGHTS:
        return []
    return [i for i, (cur, ref) in enumerate(pairs) if whole[id(cur)] and whole[id(ref)]]


def stacked_quantiles(sources: Sequence[Quantiled], levels: FloatArray) -> FloatArray:
    """Each source's inclusive quantiles at ``levels`` (a row per source), as its own
    ``quantiles`` answers them (:meth:`WindowQuantiles.quantiles`, or
    :meth:`PooledQuantiles.quantiles`, which rounds ``q n`` to 9 decimals first): the first
    item whose cumulative weight reaches ``ceil(q n)``, the last when none does. ``levels`` is
    one row for every source or a row per source. Every source holds items; the weights are
    whole numbers (see the module)."""
    totals = np.array([source.cumulative[-1] for source in sources], dtype=np.float64)
    scaled = np.atleast_2d(levels) * totals[:, None]
    rounded = np.array([isinstance(source, PooledQuantiles) for source in sources])
    if rounded.any():
        scaled = np.where(rounded[:, None], np.round(scaled, 9), scaled)
    if sum(source.cumulative.size for source in sources) > _LAID_OUT * len(sources):
        return _searched_quantiles(sources, np.ceil(scaled))
    runs = _Runs.of(sources)
    bases, starts = runs.bases[runs.row], runs.starts[runs.row]
    wanted = np.ceil(scaled) + bases[:, None]
    index = np.searchsorted(runs.cumulative, wanted, side="left")
    # A rank of 0 lands on the run before's last weight, one past the total on the next run's
    # first: each run's own first and last item, as the one-run search gives.
    last = starts + runs.sizes[runs.row] - 1
    index = np.minimum(np.maximum(index, starts[:, None]), last[:, None])
    found: FloatArray = runs.items[index]
    return found


_LAID_OUT = 2048
"""Sources of more items than this on average are searched one at a time: laying out
trailing days of thousands of items costs more than the searches it saves."""


def _searched_quantiles(sources: Sequence[Quantiled], wanted: FloatArray) -> FloatArray:
    """:func:`stacked_quantiles` one source at a time, from each row's ``ceil(q n)``."""
    rows = np.broadcast_to(wanted, (len(sources), wanted.shape[-1]))
    found = np.empty(rows.shape)
    for i, (source, row) in enumerate(zip(sources, rows, strict=True)):
        index = np.searchsorted(source.cumulative, row, side="left")
        found[i] = source_items(source)[np.minimum(index, source.cumulative.size - 1)]
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class _Runs:
    """The distinct sources' items and cumulative weights laid end to end, each run's weights
    lifted by the total before it; ``row`` maps each source to its run (the day-long drift hands
    one day's reference to each of its windows: laid out once)."""

    row: npt.NDArray[np.intp]
    sizes: npt.NDArray[np.intp]
    starts: npt.NDArray[np.intp]
    totals: FloatArray
    bases: FloatArray
    items: FloatArray
    cumulative: FloatArray

    @classmethod
    def of(cls, sources: Sequence[Quantiled]) -> _Runs:
        place: dict[int, int] = {}
        distinct: list[Quantiled] = []
        for source in sources:
            if id(source) not in place:
                place[id(source)] = len(distinct)
                distinct.append(source)
        cumulatives = [source.cumulative for source in distinct]
        sizes = np.array([c.size for c in cumulatives], dtype=np.intp)
        totals = np.array([c[-1] for c in cumulatives], dtype=np.float64)
        bases = np.concatenate([[0.0], np.cumsum(totals)[:-1]])
        return cls(
            row=np.array([place[id(source)] for source in sources], dtype=np.intp),
            sizes=sizes,
            starts=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp),
            totals=totals,
            bases=bases,
            items=np.concatenate([source_items(source) for source in distinct]),
            cumulative=np.concatenate(cumulatives) + np.repeat(bases, sizes),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _GridReads:
    """Both sides' quantiles at the midpoint levels (the reference's deciles after them), both
    CDFs at all of those, and KS over both sides' quantiles, a row per pair."""

    q_cur: FloatArray
    q_ref_all: FloatArray
    cdf_cur: FloatArray
    cdf_ref: FloatArray
    ks: FloatArray


def _grid_reads(pairs: Sequence[NumericPair], grid_size: int) -> _GridReads:
    mids = midpoint_levels(grid_size)
    currents = [cur for cur, _, _ in pairs]
    references = [ref for _, ref, _ in pairs]
    q_cur = stacked_quantiles(currents, mids)
    q_ref_all = stacked_quantiles(references, np.concatenate([mids, DECILES]))
    points = np.concatenate([q_cur, q_ref_all], axis=1)
    cdf_cur = _stacked_cdf(currents, points)
    cdf_ref = _stacked_cdf(references, points)
    size = 2 * grid_size
    ks = np.minimum(
        np.maximum(np.max(np.abs(cdf_cur[:, :size] - cdf_ref[:, :size]), axis=1), 0.0), 1.0
    )
    return _GridReads(q_cur=q_cur, q_ref_all=q_ref_all, cdf_cur=cdf_cur, cdf_ref=cdf_ref, ks=ks)


def _drift_rows(pairs: Sequence[NumericPair], grid_size: int) -> list[tuple[Divergence, ...]]:
    read = _grid_reads(pairs, grid_size)
    q_cur, q_ref_all, cdf_cur, cdf_ref, ks = (
        read.q_cur,
        read.q_ref_all,
        read.cdf_cur,
        read.cdf_ref,
        read.ks,
    )
    q_ref = q_ref_all[:, :grid_size]
    size = 2 * grid_size
    w1 = np.mean(np.abs(q_cur - q_ref), axis=1)
    bins = _decile_statistics(pairs, q_ref_all[:, grid_size:], cdf_cur[:, size:], cdf_ref[:, size:])
    found: list[tuple[Divergence, ...]] = []
    for row, (cur, ref, std) in enumerate(pairs):
        n_cur, n_ref = float(cur.n), float(ref.n)
        scaled = float(w1[row]) / std if std > 0 else math.nan
        found.append(
            (
                _ks(cur, ref, float(ks[row]), grid_size),
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


def _stacked_cdf(sources: Sequence[Quantiled], points: FloatArray) -> FloatArray:
    """Each source's inclusive CDF at its row of ``points``: the weight of items ``<= x`` over
    its total, as its own ``cdf`` answers (one search per source: the items differ)."""
    found = np.empty(points.shape)
    for i, (source, row) in enumerate(zip(sources, points, strict=True)):
        cumulative = source.cumulative
        below = np.searchsorted(source_items(source), row, side="right")
        weights = cumulative[np.maximum(below - 1, 0)]
        weights[below == 0] = 0.0
        found[i] = weights / float(cumulative[-1])
    return found


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
    current: Quantiled, reference: Quantiled, cur_bins: FloatArray, ref_bins: FloatArray
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


def source_items(source: Quantiled) -> FloatArray:
    return source.sorted_items if isinstance(source, WindowQuantiles) else source.values
