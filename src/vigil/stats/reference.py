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

from vigil.profile import ColumnProfile, FrequentItems, QuantileSketch
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
    and weight where it puts them from the items as listed, and sorts three times faster."""

    sketch: QuantileSketch
    deciles: FloatArray
    items: FloatArray
    weights: FloatArray
    sorted_items: FloatArray
    sorted_weights: FloatArray
    cumulative: FloatArray

    @classmethod
    def of(cls, sketch: QuantileSketch) -> WindowQuantiles:
        items, weights = sketch.weighted_items()
        order = np.argsort(items, kind="stable")
        sorted_weights = weights[order]
        return cls(
            sketch=sketch,
            deciles=sketch.quantiles(_DECILES),
            items=items,
            weights=weights,
            sorted_items=items[order],
            sorted_weights=sorted_weights,
            cumulative=np.cumsum(sorted_weights),
        )

    @property
    def n(self) -> int:
        return self.sketch.n

    @property
    def normalized_rank_error(self) -> float:
        return self.sketch.normalized_rank_error

    def quantiles(self, qs: npt.ArrayLike) -> FloatArray:
        """The sketch's quantiles; the deciles come from the copy read once."""
        ranks = np.asarray(qs, dtype=np.float64)
        if ranks.shape == _DECILES.shape and bool(np.all(ranks == _DECILES)):
            return self.deciles
        return self.sketch.quantiles(ranks)

    def cdf(self, points: npt.ArrayLike) -> FloatArray:
        """The sketch's inclusive CDF at ``points`` (NaN when it holds no values)."""
        at = np.asarray(points, dtype=np.float64)
        if self.cumulative.size == 0:
            return np.full(at.size, np.nan)
        below = np.searchsorted(self.sorted_items, at, side="right")
        weights: FloatArray = np.concatenate([[0.0], self.cumulative])[below]
        return weights / float(self.cumulative[-1])


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class WindowFrequent:
    """One reference window's frequent items, listed once (a ``FrequentSource``): listing them
    asks DataSketches for every item, and a window is judged once per later window."""

    sketch: FrequentItems
    listed: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, sketch: FrequentItems) -> WindowFrequent:
        return cls(sketch=sketch, listed=tuple(sketch.items()))

    @property
    def total(self) -> int:
        return self.sketch.total

    @property
    def count_error(self) -> float:
        return self.sketch.count_error

    def items(self) -> list[tuple[str, int]]:
        return list(self.listed)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ReferenceWindow:
    """One column in one reference window (a :class:`Sketched`), read once however many
    references the window is part of."""

    column: ColumnProfile
    quantiles: WindowQuantiles
    frequent: WindowFrequent

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
    consensus = np.median(points, axis=0)
    distance = np.max(np.abs(points - consensus), axis=1)
    room = (len(columns) - 1) // 2
    worst = [int(i) for i in np.argsort(-distance, kind="stable")[:room]]
    dropped = {sized[i] for i in worst if distance[i] > tolerance}
    return [c for i, c in enumerate(columns) if i not in dropped]


def _values(column: Sketched, categorical: bool) -> int:
    return column.frequent.total if categorical else column.quantiles.n


def _cdf_points(columns: Sequence[Sketched]) -> FloatArray:
    """Each window's CDF at the median deciles: comparing CDFs (not quantiles) keeps ties and
    scales out of it, so a discrete feature's windows agree when their shares do."""
    deciles = np.stack([c.quantiles.quantiles(_DECILES) for c in columns])
    points = np.unique(np.median(deciles, axis=0))
    return np.stack([c.quantiles.cdf(points) for c in columns])


def _category_shares(columns: Sequence[Sketched], max_items: int) -> FloatArray:
    counts = [dict(c.frequent.items()[:max_items]) for c in columns]
    names = sorted({name for found in counts for name in found})
    totals = np.array([max(c.frequent.total, 1) for c in columns], dtype=np.float64)
    table = np.array([[found.get(n, 0) for n in names] for found in counts], dtype=np.float64)
    return table / totals[:, None] if names else np.zeros((len(columns), 1))
