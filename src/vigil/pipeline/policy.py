"""The watch policy's tables: which statistics are watched, on which scale, with which floor,
by which detector built with which options, and where drift is flagged. The deciding code that
applies them is :mod:`vigil.pipeline.watch`; this module only says what the policy is.

What is watched (:data:`WATCHES`): a curated set per family. Extremes of a few hundred rows are
noisy and fifteen correlated quantiles of one feature say one thing fifteen times; feature
distributions are watched through drift. Traffic and latency are watched for the model over all
its versions (:data:`~vigil.core.ALL_VERSIONS`), on a log scale: they move multiplicatively (a
stop at night is as much news as a stop at noon), and a rollout that moves every request to a
new version is not a traffic stop. The data-quality signals (missing, constant, new, type
changed) are events, and drift is flagged where a tested statistic leaves the band the stats
stage drew from both sample sizes (:mod:`vigil.stats.change`), where enough rows back it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from vigil.core import ALL_VERSIONS, ConfigError, Family, SeriesKey, format_duration
from vigil.detect import (
    DEFAULT_DETECTOR,
    DETECTORS,
    ConsensusSettings,
    Detector,
    IntervalDetector,
    check_fpr,
    check_level,
    make_detector,
)
from vigil.stats import QualityKind

DAY = timedelta(days=1)


class Scale(StrEnum):
    LINEAR = "linear"
    LOG = "log"
    """``log(1 + x)``: for counts and latencies, which move multiplicatively."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Watch:
    """How one statistic is watched.

    ``floor``: the band's half-width is never below ``z * floor * |expected|`` on the linear
    scale, ``z * floor`` in log units on the log scale (``z`` of :attr:`WatchPolicy.level`).
    ``model_level``: watch the model over all its versions rather than each version.
    ``stderr_floor``: a step is never more surprising than its own standard error makes it
    (``consensus``' :attr:`~vigil.detect.ConsensusSettings.stderr_floor`): for a quantile of a
    few hundred requests, which is about their second-largest value and jumps with one slow
    request. Off where measured to cost detections (means and rates of the model-health
    families, ``BENCHMARKS.md``).
    """

    family: Family
    statistic: str
    scale: Scale = Scale.LINEAR
    floor: float = 0.05
    model_level: bool = False
    stderr_floor: bool = False

    def __post_init__(self) -> None:
        if not self.floor >= 0:
            raise ConfigError(f"watch of {self.statistic!r}: floor must be >= 0, got {self.floor}")


