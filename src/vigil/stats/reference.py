"""Which reference windows a drift comparison should trust: the ones that agree with each other.

The default reference is the same hour on each of the previous seven days. When one of those
days held an incident (a feature stuck at 0, scores shifted up), pooling it into the reference
makes the *return to normal* read as drift for a week: the demo measured 7 of 17 raised
incidents of exactly that kind. A reference should describe normal, so before pooling, each
window is compared with the others and a minority that disagrees is set aside.

How: every window's distribution is summarised at a few common points (numeric columns: the
CDF at the median of the windows' deciles; categorical columns: the shares of the items the
windows list), the element-wise median over windows is the consensus, and a window whose
largest distance from the consensus exceeds ``tolerance`` is an outlier. At most a minority
(fewer than half) is set aside, the worst first, so a reference never flips to describe an
incident that most of its windows share; with fewer than three windows there is no majority to
trust and nothing is set aside. Windows too small to judge (``min_rows``) are always kept.

A window is in the reference of many later windows (the same hour of each of the next seven
days), so what the judgement and the pooling read from one window's sketches is read once, into
a :class:`ReferenceWindow`, and shared by every reference that window is part of.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from vigil.profile import ColumnProfile, FrequentItems, Moments, QuantileSketch
from vigil.stats.divergence import FloatArray
from vigil.stats.sketches import FrequentSource, QuantileSource


class Sketched(Protocol):
    """What the comparison reads of a window's column: a column profile, or several pooled."""

    @property
    def quantiles(self) -> QuantileSource: ...

    @property
    def frequent(self) -> FrequentSource: ...


S = TypeVar("S", bound=Sketched)

_DECILES = np.linspace(0.1, 0.9, 9)
_MIN_WINDOWS = 3


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class WindowQuantiles:
    """One reference window's quantile sketch, with what the references built from it read
    computed once: the deciles (the sketch's own answers), and the retained ``items`` and
    ``weights`` as :meth:`~vigil.profile.QuantileSketch.weighted_items` lists them, sorted
    (stably) into ``sorted_items``/``sorted_weights``/``cumulative``, which answer :meth:`cdf`
    exactly as the sketch would (the weight of values ``<= x`` over ``n``) without a call into it
    per use. A reference pools the sorted runs: a stable sort of sorted runs puts every value
    and weight where it puts them from the items as listed, and sorts three times faster.

    :meth:`quantiles` too answers from the sorted items, as DataSketches' inclusive KLL quantile
    does (the first item whose cumulative weight reaches ``ceil(q n)``, the last when none
    does): a window is also the *current* side of its own drift, which asks its quantiles at
    500-odd levels, and the binding's call costs a Python list each way."""

    sketch: QuantileSketch
    deciles: FloatArray
    items: FloatArray
    weights: FloatArray
    sorted_items: FloatArray
    sorted_weights: FloatArray
    cumulative: FloatArray
    below_each: FloatArray
    """``cumulative`` behind a leading 0: the weight strictly below each sorted item."""
    count: int
    rank_error: float
    """The sketch's ``n`` and ``normalized_rank_error``, asked once (calls into the binding)."""

    @classmethod
    def of(cls, sketch: QuantileSketch) -> WindowQuantiles:
        items, weights = sketch.weighted_items()
        order = np.argsort(items, kind="stable")
        sorted_weights = weights[order]
        cumulative = np.cumsum(sorted_weights)
        sorted_items = items[order]
        return cls(
            sketch=sketch,
            deciles=_inclusive_quantiles(sorted_items, cumulative, _DECILES),
            items=items,
            weights=weights,
            sorted_items=sorted_items,
            sorted_weights=sorted_weights,
            cumulative=cumulative,
            below_each=np.concatenate([[0.0], cumulative]),
            count=sketch.n,
            rank_error=sketch.normalized_rank_error,
        )

    @property
    def n(self) -> int:
        return self.count

    @property
    def normalized_rank_error(self) -> float:
        return self.rank_error

    def quantiles(self, qs: npt.ArrayLike) -> FloatArray:
        """The sketch's inclusive quantiles (NaN when it holds no values); the deciles come
        from the copy read once."""
        if qs is _DECILES:
            return self.deciles
        ranks = np.asarray(qs, dtype=np.float64).ravel()
        if ranks.size and not (ranks.min() >= 0.0 and ranks.max() <= 1.0):
            return self.sketch.quantiles(ranks)  # which raises, naming the bad levels
        return _inclusive_quantiles(self.sorted_items, self.cumulative, ranks)

    def cdf(self, points: npt.ArrayLike) -> FloatArray:
        """The sketch's inclusive CDF at ``points`` (NaN when it holds no values)."""
        at = np.asarray(points, dtype=np.float64)
        if self.cumulative.size == 0:
            return np.full(at.size, np.nan)
        below = np.searchsorted(self.sorted_items, at, side="right")
        weights: FloatArray = self.below_each[below]
        return weights / float(self.cumulative[-1])


