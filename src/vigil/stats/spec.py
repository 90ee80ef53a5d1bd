"""``StatsSpec`` and ``Reference``: the few settings that turn profiles into health series.

Every setting has a default that works for a model nobody configured: a model that appears in the
logs is monitored from its first window. The reference a window is compared against defaults to
the *same hours of the previous seven days*, merged, so a daily rhythm (night traffic looks
different from noon traffic) does not read as drift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from vigil.core import ConfigError, Window
from vigil.profile import Profile
from vigil.stats.change import ChangeTest, Tested

DAY = timedelta(days=1)


class ReferenceMode(StrEnum):
    TRAILING_SAME_HOUR = "trailing_same_hour"
    TRAILING = "trailing"
    FIXED = "fixed"
    PROFILES = "profiles"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    """Which earlier profiles one window is compared against.

    Build it with :meth:`trailing_same_hour`, :meth:`trailing`, :meth:`fixed` or
    :meth:`of_profiles`; :meth:`selects` says whether a profile window belongs to the reference
    of a current window.
    """

    mode: ReferenceMode
    days: int = 7
    lookback: timedelta = timedelta(0)
    baseline: Window | None = None
    profiles: tuple[Profile, ...] = field(default=(), compare=False)
    """The reference itself, for :meth:`of_profiles` (made outside the logs: training data)."""
    source: str = ""
    """Where :attr:`profiles` came from, for what a screen says about the reference."""

    def __post_init__(self) -> None:
        if self.mode is ReferenceMode.TRAILING_SAME_HOUR and self.days < 1:
            raise ConfigError(f"trailing_same_hour needs days >= 1, got {self.days!r}")
        if self.mode is ReferenceMode.TRAILING and self.lookback <= timedelta(0):
            raise ConfigError(
                f"a trailing reference needs a positive lookback, got {self.lookback}"
            )
        if self.mode is ReferenceMode.FIXED and self.baseline is None:
            raise ConfigError("a fixed reference needs its baseline window")
        if self.mode is ReferenceMode.PROFILES and not self.profiles:
            raise ConfigError("a reference of profiles needs at least one profile")

    @classmethod
    def trailing_same_hour(cls, days: int = 7) -> Reference:
        """The same hours (the window shifted by whole days) of the previous ``days`` days."""
        return cls(mode=ReferenceMode.TRAILING_SAME_HOUR, days=days)

    @classmethod
    def trailing(cls, lookback: timedelta) -> Reference:
        """Everything in the ``lookback`` just before the window."""
        return cls(mode=ReferenceMode.TRAILING, lookback=lookback)

    @classmethod
    def fixed(cls, baseline: Window) -> Reference:
        """One baseline period, the same for every window (e.g. the validation week)."""
        return cls(mode=ReferenceMode.FIXED, baseline=baseline)

    @classmethod
    def of_profiles(cls, profiles: Sequence[Profile], *, source: str) -> Reference:
        """Profiles made apart from the logs (``vigil.reference_profile`` of the training or
        validation data), the same for every window and every version of the model."""
        return cls(mode=ReferenceMode.PROFILES, profiles=tuple(profiles), source=source)

    @property
    def is_fixed(self) -> bool:
        """True when every window is compared with the same reference (no trailing one)."""
        return self.mode in (ReferenceMode.FIXED, ReferenceMode.PROFILES)

    def ranges(self, current: Window) -> list[Window]:
        """Where ``current``'s reference lies: every profile window inside one of these counts.

        Outside a fixed baseline, nothing at or after ``current.start`` is ever reference; a
        reference of profiles has no windows in the logs.
        """
        if self.mode is ReferenceMode.PROFILES:
            return []
        if self.mode is ReferenceMode.FIXED:
            assert self.baseline is not None  # checked in __post_init__
            return [self.baseline]
        if self.mode is ReferenceMode.TRAILING:
            return [Window(start=current.start - self.lookback, end=current.start)]
        ranges = []
        for k in range(self.days, 0, -1):
            end = min(current.end - k * DAY, current.start)
            if end > current.start - k * DAY:
                ranges.append(Window(start=current.start - k * DAY, end=end))
        return ranges

    def selects(self, current: Window, candidate: Window) -> bool:
        """True when a profile of window ``candidate`` is part of ``current``'s reference."""
        return any(r.covers(candidate) for r in self.ranges(current))

    def earliest(self, since: datetime) -> datetime:
        """The start of the profiles needed to compare every window from ``since`` on."""
        if self.mode is ReferenceMode.PROFILES:
            return since
        if self.mode is ReferenceMode.FIXED:
            assert self.baseline is not None
            return min(self.baseline.start, since)
        if self.mode is ReferenceMode.TRAILING:
            return since - self.lookback
        return since - self.days * DAY

    def __str__(self) -> str:
        if self.mode is ReferenceMode.PROFILES:
            return f"the reference profile {self.source}"
        if self.mode is ReferenceMode.FIXED:
            return f"fixed {self.baseline}"
        if self.mode is ReferenceMode.TRAILING:
            return f"trailing {self.lookback}"
        return f"same hours of the previous {self.days} days"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatsSpec:
    """Settings of health and drift series; defaults need no per-model configuration.

    - ``window``: the series step; profiles of shorter windows are rolled up to it.
    - ``quantiles``: the quantile levels reported for features and outputs.
    - ``latency_quantiles``: the latency levels of the auxiliary family.
    - ``score_thresholds``: output series ``share_above_<t>`` for each ``t``.
    - ``constant_share``: a feature whose most frequent value holds at least this share of its
      values is constant; ``constant_min_values`` keeps a handful of rows from counting.
    - ``type_share_min``: a value type counts as "in use" above this share; a change of the set
      of types in use against the reference is a type change.
    - ``reference``: what drift and the data-quality signals compare with.
    - ``drift_grid_size`` and ``max_categories``: resolution of the drift computations.
    - ``reference_tolerance``: a reference window whose distribution differs from the other
      windows' consensus by more than this (largest CDF or share difference) is left out of the
      drift reference, a minority at most (:mod:`vigil.stats.reference`); ``None`` keeps all.
    - ``reference_min_own``: a version with fewer reference windows of its own also takes the
      model's other versions' windows into its drift reference.
    - ``change``: how sure and how large a change of a tested drift statistic (mean, std,
      quantiles, KS, category shares) must be (:mod:`vigil.stats.change`).
    - ``drift_exclusion``, ``exclude_changed`` and ``drift_min_support``: a window whose column
      drifted (to at least ``drift_exclusion[statistic]``, or, with ``exclude_changed``, with a
      tested statistic outside its band) on at least ``drift_min_support`` rows stays out of the
      column's later references (:mod:`vigil.stats.drift`); the defaults keep every window. The
      pipeline sets them from the watch policy's drift rule, so what counts as drifted is
      decided once.
    """

    window: timedelta = timedelta(hours=1)
    quantiles: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
    latency_quantiles: tuple[float, ...] = (0.5, 0.9, 0.99, 0.999)
    score_thresholds: tuple[float, ...] = (0.5,)
    constant_share: float = 0.999
    constant_min_values: int = 20
    type_share_min: float = 0.01
    reference: Reference = field(default_factory=Reference.trailing_same_hour)
    drift_grid_size: int = 512
    max_categories: int = 50
    reference_tolerance: float | None = 0.25
    reference_min_own: int = 3
    change: ChangeTest = field(default_factory=ChangeTest)
    drift_exclusion: Mapping[str, float] = field(default_factory=dict)
    exclude_changed: bool = False
    drift_min_support: float = 30.0

    def drifted(self, statistic: str, value: float, support: float) -> bool:
        """Whether a drift value leaves its window out of later references."""
        limit = self.drift_exclusion.get(statistic)
        return limit is not None and value >= limit and support >= self.drift_min_support

    def changed(self, tested: Tested) -> bool:
        """Whether a tested statistic outside its band leaves its window out of later
        references."""
        return self.exclude_changed and tested.changed and tested.support >= self.drift_min_support

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ConfigError(f"series window must be positive, got {self.window}")
        for name in ("quantiles", "latency_quantiles"):
            levels = getattr(self, name)
            if not levels or not all(0.0 <= q <= 1.0 for q in levels):
                raise ConfigError(f"{name} must be levels in [0, 1], got {levels!r}")
        if not all(math.isfinite(t) for t in self.score_thresholds):
            raise ConfigError(f"score_thresholds must be finite, got {self.score_thresholds!r}")
        if not 0.5 < self.constant_share <= 1.0:
            raise ConfigError(f"constant_share must be in (0.5, 1], got {self.constant_share!r}")
        if self.constant_min_values < 2:
            raise ConfigError(f"constant_min_values must be >= 2, got {self.constant_min_values!r}")
        if not 0.0 < self.type_share_min < 0.5:
            raise ConfigError(f"type_share_min must be in (0, 0.5), got {self.type_share_min!r}")
        if self.reference_tolerance is not None and not 0.0 < self.reference_tolerance < 1.0:
            raise ConfigError(
                f"reference_tolerance must be in (0, 1) or None, got {self.reference_tolerance!r}"
            )
        if self.reference_min_own < 1:
            raise ConfigError(f"reference_min_own must be >= 1, got {self.reference_min_own!r}")
        if self.drift_grid_size < 2 or self.max_categories < 1:
            raise ConfigError(
                f"drift_grid_size ({self.drift_grid_size!r}) must be >= 2 and max_categories "
                f"({self.max_categories!r}) >= 1"
            )


def quantile_name(level: float) -> str:
    """``0.01 -> "p01"``, ``0.5 -> "p50"``, ``0.999 -> "p99.9"``."""
    percent = round(level * 100, 6)
    if percent == int(percent):
        return f"p{int(percent):02d}"
    return f"p{percent:g}"


def threshold_name(threshold: float) -> str:
    """``0.5 -> "share_above_0.5"``."""
    return f"share_above_{threshold:g}"
