"""Alarm thresholds chosen as a target alarm rate ("one false alarm a week"), not a raw score.

Each monitor keeps a quantile sketch of its own recent scores and alarms above the quantile that
matches the target: a monitor scoring every 5 minutes that should alarm once a week alarms above
its ``1 - 1/2016`` quantile. Two problems make that less simple than it sounds, and both are
solved here:

- *The quantile is beyond the data.* A week-rare quantile needs weeks of scores, and a gap
  monitor's target (one false alarm in millions of inter-arrival gaps) is beyond any sketch.
  Above the deepest quantile the sketch resolves (``min_tail`` scores beyond it) the tail is
  extrapolated as exponential, fitted on the decade below: right for the gap and G-test scores
  whose null tails are exponential, conservative for Gaussian-tailed ones.
- *Little history.* The threshold never drops below the score's null-distribution quantile
  (``null_threshold``), which is the right answer for ideal data (Poisson arrivals, a
  chi-square G) and a floor when the data are noisier than ideal.

A KLL sketch's rank error (about 1% of ``n`` at ``k=200``) is far too coarse for a 1-in-10,000
quantile, so next to the sketch each monitor keeps its ``top`` largest scores exactly: quantiles
deeper than the sketch's error come from them. Memory is bounded: two such (sketch, top) pairs,
the current one and the previous, rotated every ``memory`` scores, so old regimes are forgotten.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError
from vigil.profile import QuantileSketch


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRate:
    """The false-alarm budget of one monitor: ``alarms`` per ``per`` (default one a week)."""

    alarms: float = 1.0
    per: timedelta = timedelta(weeks=1)

    def __post_init__(self) -> None:
        if not self.alarms > 0 or not math.isfinite(self.alarms):
            raise ConfigError(f"alarm rate needs alarms > 0, got {self.alarms!r}")
        if self.per <= timedelta(0):
            raise ConfigError(f"alarm rate period must be positive, got {self.per!r}")

    def probability(self, scores_per_period: float) -> float:
        """The per-score false-alarm probability when ``scores_per_period`` scores are judged."""
        if scores_per_period <= 0:
            raise ConfigError(f"scores per period must be positive, got {scores_per_period!r}")
        return min(0.5, self.alarms / scores_per_period)

    def probability_per_interval(self, interval: timedelta) -> float:
        """The per-score probability for a monitor that scores once every ``interval``."""
        return self.probability(self.per / interval)


def exponential_quantile(p: float) -> float:
    """Null quantile of an exponential(1) score: ``-log p``. A named function, not a lambda,
    so monitors holding a threshold can be pickled (checkpointed across restarts)."""
    return -math.log(p)


def two_sided_normal_quantile(p: float) -> float:
    """Null quantile of ``|z|`` for a standard normal ``z``: ``isf(p / 2)``."""
    from scipy import special  # on first use (``norm.isf`` is ``-ndtri``)

    return float(-special.ndtri(p / 2.0))


class ScoreThreshold:
    """The learned threshold of one monitor statistic.

    ``null_quantile(p)`` maps a tail probability to the statistic's null quantile (e.g.
    ``lambda p: -math.log(p)`` for exponential scores). ``threshold(p)`` is the larger of that
    and the empirical (extrapolated) ``1 - p`` quantile of the recent scores.
    """

    def __init__(
        self,
        null_quantile: Callable[[float], float],
        *,
        memory: int = 50_000,
        k: int = 200,
        top: int = 1_000,
        min_scores: int = 200,
        min_tail: int = 20,
    ) -> None:
        if memory < min_scores or min_scores < 10 * min_tail or top < 10 * min_tail:
            raise ConfigError(
                "need memory >= min_scores >= 10 * min_tail and top >= 10 * min_tail, "
                f"got {memory}, {min_scores}, {min_tail}, {top}"
            )
        self.null_quantile = null_quantile
        self.memory = memory
        self.min_scores = min_scores
        self.min_tail = min_tail
        self.top = top
        self._k = k
        self.current_ = QuantileSketch.empty(k)
        self.previous_ = QuantileSketch.empty(k)
        self.current_top_ = np.zeros(0)
        self.previous_top_ = np.zeros(0)
        self._cached: tuple[int, float, float] = (-1, math.nan, math.nan)
        self._floors: dict[float, float] = {}
        # Scores reach the sketch in chunks (a KLL update copies the sketch); the exact top
        # buffer sees every score at once, and the sketch only answers the body quantile.
        self.flush_every = 256
        self._buffer: list[npt.NDArray[np.float64]] = []
        self._buffered = 0

    def update(self, scores: npt.ArrayLike) -> None:
        """Remember ``scores`` (finite ones; NaN means "not scored" and is skipped)."""
        array = np.asarray(scores, dtype=np.float64).ravel()
        array = array[np.isfinite(array)]
        if array.size == 0:
            return
        self._buffer.append(array)
        self._buffered += array.size
        if self._buffered >= self.flush_every:
            self._flush()
        joined = np.concatenate([self.current_top_, array])
        if joined.size > self.top:
            joined = np.partition(joined, joined.size - self.top)[-self.top :]
        self.current_top_ = joined
        if self.current_.n + self._buffered >= self.memory:
            self._flush()
            self.previous_, self.previous_top_ = self.current_, self.current_top_
            self.current_, self.current_top_ = QuantileSketch.empty(self._k), np.zeros(0)

    def _flush(self) -> None:
        if self._buffer:
            self.current_ = self.current_.update(np.concatenate(self._buffer))
            self._buffer, self._buffered = [], 0

    @property
    def n(self) -> int:
        return self.current_.n + self._buffered + self.previous_.n

    def _upper_quantile(self, p: float) -> float:
        """The ``1 - p`` quantile: exact from the kept top scores when deep enough, else KLL."""
        n = self.n
        largest = np.sort(np.concatenate([self.current_top_, self.previous_top_]))[::-1]
        rank = p * n
        if rank < largest.size - 1:
            index = min(int(rank), largest.size - 1)
            return float(largest[index])
        if self._buffered > self.current_.n + self.previous_.n:
            self._flush()  # early on, the buffer would be most of the data
        return self.current_.merge(self.previous_).quantile(1.0 - p)

    def empirical(self, p: float) -> float:
        """The recent scores' ``1 - p`` quantile, tail-extrapolated; NaN with too few scores."""
        n_seen, p_seen, value = self._cached
        if n_seen == self.n and p_seen == p:
            return value
        value = self._extrapolate(p)
        self._cached = (self.n, p, value)
        return value

    def _extrapolate(self, p: float) -> float:
        n = self.n
        if n < self.min_scores:
            return math.nan
        p0 = max(p, self.min_tail / n)
        q0 = self._upper_quantile(p0)
        if p0 <= p:
            return q0
        p1 = min(0.5, 10.0 * p0)
        q1 = self._upper_quantile(p1)
        scale = max(q0 - q1, 0.0) / math.log(p1 / p0)
        return q0 + scale * math.log(p0 / p)

    def threshold(self, p: float) -> float:
        """Alarm above this to raise false alarms with probability about ``p`` per score."""
        if not 0.0 < p < 1.0:
            raise ConfigError(f"alarm probability must be in (0, 1), got {p!r}")
        floor = self._floors.get(p)
        if floor is None:
            floor = self._floors[p] = self.null_quantile(p)
        learned = self.empirical(p)
        return floor if math.isnan(learned) else max(floor, learned)
