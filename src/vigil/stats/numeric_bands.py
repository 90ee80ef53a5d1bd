"""The tested bands of many numeric (window, reference) pairs at once, as arrays.

:func:`~vigil.stats.change.numeric_changes` reads, for one pair, both sides' kurtosis (a
quantile read at some seventy levels each), the window's three tested quantiles and the
reference's quantiles at each band's edges: a dozen small reads a pair.
:func:`numeric_changes_batch` reads them for a batch of pairs in a few stacked searches
(:func:`~vigil.stats.numeric_batch.stacked_quantiles`) and gives the same
:class:`~vigil.stats.change.Tested` values to the last bit; the bands themselves are drawn by
the same code (:class:`~vigil.stats.change.BandReach`, :func:`~vigil.stats.change.moment_changes`,
:func:`~vigil.stats.kurtosis.kurtosis_rows`, :func:`~vigil.stats.kurtosis.bounded_kurtosis`), so a
rule changed there changes both paths.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from vigil.profile import Moments
from vigil.stats.change import (
    TESTED_LEVELS,
    BandReach,
    ChangeBand,
    ChangeTest,
    Tested,
    ks_limit,
    moment_changes,
    numeric_changes,
)
from vigil.stats.divergence import Divergence, FloatArray
from vigil.stats.kurtosis import MIN_VALUES, _kurtosis_grid, bounded_kurtosis, kurtosis_rows
from vigil.stats.numeric_batch import (
    Quantiled,
    answered_in_batch,
    stackable,
    stacked_quantiles,
)

ChangePair = tuple[Quantiled, Moments, Quantiled, Moments, Divergence]
"""A window's quantiles and moments, its pooled reference's, and the pair's KS (with its sketch
error), as :func:`~vigil.stats.change.numeric_changes` takes them."""


def numeric_changes_batch(pairs: Sequence[ChangePair], test: ChangeTest) -> list[list[Tested]]:
    """``numeric_changes(current, current_moments, reference, reference_moments, test,
    ks=ks.value, ks_sketch_error=ks.sketch_error)`` for every pair, in order, to the last bit:
    both sides' kurtosis (rows of one size together), the window's three tested quantiles and
    the reference's quantiles at every band's edges read for all pairs at once."""

    def alone(pair: ChangePair) -> list[Tested]:
        cur, cur_m, ref, ref_m, ks = pair
        return numeric_changes(
            cur, cur_m, ref, ref_m, test, ks=ks.value, ks_sketch_error=ks.sketch_error
        )

    rows = stackable([(cur, ref) for cur, _, ref, _, _ in pairs])
    return answered_in_batch(pairs, rows, lambda chosen: _changes_rows(chosen, test), alone)


def _changes_rows(pairs: Sequence[ChangePair], test: ChangeTest) -> list[list[Tested]]:
    currents = [cur for cur, _, _, _, _ in pairs]
    references = [ref for _, _, ref, _, _ in pairs]
    heavier = [
        max((k for k in both if math.isfinite(k)), default=math.nan)
        for both in zip(_kurtoses(currents), _kurtoses(references), strict=True)
    ]
    levels = np.array(list(TESTED_LEVELS.values()))
    values = _quantiles_where(currents, levels, lambda c: c.n > 0)
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
        read = stacked_quantiles([references[i] for i in banded], asked)
        edges = dict(zip(banded, read, strict=True))
    found: list[list[Tested]] = []
    for i, (cur, cur_m, ref, ref_m, ks) in enumerate(pairs):
        support = float(min(cur.n, ref.n))
        kurtosis = bounded_kurtosis(heavier[i], cur_m, ref_m)
        tested = moment_changes(cur_m, ref_m, test, kurtosis, support)
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


def _quantiles_where(
    sources: Sequence[Quantiled],
    levels: FloatArray,
    chosen: Callable[[Quantiled], bool],
) -> FloatArray:
    """The quantiles of the ``chosen`` sources at ``levels`` (a row each), NaN for the rest."""
    found = np.full((len(sources), levels.size), np.nan)
    rows = [i for i, source in enumerate(sources) if chosen(source)]
    if rows:
        found[rows] = stacked_quantiles([sources[i] for i in rows], levels)
    return found


def _kurtoses(sources: Sequence[Quantiled]) -> list[float]:
    """:func:`~vigil.stats.kurtosis.kurtosis_of` of each source, the sources of one size (one
    grid) read and summed together."""
    found = [math.nan] * len(sources)
    by_size: dict[int, list[int]] = {}
    for i, source in enumerate(sources):
        if source.n >= MIN_VALUES:
            by_size.setdefault(source.n, []).append(i)
    for n, rows in by_size.items():
        widths, middles = _kurtosis_grid(n, 256)
        values = stacked_quantiles([sources[i] for i in rows], middles)
        for i, k in zip(rows, kurtosis_rows(widths, values), strict=True):
            found[i] = k
    return found
