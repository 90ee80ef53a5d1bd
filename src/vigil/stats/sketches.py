"""What drift reads from a profile's sketches, as two small Protocols, each with an exact fake.

Drift never sees raw rows: only a quantile sketch (numeric columns) and a frequent-items sketch
(categorical columns). Naming the few methods it calls keeps :mod:`vigil.stats.drift` testable
without building profiles, and lets the exact fakes below stand in for a sketch with zero error,
so a test can separate "the formula is right" from "the sketch is accurate enough".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError
from vigil.profile import QuantileSketch

FloatArray = npt.NDArray[np.float64]


@runtime_checkable
class QuantileSource(Protocol):
    """A (sketched) distribution of numbers: inclusive CDF and quantiles, with its rank error."""

    @property
    def n(self) -> int: ...

    @property
    def normalized_rank_error(self) -> float: ...

    def quantiles(self, qs: npt.ArrayLike) -> FloatArray: ...

    def cdf(self, points: npt.ArrayLike) -> FloatArray: ...


@runtime_checkable
class FrequentSource(Protocol):
    """A (sketched) distribution of strings: the most frequent items and the total count.

    ``count_error`` bounds how far a listed count may exceed the true one, and how many times
    an unlisted item may have occurred: 0 means every count is exact and an unlisted item is
    absent.
    """

    @property
    def total(self) -> int: ...

    @property
    def count_error(self) -> float: ...

    def items(self) -> list[tuple[str, int]]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ExactQuantiles:
    """A :class:`QuantileSource` that keeps every value: rank error 0.

    Quantiles follow the inverted-CDF definition (the smallest value whose rank reaches ``q``),
    which is what a KLL sketch approximates.
    """

    values: FloatArray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        array = np.sort(np.asarray(self.values, dtype=np.float64).ravel())
        if not bool(np.all(np.isfinite(array))):
            raise ConfigError("ExactQuantiles takes finite values only")
        object.__setattr__(self, "values", array)

    @classmethod
    def of(cls, values: npt.ArrayLike) -> ExactQuantiles:
        return cls(values=np.asarray(values, dtype=np.float64))

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def normalized_rank_error(self) -> float:
        return 0.0

    def quantiles(self, qs: npt.ArrayLike) -> FloatArray:
        levels = np.asarray(qs, dtype=np.float64).ravel()
        if self.values.size == 0:
            return np.full(levels.size, np.nan)
        # Rounding first keeps 0.3 * 1000 at rank 300, not 300.00000000000006 -> 301.
        index = np.ceil(np.round(levels * self.values.size, 9)).astype(np.int64) - 1
        return self.values[np.clip(index, 0, self.values.size - 1)]

    def cdf(self, points: npt.ArrayLike) -> FloatArray:
        array = np.asarray(points, dtype=np.float64).ravel()
        if self.values.size == 0:
            return np.full(array.size, np.nan)
        ranks = np.searchsorted(self.values, array, side="right")
        return (ranks / self.values.size).astype(np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExactFrequencies:
    """A :class:`FrequentSource` that counts every item exactly."""

    counts: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> ExactFrequencies:
        return cls(counts=tuple(Counter(values).most_common()))

    @property
    def total(self) -> int:
        return sum(count for _, count in self.counts)

    @property
    def count_error(self) -> float:
        return 0.0

    def items(self) -> list[tuple[str, int]]:
        return sorted(self.counts, key=lambda pair: (-pair[1], pair[0]))


@dataclass(frozen=True, slots=True, kw_only=True)
class PooledQuantiles:
    """A :class:`QuantileSource` pooling the weighted items of several KLL sketches.

    Drift compares a window with a reference of many windows. Merging their KLL sketches would
    compact with random coin flips, so two runs over the same profiles would disagree in the
    last digits of a statistic, and sometimes in an alarm. Pooling the sketches' retained items
    with their weights is deterministic and keeps everything the sketches know; its rank error
    is at most the largest of theirs (each sketch's error is at most its ``ε·n``).

    Quantiles and CDF are inclusive, with KLL's conventions: ``quantiles(q)`` is the first value
    whose cumulative weight reaches ``ceil(q·n)``, ``cdf(x)`` the weight of values ``<= x`` over
    ``n`` (``q·n`` is rounded to 9 decimals first, so 0.07 × 300 is rank 21, not 22).
    """

    values: FloatArray
    cumulative: FloatArray
    rank_error: float
    _asked: dict[bytes, FloatArray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Quantiles already answered, by their levels: the day-long drift asks one reference
    (pooled once per day) the same levels for each of the day's windows."""

    @classmethod
    def of(cls, sketches: Sequence[QuantileSketch]) -> PooledQuantiles:
        filled = [s for s in sketches if s.n > 0]
        return cls.of_weighted_items(
            [sketch.weighted_items() for sketch in sketches],
            rank_error=max((s.normalized_rank_error for s in filled), default=0.0),
        )

    @classmethod
    def of_weighted_items(
        cls, pairs: Sequence[tuple[FloatArray, FloatArray]], *, rank_error: float
    ) -> PooledQuantiles:
        """Pool ``(items, weights)`` pairs read from sketches whose worst error is
        ``rank_error`` (for callers that keep each sketch's items to pool them many times)."""
        values = np.concatenate([v for v, _ in pairs]) if pairs else np.zeros(0)
        weights = np.concatenate([w for _, w in pairs]) if pairs else np.zeros(0)
        order = np.argsort(values, kind="stable")
        return cls(
            values=values[order], cumulative=np.cumsum(weights[order]), rank_error=rank_error
        )

    @property
    def n(self) -> int:
        return round(float(self.cumulative[-1])) if self.cumulative.size else 0

    @property
    def normalized_rank_error(self) -> float:
        return self.rank_error

    def quantiles(self, qs: npt.ArrayLike) -> FloatArray:
        levels = np.asarray(qs, dtype=np.float64).ravel()
        if self.values.size == 0:
            return np.full(levels.size, np.nan)
        asked = levels.tobytes()
        found = self._asked.get(asked)
        if found is None:
            wanted = np.ceil(np.round(levels * self.cumulative[-1], 9))
            index = np.searchsorted(self.cumulative, wanted, side="left")  # never below 0
            found = self.values[np.minimum(index, self.values.size - 1)]
            found.setflags(write=False)  # handed to every caller that asks these levels
            self._asked[asked] = found
        return found

    def cdf(self, points: npt.ArrayLike) -> FloatArray:
        array = np.asarray(points, dtype=np.float64).ravel()
        if self.values.size == 0:
            return np.full(array.size, np.nan)
        below = np.searchsorted(self.values, array, side="right")
        # The weight up to each point, without copying the pool behind a leading 0 per call.
        weights: FloatArray = self.cumulative[below - 1]
        weights[below == 0] = 0.0
        return weights / float(self.cumulative[-1])