WATCHES: tuple[Watch, ...] = (
    # Feature distributions are watched through drift: the drift family's tested mean, std,
    # quantiles and KS carry bands from both sample sizes (vigil.stats.change).
    Watch(family=Family.FEATURE, statistic="null_rate"),
    Watch(family=Family.FEATURE, statistic="coverage"),
    Watch(family=Family.OUTPUT, statistic="mean"),
    Watch(family=Family.OUTPUT, statistic="p50"),
    Watch(family=Family.OUTPUT, statistic="share_above_0.5"),
    Watch(family=Family.OUTPUT, statistic="null_rate"),
    # 0.15 log units: changes under about 40% never page; a weekend's dip is not news.
    Watch(
        family=Family.AUXILIARY,
        statistic="requests",
        scale=Scale.LOG,
        floor=0.15,
        model_level=True,
    ),
    Watch(
        family=Family.AUXILIARY,
        statistic="latency_p50",
        scale=Scale.LOG,
        floor=0.1,
        model_level=True,
        stderr_floor=True,
    ),
    Watch(
        family=Family.AUXILIARY,
        statistic="latency_p99",
        scale=Scale.LOG,
        floor=0.1,
        model_level=True,
        stderr_floor=True,
    ),
    Watch(family=Family.AUXILIARY, statistic="traffic_ratio", floor=0.2),
    Watch(family=Family.AUXILIARY, statistic="quarantine_rate"),
)
QUALITY = frozenset(kind.value for kind in QualityKind)
EVENT_THRESHOLD = 0.5
"""A data-quality signal is 0 or 1; the band that decides it is ``[-0.5, 0.5]`` around 0."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftRule:
    """Drift where at least ``min_support`` rows back it: a tested statistic (mean, std,
    quantiles, KS, category shares) outside the band the stats stage drew from both sample
    sizes (:mod:`vigil.stats.change`), or an untested one at an absolute level of
    ``thresholds`` (none by default; bounded statistics only, such as KS or L∞).
    """

    thresholds: Mapping[str, float] = field(default_factory=dict)
    min_support: float = 30.0

    def __post_init__(self) -> None:
        if not all(0 < t <= 1 for t in self.thresholds.values()):
            raise ConfigError(f"drift thresholds must be in (0, 1], got {dict(self.thresholds)}")

    def flags(
        self, statistic: str, values: npt.NDArray[np.float64], support: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """Drift is flagged where ``statistic`` reaches its threshold on enough rows.

        The one drift decision: the watch's drift series and ``vigil.compare`` both call it.
        """
        with np.errstate(invalid="ignore"):
            flags = (values >= self.thresholds[statistic]) & (support >= self.min_support)
        return np.asarray(np.nan_to_num(flags, nan=0), dtype=bool)

    def tested_flags(
        self,
        values: npt.NDArray[np.float64],
        lower: npt.NDArray[np.float64],
        upper: npt.NDArray[np.float64],
        support: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.bool_]:
        """A tested statistic is flagged outside its band, on at least ``min_support`` rows (an
        unknown band or value flags nothing).

        The one decision for tested statistics: the watch and ``vigil.compare`` both call it.
        """
        with np.errstate(invalid="ignore"):
            flags = ((values < lower) | (values > upper)) & (support >= self.min_support)
        return np.asarray(np.nan_to_num(flags, nan=0), dtype=bool)


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchPolicy:
    """Which statistics are watched, how, and where the line is (see the module docstring)."""

    detector: str = DEFAULT_DETECTOR
    history: timedelta = timedelta(days=7)
    """What detectors learn "normal" from; whole days, at least two."""
    fpr: float = 0.001
    """Target false-alarm rate per series step, given to ``infer_threshold``."""
    level: float = 0.999
    """Nominal coverage of a band detector's band, before the threshold scales it."""
    threshold_bounds: tuple[float, float] = (2.0, 4.0)
    watches: tuple[Watch, ...] = WATCHES
    drift: DriftRule = field(default_factory=DriftRule)
    held_detector: str = "same-hour"
    """The band detector that judges a series an open incident holds, against its baseline
    before the incident, when :attr:`detector` scores instead (``consensus``, ``deep``): a
    detector that learns its baseline from the series itself would take the incident for normal
    after a while (found: a schema change adopted after about 3.5 days)."""

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            known = ", ".join(sorted(DETECTORS))
            raise ConfigError(f"unknown detector {self.detector!r}; known detectors: {known}")
        check_fpr(self.fpr)
        check_level(self.level)
        low, high = self.threshold_bounds
        if not 0 < low <= high:
            raise ConfigError(f"threshold_bounds must be 0 < low <= high, got {(low, high)}")
        if self.history % DAY or self.history < 2 * DAY:
            raise ConfigError(
                f"history must be whole days, at least 2 (the same hour on two earlier days is "
                f"the least a daily pattern is learned from), got {format_duration(self.history)!r}"
            )
        if not isinstance(self.build_detector(self.held_detector), IntervalDetector):
            raise ConfigError(f"held_detector must be a band detector, got {self.held_detector!r}")

    @property
    def history_days(self) -> int:
        return self.history // DAY

    @property
    def lookback(self) -> timedelta:
        """How much of the past a period's series must carry: a band at step ``t`` rests on
        the history before ``t``, and the calibration before the period on one more."""
        return 2 * self.history

    def watch_of(self, key: SeriesKey) -> Watch | None:
        """The watch of the series ``key``, or ``None`` when it is not watched."""
        for watch in self.watches:
            if (
                watch.family == key.family
                and watch.statistic == key.statistic
                and watch.model_level == (key.version == ALL_VERSIONS)
            ):
                return watch
        return None

    def build_detector(self, name: str | None = None, *, watch: Watch | None = None) -> Detector:
        """The detector ``name`` (the policy's own by default), with the policy's options and
        those of ``watch``, the statistic it is built for."""
        chosen = name or self.detector
        options = DETECTOR_OPTIONS.get(chosen, _no_options)(self, watch)
        return make_detector(chosen, **options)


def _no_options(policy: WatchPolicy, watch: Watch | None) -> dict[str, object]:
    del policy, watch
    return {}


DETECTOR_OPTIONS: dict[str, Callable[[WatchPolicy, Watch | None], dict[str, object]]] = {
    # The same-hour detector learns from the configured history; its floors are the policy's.
    "same-hour": lambda policy, watch: {
        "days": policy.history_days,
        "level": policy.level,
        "relative_floor": 0.0,
    },
    # Every step that passes the line alerts: the incident filters (k of n steps, cooldown)
    # do the suppressing here. Its band, drawn for context, at the policy's level.
    "consensus": lambda policy, watch: {
        "settings": ConsensusSettings(
            suppress=0,
            level=policy.level,
            stderr_floor=watch is not None and watch.stderr_floor,
        ),
    },
}
"""Options a registered detector is built with, from the policy and the watch it decides;
detectors not listed are built with their defaults."""


COUNTS = frozenset({"rows", "requests", "distinct", "late", "duplicates"})
RATES = frozenset(
    {
        "null_rate",
        "nonfinite_rate",
        "coverage",
        "top_share",
        "type_mix_change",
        "traffic_ratio",
        "quarantine_rate",
        *QUALITY,
    }
)


def natural_range(key: SeriesKey) -> tuple[float, float]:
    """Where the statistic's values can lie: rates and bounded drift distances in [0, 1],
    counts and latencies at least 0, anything else unbounded."""
    statistic = key.statistic
    drift = key.family == Family.DRIFT or statistic.startswith("drift_")
    if statistic in RATES or statistic.startswith("share_above_"):
        return 0.0, 1.0
    if drift and statistic.removeprefix("drift_") in ("ks", "linf", "js"):
        return 0.0, 1.0
    if statistic in COUNTS or statistic.startswith("latency_") or drift:
        return 0.0, math.inf
    return -math.inf, math.inf
