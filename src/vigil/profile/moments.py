"""Running moments (count, mean, M2, min, max) that merge exactly like one pass.

Merging uses Chan, Golub & LeVeque's parallel update of the mean and the sum of squared
deviations ``m2``, which stays accurate where the textbook ``sum(x**2) - n*mean**2`` would lose
every digit to cancellation (latencies of 1e9 +- 1, say).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class Moments:
    """Moments of finite numbers; an empty one has ``min=inf``, ``max=-inf`` (their identities)."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf

    def __post_init__(self) -> None:
        if self.count < 0 or self.m2 < 0 or (self.count == 0 and (self.mean or self.m2)):
            raise ConfigError(
                f"inconsistent moments: count={self.count!r}, mean={self.mean!r}, m2={self.m2!r}"
            )

    @classmethod
    def of(cls, values: npt.NDArray[np.float64]) -> Moments:
        """Moments of ``values``, which the caller has already reduced to finite numbers."""
        if values.size == 0:
            return cls()
        with np.errstate(over="ignore", invalid="ignore"):  # near 1e308: infinite, not an error
            mean = float(values.mean())
            deviations = values - mean
            # Not np.dot: BLAS threads spin on a busy machine and cost 100x more than this loop.
            m2 = float(np.square(deviations, out=deviations).sum())
        return cls(
            count=int(values.size),
            mean=mean,
            m2=m2,
            min=float(values.min()),
            max=float(values.max()),
        )

    @property
    def variance(self) -> float:
        """Population variance (``m2 / count``); NaN when empty."""
        return self.m2 / self.count if self.count else math.nan

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    @classmethod
    def merge_all(cls, moments: Sequence[Moments]) -> Moments:
        """Chan's update for many parts at once: ``M2 = sum(m2_i) + sum(n_i (mean_i - mean)^2)``."""
        filled = [item for item in moments if item.count]
        if len(filled) <= 1:
            return filled[0] if filled else cls()
        if len(filled) == 2:
            return filled[0].merge(filled[1])
        counts = np.array([item.count for item in filled], dtype=np.float64)
        means = np.array([item.mean for item in filled])
        count = int(sum(item.count for item in filled))
        with np.errstate(over="ignore", invalid="ignore"):  # near 1e308, as in ``of``
            mean = float((counts * means).sum() / count)
            spread = means - mean
            m2 = float(sum(item.m2 for item in filled) + (counts * spread * spread).sum())
        return cls(
            count=count,
            mean=mean,
            m2=m2,
            min=min(item.min for item in filled),
            max=max(item.max for item in filled),
        )

    def merge(self, other: Moments) -> Moments:
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        count = self.count + other.count
        delta = other.mean - self.mean
        return Moments(
            count=count,
            mean=self.mean + delta * other.count / count,
            m2=self.m2 + other.m2 + delta * delta * self.count * other.count / count,
            min=min(self.min, other.min),
            max=max(self.max, other.max),
        )
