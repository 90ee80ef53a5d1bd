"""Quantile sketches: an immutable face on DataSketches' KLL sketch.

KLL keeps ``O(k log(n/k))`` values and answers any quantile within a *rank* error that depends on
``k`` only (``normalized_rank_error``, ~1/k-ish, with 99% confidence), and two sketches merge into
one with the same guarantee. DataSketches' sketch is mutable; Vigil's mergeable values are not
(a merge must never change its inputs), so every :class:`QuantileSketch` owns a private sketch
that nobody else holds, and ``update``/``merge`` work on a copy.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from datasketches import kll_doubles_sketch

from vigil.core import ConfigError, IncompatibleSpecError, SchemaError, SerializationError

FloatArray = npt.NDArray[np.float64]
_LEVEL_ZERO_SORTED = 0x02
_EMPTY = 0x01
_SINGLE_ITEM = 0x04
# The full KLL preamble: 20 bytes, then one uint32 per level, then min and max (two doubles).
_FULL_PREAMBLE_BYTES = 20


def _settled(sketch: kll_doubles_sketch) -> kll_doubles_sketch:
    """Sort level 0 now: a query would do it in place and flip a flag in the serialized form,
    so equal sketches would stop having equal bytes after one of them was queried."""
    if not sketch.is_empty():
        sketch.get_quantile(0.5)
    return sketch


def smallest_kll_k(max_rank_error: float) -> int:
    """The smallest KLL ``k`` whose single-quantile normalized rank error is <= the target."""
    if not 0.0 < max_rank_error < 1.0:
        raise ConfigError(f"rank error target must be in (0, 1), got {max_rank_error!r}")
    k = 8
    while kll_doubles_sketch.get_normalized_rank_error(k, False) > max_rank_error:
        k += 1
    return k


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class QuantileSketch:
    """Immutable KLL quantile sketch over finite doubles.

    Ranks and CDFs are inclusive: ``rank(x)`` is the estimated fraction of values ``<= x``.
    Quantiles of an empty sketch, and its ``min``/``max``, are NaN.
    """

    _sketch: kll_doubles_sketch

    @classmethod
    def empty(cls, k: int) -> QuantileSketch:
        if not 8 <= k <= 65535:
            raise ConfigError(f"KLL k must be in [8, 65535], got {k!r}")
        return cls(_sketch=kll_doubles_sketch(k))

    @classmethod
    def merge_all(cls, sketches: Sequence[QuantileSketch]) -> QuantileSketch:
        """All sketches as one, copying only once (a chain of ``merge`` copies every step)."""
        if not sketches:
            raise ConfigError("merge_all needs at least one sketch")
        filled = [s for s in sketches if not s._sketch.is_empty()]
        for sketch in sketches[1:]:
            if sketch.k != sketches[0].k:
                raise IncompatibleSpecError(
                    f"cannot merge KLL sketches of k={sketches[0].k} and k={sketch.k}"
                )
        if len(filled) <= 1:
            return filled[0] if filled else sketches[0]
        merged = filled[0]._copy()
        for sketch in filled[1:]:
            merged.merge(sketch._sketch)
        return QuantileSketch(_sketch=_settled(merged))

    @classmethod
    def of_groups(
        cls, values: FloatArray, bounds: npt.NDArray[np.int64], k: int
    ) -> list[QuantileSketch]:
        """One sketch per slice ``values[bounds[g]:bounds[g + 1]]`` of finite values.

        Each sketch is built from its slice in one call, exactly as ``empty(k).update(slice)``
        would; empty slices share one empty sketch (a sketch is never changed in place).
        """
        empty = cls.empty(k)
        # The binding only accepts writable arrays (arrow-backed ones are read-only).
        writable = values if values.flags.writeable else values.copy()
        found = []
        for low, high in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            if low == high:
                found.append(empty)
                continue
            sketch = kll_doubles_sketch(k)
            sketch.update(writable[low:high])
            found.append(cls(_sketch=_settled(sketch)))
        return found

    def _copy(self) -> kll_doubles_sketch:
        # Cheap next to the work around it: a KLL sketch is a few kB at most.
        return kll_doubles_sketch.deserialize(self._sketch.serialize())

    @property
    def k(self) -> int:
        return int(self._sketch.k)

    @property
    def n(self) -> int:
        return int(self._sketch.n)

    @property
    def min(self) -> float:
        return math.nan if self._sketch.is_empty() else float(self._sketch.get_min_value())

    @property
    def max(self) -> float:
        return math.nan if self._sketch.is_empty() else float(self._sketch.get_max_value())

    @property
    def normalized_rank_error(self) -> float:
        """Single-quantile rank error (99% confidence) stated by DataSketches for this ``k``."""
        return float(self._sketch.normalized_rank_error(False))

    def update(self, values: npt.ArrayLike) -> QuantileSketch:
        """A sketch that has also seen ``values`` (all finite; raise otherwise)."""
        array = np.ascontiguousarray(values, dtype=np.float64).ravel()
        if array.size == 0:
            return self
        if not bool(np.isfinite(array).all()):
            bad = int((~np.isfinite(array)).sum())
            raise SchemaError(
                f"QuantileSketch.update got {bad} non-finite values; count and drop them first"
            )
        return self._update_finite(array)

    def _update_finite(self, array: FloatArray) -> QuantileSketch:
        """``update`` for callers that have already split off non-finite values."""
        if array.size == 0:
            return self
        sketch = self._copy()
        # The binding only accepts writable arrays (arrow-backed ones are read-only).
        sketch.update(array if array.flags.writeable else array.copy())
        return QuantileSketch(_sketch=_settled(sketch))

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """The sketch of both streams; neither input changes."""
        return QuantileSketch.merge_all([self, other])

    def quantile(self, q: float) -> float:
        return float(self.quantiles(np.asarray([q]))[0])

    def quantiles(self, qs: npt.ArrayLike) -> FloatArray:
        ranks = np.asarray(qs, dtype=np.float64).ravel()
        if ranks.size and (not bool(np.all((ranks >= 0.0) & (ranks <= 1.0)))):
            raise ConfigError(f"quantiles must be in [0, 1], got {ranks.tolist()!r}")
        if self._sketch.is_empty():
            return np.full(ranks.size, np.nan)
        return np.asarray(self._sketch.get_quantiles(ranks.tolist(), True), dtype=np.float64)

    def cdf(self, points: npt.ArrayLike) -> FloatArray:
        """Estimated fraction of values ``<= p`` for each point (any order, repeats allowed)."""
        array = np.asarray(points, dtype=np.float64).ravel()
        if self._sketch.is_empty():
            return np.full(array.size, np.nan)
        if array.size == 0:
            return np.zeros(0)
        # DataSketches wants strictly increasing split points: sort, dedupe, map back.
        unique, inverse = np.unique(array, return_inverse=True)
        fractions = np.asarray(self._sketch.get_cdf(unique.tolist(), True), dtype=np.float64)
        return fractions[:-1][inverse]

    def rank(self, x: float) -> float:
        return float(self.cdf(np.asarray([x]))[0])

    def weighted_items(self) -> tuple[FloatArray, FloatArray]:
        """The values the sketch retains and the weight of each (a value kept at compaction level
        ``i`` stands for ``2**i`` values); the weights sum to ``n``.

        Pooling the weighted items of several sketches is an exact union of what they know, with
        none of the random coin flips a KLL *merge* makes when it compacts: drift references
        built this way come out the same in every run, and are no less accurate than a merge.
        Read from the serialized form (the DataSketches KLL format, the same in every language),
        because iterating the binding's items costs a Python tuple per value.
        """
        data = self._sketch.serialize()
        flags = data[3]
        if flags & _EMPTY:
            return np.zeros(0), np.zeros(0)
        if flags & _SINGLE_ITEM:
            return np.frombuffer(data, "<f8", count=1, offset=8).copy(), np.ones(1)
        num_levels = data[18]
        starts = np.frombuffer(data, "<u4", count=num_levels, offset=_FULL_PREAMBLE_BYTES)
        items_at = _FULL_PREAMBLE_BYTES + 4 * num_levels + 16
        items = np.frombuffer(data, "<f8", offset=items_at).copy()
        bounds = np.append(starts.astype(np.int64) - int(starts[0]), items.size)
        weights = np.repeat(np.exp2(np.arange(num_levels, dtype=np.float64)), np.diff(bounds))
        if weights.size != items.size or struct.unpack_from("<Q", data, 8)[0] != self.n:
            raise SerializationError("KLL bytes do not have the layout weighted_items expects")
        return items, weights

    def to_bytes(self) -> bytes:
        return bytes(self._sketch.serialize())

    @classmethod
    def from_bytes(cls, data: bytes) -> QuantileSketch:
        try:
            sketch = kll_doubles_sketch.deserialize(data)
        except (RuntimeError, ValueError) as err:
            raise SerializationError(f"corrupt KLL sketch bytes: {err}") from err
        # Vigil writes settled sketches (flag byte 3, bit 0x02: level 0 sorted); settle others.
        settled = len(data) > 3 and data[3] & _LEVEL_ZERO_SORTED
        return cls(_sketch=sketch if settled else _settled(sketch))

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        # The DataSketches object does not pickle; its bytes do (Spark and Dask ship pickles).
        return (QuantileSketch.from_bytes, (self.to_bytes(),))

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantileSketch):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    def __repr__(self) -> str:
        return f"QuantileSketch(k={self.k}, n={self.n}, min={self.min}, max={self.max})"
