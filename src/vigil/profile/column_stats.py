"""Column profiles of every group of a batch at once: each statistic in one segmented pass.

A column's rows are arranged by group once (:class:`~vigil.profile.groups.RowGroups`), then:

- value kinds, NaN and ±inf are counted per group with one ``bincount``;
- moments come from segmented sums (``reduceat``). A group of at least
  :data:`PAIRWISE_FROM` values is summed by numpy's pairwise summation instead, one call per
  group, as one pass over a single window always was: its rounding error grows with
  ``log n``, a segmented sum's with ``n``, and the per-call cost is nothing at that size;
- the distinct count hashes every value once and builds all groups' registers together;
- strings are dictionary-encoded once; per ``(group, item)`` counts feed the frequent-items
  sketches and the distinct values' hashes the distinct counts;
- quantile sketches are built one call per group, as DataSketches' binding requires.

The results equal profiling each group's rows on their own (``test_profile_groups.py`` checks
it), only without paying every call's fixed cost once per group.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import ValueKind
from vigil.ingest import Column
from vigil.profile.column import ColumnProfile
from vigil.profile.distinct import DistinctSketch, hash_numbers, hash_strings
from vigil.profile.frequent import FrequentItems
from vigil.profile.groups import Int64Array, RowGroups, segment_reduce
from vigil.profile.histogram import LogHistogram, histograms_by_group
from vigil.profile.moments import Moments
from vigil.profile.quantiles import QuantileSketch
from vigil.profile.spec import ProfileSpec

FloatArray = npt.NDArray[np.float64]
UInt64Array = npt.NDArray[np.uint64]
PAIRWISE_FROM = 1024
"""Groups of at least this many values are summed one numpy call each (pairwise summation)."""
_DENSE_CELLS = 1 << 22
"""Largest ``groups x distinct items`` table counted densely; beyond it pairs are sorted."""


class _Numbers:
    """The numeric statistics of one column for every group (finite values sketched)."""

    def __init__(self, values: FloatArray, groups: RowGroups, spec: ProfileSpec) -> None:
        finite = np.isfinite(values)
        if bool(finite.all()):
            zeros = np.zeros(groups.count, dtype=np.int64)
            self.nans, self.pos_inf, self.neg_inf = zeros, zeros, zeros
            kept, kept_groups = values, groups
        else:
            self.nans = groups.counts(np.isnan(values))
            self.pos_inf = groups.counts(values == np.inf)
            self.neg_inf = groups.counts(values == -np.inf)
            kept, kept_groups = values[finite], groups.subset(finite)
        self.quantiles = QuantileSketch.of_groups(kept, kept_groups.bounds, spec.kll_k)
        self.moments = group_moments(kept, kept_groups)
        self.hashes = hash_numbers(kept)
        self.hash_groups = kept_groups.ids()
        self.finite, self.finite_groups = kept, kept_groups


def group_moments(values: FloatArray, groups: RowGroups) -> list[Moments]:
    """Count, mean, M2, min and max of each group's ``values`` (already finite)."""
    sizes, bounds = groups.sizes, groups.bounds
    large = np.flatnonzero(sizes >= PAIRWISE_FROM).tolist()
    # Finite values near 1e308 overflow the mean or the squares: the moments are then infinite,
    # which is what they are in floating point, not an error of the row.
    with np.errstate(over="ignore", invalid="ignore"):
        means = np.divide(
            segment_reduce(np.add, values, bounds, empty=0.0),
            sizes,
            out=np.zeros(sizes.size),
            where=sizes > 0,
        )
        for group in large:
            means[group] = values[bounds[group] : bounds[group + 1]].mean()
        deviations = values - np.repeat(means, sizes)
        squares = np.square(deviations, out=deviations)
        m2 = segment_reduce(np.add, squares, bounds, empty=0.0)
        for group in large:
            m2[group] = squares[bounds[group] : bounds[group + 1]].sum()
    lows = segment_reduce(np.minimum, values, bounds, empty=np.inf)
    highs = segment_reduce(np.maximum, values, bounds, empty=-np.inf)
    empty = Moments()
    return [
        Moments(count=count, mean=mean, m2=spread, min=low, max=high) if count else empty
        for count, mean, spread, low, high in zip(
            sizes.tolist(), means.tolist(), m2.tolist(), lows.tolist(), highs.tolist(), strict=True
        )
    ]


