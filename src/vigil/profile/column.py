"""``ColumnProfile``: every statistic Vigil keeps about one feature, output, latency or label.

A column mixes value kinds from row to row (see :class:`vigil.ingest.Column`), and each kind
feeds different sketches: finite numbers (bools as 0/1) feed moments and quantiles; strings and
bools, as text, feed the frequent-items sketch; all values feed the distinct count. NaN, +-inf
and nulls are counted, never sketched, so a rising NaN rate is visible rather than hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vigil.core import ConfigError
from vigil.profile.distinct import DistinctSketch
from vigil.profile.frequent import FrequentItems
from vigil.profile.histogram import LogHistogram
from vigil.profile.moments import Moments
from vigil.profile.quantiles import QuantileSketch
from vigil.profile.spec import ProfileSpec

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
