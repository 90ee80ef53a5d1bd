"""What drift reads from a profile's sketches, as two small Protocols, each with an exact fake.

Drift never sees raw rows: only a quantile sketch (numeric columns) and a frequent-items sketch
(categorical columns). Naming the few methods it calls keeps :mod:`vigil.stats.drift` testable
without building profiles, and lets the exact fakes below stand in for a sketch with zero error,
so a test can separate "the formula is right" from "the sketch is accurate enough".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError

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
    """A (sketched) distribution of strings: the most frequent items and the total count."""

    @property
    def total(self) -> int: ...

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

    def items(self) -> list[tuple[str, int]]:
        return sorted(self.counts, key=lambda pair: (-pair[1], pair[0]))