def _pairs(
    ids: Int64Array, codes: Int64Array, width: int, count: int
) -> tuple[Int64Array, Int64Array, Int64Array]:
    """The ``(group, code)`` pairs that occur, sorted, with how often each occurs."""
    key = ids * width + codes
    if count * width <= _DENSE_CELLS:
        table = np.bincount(key, minlength=count * width)
        found = np.flatnonzero(table)
        return found // width, found % width, table[found]
    found, counts = np.unique(key, return_counts=True)
    return found // width, found % width, counts.astype(np.int64)


def _encode(texts: pa.Array, groups: RowGroups) -> tuple[pa.Array, Int64Array, Int64Array]:
    """The distinct texts in sorted order, and for each non-null arranged row its group and
    text code.

    Sorted, not in order of first appearance in the batch: a frequent-items sketch is fed its
    items most frequent first, ties in code order, and the sketch's bytes follow the order it
    was fed. In sorted order a window's sketch is the same whichever other rows shared its
    batch (a folder read whole or a day at a time).
    """
    encoded = texts.dictionary_encode()
    dictionary = encoded.dictionary
    codes = np.asarray(encoded.indices.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    if len(dictionary) > 1:
        order = np.asarray(pc.sort_indices(dictionary).to_numpy(zero_copy_only=False), np.int64)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        dictionary, codes = dictionary.take(pa.array(order)), rank[codes]
    ids = groups.ids()
    if encoded.indices.null_count:
        valid = np.asarray(encoded.indices.is_valid().to_numpy(zero_copy_only=False), bool)
        ids, codes = ids[valid], codes[valid]
    return dictionary, ids, codes


def frequent_groups(
    texts: pa.Array | pa.ChunkedArray, groups: RowGroups, spec: ProfileSpec
) -> list[FrequentItems]:
    """Frequent items of a string column (a tag) per group; nulls are not counted."""
    dictionary, ids, codes = _encode(groups.arrange_arrow(texts), groups)
    pair_groups, pair_codes, counts = _pairs(ids, codes, max(len(dictionary), 1), groups.count)
    return FrequentItems.of_groups(
        dictionary, pair_groups, pair_codes, counts, count=groups.count, lg_max=spec.frequent_lg_max
    )


def _texts(
    texts: pa.Array, kinds: npt.NDArray[np.int8], groups: RowGroups, spec: ProfileSpec
) -> tuple[list[FrequentItems], UInt64Array, Int64Array]:
    """Frequent items per group, and the hashes of each group's distinct *strings* (bools
    count in the distinct count as the numbers 0 and 1, not as text)."""
    dictionary, ids, codes = _encode(texts, groups)
    width = max(len(dictionary), 1)
    pair_groups, pair_codes, pair_counts = _pairs(ids, codes, width, groups.count)
    frequent = FrequentItems.of_groups(
        dictionary,
        pair_groups,
        pair_codes,
        pair_counts,
        count=groups.count,
        lg_max=spec.frequent_lg_max,
    )
    if bool((kinds == ValueKind.BOOL).any()):
        dictionary, ids, codes = _encode(
            pc.if_else(pa.array(kinds == ValueKind.STRING), texts, pa.scalar(None, pa.string())),
            groups,
        )
        pair_groups, pair_codes, _ = _pairs(ids, codes, max(len(dictionary), 1), groups.count)
    return frequent, hash_strings(dictionary)[pair_codes], pair_groups


def _distinct(
    parts: list[tuple[UInt64Array, Int64Array]], count: int, lg_k: int
) -> list[DistinctSketch]:
    filled = [(hashes, owners) for hashes, owners in parts if hashes.size]
    if len(filled) > 1:
        owners = np.concatenate([o for _, o in filled])
        order = np.argsort(owners, kind="stable")
        hashes = np.concatenate([h for h, _ in filled])[order]
        filled = [(hashes, owners[order])]
    if not filled:
        return DistinctSketch.of_groups(np.zeros(0, np.uint64), np.zeros(0, np.int64), count, lg_k)
    return DistinctSketch.of_groups(filled[0][0], filled[0][1], count, lg_k)


def profile_columns(column: Column, groups: RowGroups, spec: ProfileSpec) -> list[ColumnProfile]:
    """Profile one feature or output column: one :class:`ColumnProfile` per group."""
    kinds = groups.arrange(column.kinds)
    if kinds.size and kinds.min() == kinds.max():  # one kind in every row: the common case
        kind_counts = np.zeros((groups.count, len(ValueKind)), dtype=np.int64)
        kind_counts[:, int(kinds[0])] = groups.sizes
    else:
        kind_counts = groups.code_counts(kinds.view(np.uint8), len(ValueKind))
    numbers = groups.arrange(column.numbers)
    number_groups = groups
    if int(kind_counts[:, ValueKind.NUMBER].sum() + kind_counts[:, ValueKind.BOOL].sum()) < len(
        kinds
    ):
        numeric = (kinds == ValueKind.NUMBER) | (kinds == ValueKind.BOOL)
        numbers, number_groups = numbers[numeric], groups.subset(numeric)
    stats = _Numbers(numbers, number_groups, spec)
    parts = [(stats.hashes, stats.hash_groups)]
    empty_frequent = FrequentItems.empty(spec.frequent_lg_max)
    frequent = [empty_frequent] * groups.count
    if int(kind_counts[:, ValueKind.STRING].sum() + kind_counts[:, ValueKind.BOOL].sum()):
        frequent, string_hashes, string_groups = _texts(
            groups.arrange_arrow(column.texts), kinds, groups, spec
        )
        parts.append((string_hashes, string_groups))
    distinct = _distinct(parts, groups.count, spec.hll_lg_k)
    sizes = groups.sizes.tolist()
    absent, nulls, number, string, boolean = (
        kind_counts[:, kind].tolist()
        for kind in (
            ValueKind.ABSENT,
            ValueKind.NULL,
            ValueKind.NUMBER,
            ValueKind.STRING,
            ValueKind.BOOL,
        )
    )
    nans, pos_inf, neg_inf = stats.nans.tolist(), stats.pos_inf.tolist(), stats.neg_inf.tolist()
    return [
        ColumnProfile(
            present=sizes[g] - absent[g],
            nulls=nulls[g],
            nans=nans[g],
            pos_inf=pos_inf[g],
            neg_inf=neg_inf[g],
            type_counts={"number": number[g], "string": string[g], "bool": boolean[g]},
            moments=stats.moments[g],
            quantiles=stats.quantiles[g],
            distinct=distinct[g],
            frequent=frequent[g],
        )
        for g in range(groups.count)
    ]


def profile_measurement_groups(
    values: pa.Array | pa.ChunkedArray,
    groups: RowGroups,
    spec: ProfileSpec,
    *,
    with_histogram: bool = False,
) -> list[ColumnProfile]:
    """Profile a nullable float column of the batch meta (latency, label) per group; null
    means absent."""
    arranged = groups.arrange_arrow(values)
    numbers = np.asarray(arranged.to_numpy(zero_copy_only=False), dtype=np.float64)
    present_groups = groups
    if arranged.null_count:
        valid = np.asarray(arranged.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        numbers, present_groups = numbers[valid], groups.subset(valid)
    stats = _Numbers(numbers, present_groups, spec)
    distinct = _distinct([(stats.hashes, stats.hash_groups)], groups.count, spec.hll_lg_k)
    histograms: list[LogHistogram | None] = [None] * groups.count
    if with_histogram:
        histograms = list(
            histograms_by_group(
                stats.finite,
                stats.finite_groups.ids(),
                groups.count,
                spec.latency_bucket_ratio,
            )
        )
    frequent = FrequentItems.empty(spec.frequent_lg_max)
    present = present_groups.sizes.tolist()
    nans, pos_inf, neg_inf = stats.nans.tolist(), stats.pos_inf.tolist(), stats.neg_inf.tolist()
    return [
        ColumnProfile(
            present=present[g],
            nulls=0,
            nans=nans[g],
            pos_inf=pos_inf[g],
            neg_inf=neg_inf[g],
            type_counts={"number": present[g], "string": 0, "bool": 0},
            moments=stats.moments[g],
            quantiles=stats.quantiles[g],
            distinct=distinct[g],
            frequent=frequent,
            histogram=histograms[g],
        )
        for g in range(groups.count)
    ]


def profile_column(column: Column, spec: ProfileSpec) -> ColumnProfile:
    """Profile one feature or output column (all its rows) as one group."""
    (found,) = profile_columns(column, RowGroups.one(len(column)), spec)
    return found


def profile_measurements(
    values: pa.Array | pa.ChunkedArray, spec: ProfileSpec, *, with_histogram: bool = False
) -> ColumnProfile:
    """Profile a nullable float column of the batch meta (all its rows) as one group."""
    (found,) = profile_measurement_groups(
        values, RowGroups.one(len(values)), spec, with_histogram=with_histogram
    )
    return found
