"""``ColumnProfile``: every statistic Vigil keeps about one feature, output, latency or label.

A column mixes value kinds from row to row (see :class:`vigil.ingest.Column`), and each kind
feeds different sketches: finite numbers (bools as 0/1) feed moments and quantiles; strings and
bools, as text, feed the frequent-items sketch; all values feed the distinct count. NaN, +-inf
and nulls are counted, never sketched, so a rising NaN rate is visible rather than hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import ConfigError, ValueKind
from vigil.ingest import Column
from vigil.profile.distinct import DistinctSketch
from vigil.profile.frequent import FrequentItems
from vigil.profile.histogram import LogHistogram
from vigil.profile.moments import Moments
from vigil.profile.quantiles import QuantileSketch
from vigil.profile.spec import ProfileSpec

FloatArray = npt.NDArray[np.float64]
TYPE_NAMES = ("number", "string", "bool")


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnProfile:
    """Counts and sketches of one column over the rows of one profile.

    ``present`` counts rows that mention the column (``rows - present`` is the absent count);
    ``type_counts`` splits the non-null present values into number (NaN and inf included),
    string and bool. ``histogram`` is kept for latency only.
    """

    present: int
    nulls: int
    nans: int
    pos_inf: int
    neg_inf: int
    type_counts: Mapping[str, int]
    moments: Moments
    quantiles: QuantileSketch
    distinct: DistinctSketch
    frequent: FrequentItems
    histogram: LogHistogram | None = None

    @classmethod
    def empty(cls, spec: ProfileSpec, *, with_histogram: bool = False) -> ColumnProfile:
        return cls(
            present=0,
            nulls=0,
            nans=0,
            pos_inf=0,
            neg_inf=0,
            type_counts=dict.fromkeys(TYPE_NAMES, 0),
            moments=Moments(),
            quantiles=QuantileSketch.empty(spec.kll_k),
            distinct=DistinctSketch.empty(spec.hll_lg_k),
            frequent=FrequentItems.empty(spec.frequent_lg_max),
            histogram=LogHistogram.empty(spec.latency_bucket_ratio) if with_histogram else None,
        )

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        return ColumnProfile.merge_all([self, other])

    @classmethod
    def merge_all(cls, columns: Sequence[ColumnProfile]) -> ColumnProfile:
        """All column profiles as one; a missing histogram counts as an empty one."""
        if not columns:
            raise ConfigError("merge_all needs at least one column profile")
        if len(columns) == 1:
            return columns[0]
        histograms = [c.histogram for c in columns if c.histogram is not None]
        return cls(
            present=sum(c.present for c in columns),
            nulls=sum(c.nulls for c in columns),
            nans=sum(c.nans for c in columns),
            pos_inf=sum(c.pos_inf for c in columns),
            neg_inf=sum(c.neg_inf for c in columns),
            type_counts={
                name: sum(c.type_counts.get(name, 0) for c in columns) for name in TYPE_NAMES
            },
            moments=Moments.merge_all([c.moments for c in columns]),
            quantiles=QuantileSketch.merge_all([c.quantiles for c in columns]),
            distinct=DistinctSketch.merge_all([c.distinct for c in columns]),
            frequent=FrequentItems.merge_all([c.frequent for c in columns]),
            histogram=LogHistogram.merge_all(histograms) if histograms else None,
        )


def _split_finite(numbers: FloatArray) -> tuple[FloatArray, int, int, int]:
    """The finite values, and the counts of NaN, +inf and -inf."""
    finite = np.isfinite(numbers)
    if bool(finite.all()):
        return numbers, 0, 0, 0
    nans = int(np.isnan(numbers).sum())
    pos_inf = int((numbers == np.inf).sum())
    return numbers[finite], nans, pos_inf, int(numbers.size - finite.sum()) - nans - pos_inf


def _numeric_sketches(finite: FloatArray, spec: ProfileSpec) -> tuple[Moments, QuantileSketch]:
    """Moments and quantiles of finite numbers; min and max come free from the KLL sketch."""
    quantiles = QuantileSketch.empty(spec.kll_k)._update_finite(finite)
    if finite.size == 0:
        return Moments(), quantiles
    # Finite values near 1e308 overflow the mean or the squares: the moments are then infinite,
    # which is what they are in floating point, not an error of the row.
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(finite.mean())
        deviations = finite - mean
        # Not np.dot: BLAS threads spin on a busy machine and cost 100x more than this loop.
        m2 = float(np.square(deviations, out=deviations).sum())
    moments = Moments(
        count=int(finite.size), mean=mean, m2=m2, min=quantiles.min, max=quantiles.max
    )
    return moments, quantiles


def profile_column(column: Column, spec: ProfileSpec) -> ColumnProfile:
    """Profile one feature or output column (all its rows)."""
    kinds = column.kinds
    if len(kinds) and kinds.min() == kinds.max():  # one kind in every row: the common case
        kind_counts = np.zeros(len(ValueKind), dtype=np.int64)
        kind_counts[int(kinds[0])] = len(kinds)
    else:
        kind_counts = np.bincount(kinds.view(np.uint8), minlength=len(ValueKind))
    number_rows = int(kind_counts[ValueKind.NUMBER])
    bool_rows = int(kind_counts[ValueKind.BOOL])
    string_rows = int(kind_counts[ValueKind.STRING])
    if number_rows + bool_rows == len(column):
        numbers = column.numbers
    else:
        numbers = column.numbers[(kinds == ValueKind.NUMBER) | (kinds == ValueKind.BOOL)]
    finite, nans, pos_inf, neg_inf = _split_finite(numbers)
    moments, quantiles = _numeric_sketches(finite, spec)
    distinct = DistinctSketch.empty(spec.hll_lg_k).update(finite)
    frequent = FrequentItems.empty(spec.frequent_lg_max)
    if string_rows + bool_rows:
        # One hash pass over the texts serves both sketches: counts feed the frequent items,
        # the distinct values (only they, not every row) feed the HLL.
        counted = pc.value_counts(column.texts)
        counted = counted.filter(counted.field("values").is_valid())
        values = counted.field("values")
        counts = np.asarray(counted.field("counts").to_numpy(zero_copy_only=False), np.int64)
        frequent = frequent.update_counts(values, counts)
        if bool_rows and string_rows:
            strings = column.texts.filter(pa.array(column.kinds == ValueKind.STRING))
            distinct = distinct.update(strings.unique())
        elif string_rows:
            distinct = distinct.update(values)
    return ColumnProfile(
        present=len(column) - int(kind_counts[ValueKind.ABSENT]),
        nulls=int(kind_counts[ValueKind.NULL]),
        nans=nans,
        pos_inf=pos_inf,
        neg_inf=neg_inf,
        type_counts={"number": number_rows, "string": string_rows, "bool": bool_rows},
        moments=moments,
        quantiles=quantiles,
        distinct=distinct,
        frequent=frequent,
    )


def profile_measurements(
    values: pa.Array | pa.ChunkedArray, spec: ProfileSpec, *, with_histogram: bool = False
) -> ColumnProfile:
    """Profile a nullable float column of the batch meta (latency, label); null means absent."""
    present_values = values.drop_null()
    numbers = np.asarray(present_values.to_numpy(zero_copy_only=False), dtype=np.float64)
    finite, nans, pos_inf, neg_inf = _split_finite(numbers)
    moments, quantiles = _numeric_sketches(finite, spec)
    histogram = None
    if with_histogram:
        histogram = LogHistogram.empty(spec.latency_bucket_ratio).update(finite)
    return ColumnProfile(
        present=int(numbers.size),
        nulls=0,
        nans=nans,
        pos_inf=pos_inf,
        neg_inf=neg_inf,
        type_counts={"number": int(numbers.size), "string": 0, "bool": 0},
        moments=moments,
        quantiles=quantiles,
        distinct=DistinctSketch.empty(spec.hll_lg_k).update(finite),
        frequent=FrequentItems.empty(spec.frequent_lg_max),
        histogram=histogram,
    )
