"""``RowGroups``: which rows of a batch belong to which profile, laid out one slice per profile.

A batch of logs holds many profiles' rows: a day of one model's file is 24 hourly windows, and
at the demo's ~200 rows a window each one is small. Profiling window by window pays every numpy
and arrow call's fixed cost (a few microseconds) once per window and column, which at 200 rows
costs more than the arithmetic. So a column is rearranged once so that each group's rows are
one contiguous slice (log files are nearly always in time order, and then nothing moves), and
every statistic is computed for all groups by one segmented call: ``np.add.reduceat`` for
sums, ``bincount`` over ``group * k + code`` for counts. Only the DataSketches objects (KLL,
frequent items), whose bindings take one sketch per call, are built in a loop over groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ArrayT = TypeVar("ArrayT", bound=npt.NDArray[Any])


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RowGroups:
    """``count`` groups of arranged rows: group ``g`` is rows ``bounds[g]:bounds[g + 1]``.

    ``order[i]`` is the batch row at arranged position ``i``; ``None`` when the batch's rows
    are already in group order (the common case), so arranging a column is free.
    """

    bounds: Int64Array
    order: Int64Array | None = None

    @classmethod
    def of(cls, group_ids: Int64Array, count: int) -> RowGroups:
        """Groups from each row's group id in ``0..count-1``."""
        sizes = np.bincount(group_ids, minlength=count)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        in_order = group_ids.size < 2 or bool(np.all(group_ids[1:] >= group_ids[:-1]))
        order = None if in_order else np.argsort(group_ids, kind="stable").astype(np.int64)
        return cls(bounds=bounds, order=order)

    @classmethod
    def one(cls, rows: int) -> RowGroups:
        return cls(bounds=np.array([0, rows], dtype=np.int64))

    @property
    def count(self) -> int:
        return int(self.bounds.size - 1)

    @property
    def sizes(self) -> Int64Array:
        return np.diff(self.bounds)

    def ids(self) -> Int64Array:
        """The group of each arranged row."""
        return np.repeat(np.arange(self.count, dtype=np.int64), self.sizes)

    def arrange(self, values: ArrayT) -> ArrayT:
        """``values`` (one per batch row) in group order."""
        return values if self.order is None else values[self.order]  # type: ignore[return-value]

    def arrange_arrow(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        return array if self.order is None else array.take(pa.array(self.order))

    def subset(self, keep: BoolArray) -> RowGroups:
        """The groups of the arranged rows where ``keep`` is true, in the same order."""
        if bool(keep.all()):
            return RowGroups(bounds=self.bounds)
        kept = np.concatenate([[0], np.cumsum(keep)]).astype(np.int64)
        return RowGroups(bounds=kept[self.bounds])

    def counts(self, mask: BoolArray) -> Int64Array:
        """Per group, how many arranged rows ``mask`` marks."""
        return np.diff(self.subset(mask).bounds)

    def code_counts(self, codes: npt.NDArray[np.integer], width: int) -> Int64Array:
        """A ``(count, width)`` table: per group, how many arranged rows hold each code."""
        flat = self.ids() * width + codes.astype(np.int64)
        return np.bincount(flat, minlength=self.count * width).reshape(self.count, width)

    def sums(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Per group sum of arranged ``values`` (0 for an empty group)."""
        return segment_reduce(np.add, values, self.bounds, empty=0.0)


def segment_reduce(
    ufunc: np.ufunc, values: npt.NDArray[np.float64], bounds: Int64Array, *, empty: float
) -> npt.NDArray[np.float64]:
    """``ufunc`` reduced over each slice ``bounds[g]:bounds[g + 1]``; ``empty`` for no rows.

    ``reduceat`` answers an empty slice with the next element instead of the identity, so only
    the starts of non-empty slices are given to it.
    """
    sizes = np.diff(bounds)
    result = np.full(sizes.size, empty, dtype=np.float64)
    filled = sizes > 0
    if values.size and filled.any():
        result[filled] = ufunc.reduceat(values, bounds[:-1][filled])
    return result
