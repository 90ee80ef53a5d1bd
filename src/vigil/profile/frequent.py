"""``FrequentItems``: the most frequent strings of a column, with counts that survive merges.

Wraps DataSketches' ``frequent_strings_sketch`` (Misra-Gries with a map of at most ``2**lg_max``
items; an estimate is off by at most ``epsilon * total`` with ``epsilon = 3.5 / 2**lg_max``).
Its Python binding takes one item per call, so a column is first counted with arrow's
``value_counts`` and each distinct value is fed once with its count as weight. For columns with
very many distinct values only the ``4 * 2**lg_max`` most frequent are fed: any value left out
occurs at most ``total / (4 * 2**lg_max)`` times, below the sketch's own error, and the true
total is kept in :attr:`FrequentItems.total` regardless.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from datasketches import frequent_items_error_type, frequent_strings_sketch

from vigil.core import ConfigError, IncompatibleSpecError, SerializationError

_TOTAL = struct.Struct("<BQ")  # lg_max, exact total


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class FrequentItems:
    """Immutable heavy-hitters sketch over strings (bools arrive as ``"true"``/``"false"``)."""

    lg_max: int
    total: int
    _sketch: frequent_strings_sketch

    @classmethod
    def empty(cls, lg_max: int) -> FrequentItems:
        if not 3 <= lg_max <= 20:
            raise ConfigError(f"frequent-items lg_max must be in [3, 20], got {lg_max!r}")
        return cls(lg_max=lg_max, total=0, _sketch=frequent_strings_sketch(lg_max))

    def _copy(self) -> frequent_strings_sketch:
        return frequent_strings_sketch.deserialize(self._sketch.serialize())

    @property
    def epsilon(self) -> float:
        """Worst error of an estimate, as a fraction of ``total``."""
        return float(frequent_strings_sketch.get_epsilon_for_lg_size(self.lg_max))

    def update(self, values: pa.Array | pa.ChunkedArray) -> FrequentItems:
        """A sketch that has also seen the non-null strings of ``values``."""
        counted = pc.value_counts(values)
        counted = counted.filter(counted.field("values").is_valid())
        return self.update_counts(
            counted.field("values"),
            np.asarray(counted.field("counts").to_numpy(zero_copy_only=False), dtype=np.int64),
        )

    def update_counts(
        self, items: Sequence[str] | pa.Array, counts: npt.NDArray[np.int64]
    ) -> FrequentItems:
        """A sketch that has also seen each of ``items`` ``counts[i]`` times."""
        if len(items) != len(counts):
            raise ConfigError(f"{len(items)} items but {len(counts)} counts")
        if len(items) == 0:
            return self
        order = np.argsort(-counts, kind="stable")[: 4 << self.lg_max]
        # Only the fed items are turned into Python strings (a million ids would cost seconds).
        if isinstance(items, pa.Array):
            chosen = items.take(pa.array(order)).to_pylist()
        else:
            chosen = [items[position] for position in order.tolist()]
        sketch = self._copy()
        for item, count in zip(chosen, counts[order].tolist(), strict=True):
            sketch.update(item, count)
        return FrequentItems(
            lg_max=self.lg_max, total=self.total + int(counts.sum()), _sketch=sketch
        )

    @classmethod
    def of_groups(
        cls,
        items: pa.Array,
        groups: npt.NDArray[np.int64],
        codes: npt.NDArray[np.int64],
        counts: npt.NDArray[np.int64],
        *,
        count: int,
        lg_max: int,
    ) -> list[FrequentItems]:
        """One sketch per group ``0..count-1``: group ``groups[i]`` saw ``items[codes[i]]``
        ``counts[i]`` times (``groups`` non-decreasing, each ``(group, code)`` at most once).

        As :meth:`update_counts` per group: each group's ``4 * 2**lg_max`` most frequent items
        are fed, most frequent first; only they become Python strings, in one arrow call.
        """
        empty = cls.empty(lg_max)
        found = [empty] * count
        if codes.size == 0:
            return found
        bounds = np.searchsorted(groups, np.arange(count + 1))
        present = np.flatnonzero(np.diff(bounds)).tolist()
        fed = [
            bounds[g] + np.argsort(-counts[bounds[g] : bounds[g + 1]], kind="stable")[: 4 << lg_max]
            for g in present
        ]
        chosen = np.concatenate(fed)
        texts = items.take(pa.array(codes[chosen])).to_pylist()
        weights = counts[chosen].tolist()
        totals = np.add.reduceat(counts, bounds[:-1][present]).tolist()
        position = 0
        for group, order, total in zip(present, fed, totals, strict=True):
            sketch = frequent_strings_sketch(lg_max)
            for item, weight in zip(
                texts[position : position + order.size],
                weights[position : position + order.size],
                strict=True,
            ):
                sketch.update(item, weight)
            position += order.size
            found[group] = cls(lg_max=lg_max, total=total, _sketch=sketch)
        return found

    def merge(self, other: FrequentItems) -> FrequentItems:
        return FrequentItems.merge_all([self, other])

    @classmethod
    def merge_all(cls, sketches: Sequence[FrequentItems]) -> FrequentItems:
        """All sketches as one, copying only once."""
        if not sketches:
            raise ConfigError("merge_all needs at least one sketch")
        for sketch in sketches[1:]:
            if sketch.lg_max != sketches[0].lg_max:
                raise IncompatibleSpecError(
                    f"cannot merge frequent items of lg_max={sketches[0].lg_max} and "
                    f"{sketch.lg_max}"
                )
        filled = [sketch for sketch in sketches if sketch.total]
        if len(filled) <= 1:
            return filled[0] if filled else sketches[0]
        merged = filled[0]._copy()
        for sketch in filled[1:]:
            merged.merge(sketch._sketch)
        total = sum(sketch.total for sketch in filled)
        return cls(lg_max=filled[0].lg_max, total=total, _sketch=merged)

    def items(self) -> list[tuple[str, int]]:
        """``(value, estimated count)`` pairs, most frequent first (ties by value)."""
        rows = self._sketch.get_frequent_items(frequent_items_error_type.NO_FALSE_NEGATIVES)
        return sorted(((item, int(est)) for item, est, _, _ in rows), key=lambda r: (-r[1], r[0]))

    @property
    def count_error(self) -> float:
        """How far any count this sketch reports may sit from the true count (0 = exact).

        Misra-Gries keeps one offset for all items: a listed item's true count lies in
        ``[estimate - count_error, estimate]``, an unlisted one's in ``[0, count_error]``.
        """
        rows = self._sketch.get_frequent_items(frequent_items_error_type.NO_FALSE_NEGATIVES)
        if rows:
            return float(max(upper - lower for _, _, lower, upper in rows))
        return 0.0 if self.total == 0 else float(self._sketch.get_apriori_error(self.lg_max, 0))

    def top_share(self) -> float:
        """Share of ``total`` taken by the most frequent value (NaN when empty)."""
        items = self.items()
        return items[0][1] / self.total if items and self.total else float("nan")

    def to_bytes(self) -> bytes:
        return _TOTAL.pack(self.lg_max, self.total) + bytes(self._sketch.serialize())

    @classmethod
    def from_bytes(cls, data: bytes) -> FrequentItems:
        try:
            lg_max, total = _TOTAL.unpack_from(data, 0)
            sketch = frequent_strings_sketch.deserialize(data[_TOTAL.size :])
        except (struct.error, RuntimeError, ValueError) as err:
            raise SerializationError(f"corrupt frequent-items bytes: {err}") from err
        return cls(lg_max=lg_max, total=total, _sketch=sketch)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrequentItems):
            return NotImplemented
        return (self.lg_max, self.total, self.items()) == (other.lg_max, other.total, other.items())

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        # The DataSketches object does not pickle; its bytes do (Spark and Dask ship pickles).
        return (FrequentItems.from_bytes, (self.to_bytes(),))

    def __hash__(self) -> int:
        return hash((self.lg_max, self.total, tuple(self.items())))

    def __repr__(self) -> str:
        return f"FrequentItems(total={self.total}, top={self.items()[:3]})"