def _inclusive_quantiles(
    sorted_items: FloatArray, cumulative: FloatArray, ranks: FloatArray
) -> FloatArray:
    """DataSketches' inclusive KLL quantiles of these weighted items, to the last bit: the
    first item whose cumulative weight reaches ``ceil(rank * n)`` (its ``lower_bound``), the
    last item when none does; NaN when there are none."""
    if cumulative.size == 0:
        return np.full(ranks.size, np.nan)
    wanted = np.ceil(ranks * cumulative[-1])
    index = np.searchsorted(cumulative, wanted, side="left")
    found: FloatArray = sorted_items[np.minimum(index, sorted_items.size - 1)]
    return found


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class WindowFrequent:
    """One reference window's frequent items, listed once (a ``FrequentSource``): listing them
    asks DataSketches for every item, and a window is judged once per later window. The count
    error, which asks for every item again, is read once too."""

    sketch: FrequentItems
    listed: tuple[tuple[str, int], ...]
    count_error: float

    @classmethod
    def of(cls, sketch: FrequentItems) -> WindowFrequent:
        return cls(sketch=sketch, listed=tuple(sketch.items()), count_error=sketch.count_error)

    @property
    def total(self) -> int:
        return self.sketch.total

    def items(self) -> list[tuple[str, int]]:
        return list(self.listed)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ReferenceWindow:
    """One column in one reference window (a :class:`Sketched`), read once however many
    references the window is part of, and read from again when the window is the current side
    of its own drift."""

    column: ColumnProfile
    quantiles: WindowQuantiles
    frequent: WindowFrequent

    @property
    def moments(self) -> Moments:
        return self.column.moments

    @classmethod
    def of(cls, column: ColumnProfile) -> ReferenceWindow:
        return cls(
            column=column,
            quantiles=WindowQuantiles.of(column.quantiles),
            frequent=WindowFrequent.of(column.frequent),
        )


def typical_windows(
    columns: Sequence[S],
    *,
    categorical: bool,
    tolerance: float,
    min_rows: int = 30,
    max_items: int = 50,
) -> list[S]:
    """``columns`` (one column's profile in each reference window) without outlier windows."""
    if len(columns) < _MIN_WINDOWS:
        return list(columns)
    sized = [i for i, c in enumerate(columns) if _values(c, categorical) >= min_rows]
    if len(sized) < _MIN_WINDOWS:
        return list(columns)
    chosen = [columns[i] for i in sized]
    points = _category_shares(chosen, max_items) if categorical else _cdf_points(chosen)
    consensus = median_of_rows(points)
    distance = np.max(np.abs(points - consensus), axis=1)
    room = (len(columns) - 1) // 2
    worst = [int(i) for i in np.argsort(-distance, kind="stable")[:room]]
    dropped = {sized[i] for i in worst if distance[i] > tolerance}
    return [c for i, c in enumerate(columns) if i not in dropped]


def median_of_rows(table: FloatArray) -> FloatArray:
    """``np.median(table, axis=0)`` to the last bit, for the few rows of a reference: a sort
    and the middle row (or the mean of the middle two, added and halved as ``np.mean`` does),
    NaN where a column holds one. ``np.median`` pays more in dispatch than the sort costs."""
    rows = table.shape[0]
    ordered = np.sort(table, axis=0)
    half = rows // 2
    middle: FloatArray = (
        ordered[half].copy() if rows % 2 else (ordered[half - 1] + ordered[half]) / 2.0
    )
    holes = np.isnan(ordered[-1])
    if holes.any():
        middle[holes] = np.nan
    return middle


def _values(column: Sketched, categorical: bool) -> int:
    return column.frequent.total if categorical else column.quantiles.n


def _cdf_points(columns: Sequence[Sketched]) -> FloatArray:
    """Each window's CDF at the median deciles: comparing CDFs (not quantiles) keeps ties and
    scales out of it, so a discrete feature's windows agree when their shares do."""
    deciles = np.stack([c.quantiles.quantiles(_DECILES) for c in columns])
    points = np.unique(median_of_rows(deciles))
    return np.stack([c.quantiles.cdf(points) for c in columns])


def _category_shares(columns: Sequence[Sketched], max_items: int) -> FloatArray:
    counts = [dict(c.frequent.items()[:max_items]) for c in columns]
    names = sorted({name for found in counts for name in found})
    totals = np.array([max(c.frequent.total, 1) for c in columns], dtype=np.float64)
    table = np.array([[found.get(n, 0) for n in names] for found in counts], dtype=np.float64)
    return table / totals[:, None] if names else np.zeros((len(columns), 1))
