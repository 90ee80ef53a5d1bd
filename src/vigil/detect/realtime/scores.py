"""Score distributions: each minute's output scores against the merge of past minutes.

Per minute and model version the monitor keeps a KLL quantile sketch of the output score. The
reference is the merge of past minute sketches (one sketch per day, ``reference_days`` of them);
minutes join it only after ``reference_lag`` and only if they did not alarm, so a shift stays
visible until someone acts on it. Each closed minute is compared with the reference by

- the G-test on its counts in the reference's deciles and its 95/99/99.9% tail cuts (12 cuts,
  13 bins). The counts are exact: values are binned on arrival against the cuts the reference
  had when the minute opened. The expected shares are the reference sketch's CDF at those cuts,
  good only to its rank error, so bins narrower than twice that error (or expecting under one
  count) are pooled with a neighbour: at the default ``k=1000`` (0.28%) the 99.9% cut is pooled
  into the 99% bin, and a ``k`` of about 6000 keeps it;
- the KS distance between the minute's and the reference's sketch CDFs (approximate: it carries
  both sketches' rank errors, so it is evidence, not the alarm statistic).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, EventKind
from vigil.detect.realtime.base import MonitorAlert
from vigil.detect.realtime.events import Events, epoch_seconds, utc_datetime
from vigil.detect.realtime.statistics import (
    chi2_surprise,
    g_statistic,
    ks_statistic,
    pool_sparse_bins,
)
from vigil.detect.realtime.threshold import (
    AlarmRate,
    ScoreThreshold,
    exponential_quantile,
)
from vigil.profile import QuantileSketch

FloatArray = npt.NDArray[np.float64]
DAY_S = 86400.0
CUT_LEVELS = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999])
KS_LEVELS = np.linspace(0.005, 0.995, 100)


@dataclass(slots=True, kw_only=True)
class _Minute:
    sketch: QuantileSketch
    counts: npt.NDArray[np.int64] | None  # None when the minute opened without a reference
    cuts: FloatArray | None
    shares: FloatArray | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreComparison:
    """One minute of one version against the reference."""

    g: float
    score: float
    ks: float
    n: int


class ScoreDistributionMonitor:
    """Watches the distribution of one model's output score, minute by minute, per version."""

    name = "scores"

    def __init__(
        self,
        model: str,
        *,
        alarm_rate: AlarmRate | None = None,
        interval: timedelta = timedelta(minutes=1),
        reference_days: int = 7,
        reference_lag: timedelta = timedelta(hours=1),
        min_reference: int = 20_000,
        min_minute_events: int = 20,
        cooldown: timedelta = timedelta(hours=1),
        k: int = 1000,
    ) -> None:
        if reference_days < 1 or interval <= timedelta(0):
            raise ConfigError(f"bad reference days {reference_days!r} or interval {interval!r}")
        self.model = model
        self.alarm_rate = alarm_rate or AlarmRate()
        self.interval_s = interval.total_seconds()
        self.reference_days = reference_days
        self.lag_intervals = math.ceil(reference_lag.total_seconds() / self.interval_s)
        self.min_reference = min_reference
        self.min_minute_events = min_minute_events
        self.cooldown_s = cooldown.total_seconds()
        self.k = k
        self.open_: dict[tuple[int, str], _Minute] = {}
        self.waiting_: deque[tuple[int, QuantileSketch]] = deque()
        self.days_: deque[tuple[int, QuantileSketch]] = deque()
        self.reference_ = QuantileSketch.empty(k)
        self.cuts_: FloatArray | None = None
        self.shares_: FloatArray | None = None
        self.late_events_ = 0
        self.missing_scores_ = 0
        self.next_interval_: int | None = None
        self.last_alarm_s_: dict[str, float] = {}
        self.threshold_ = ScoreThreshold(exponential_quantile, memory=20_000)

    def update(self, events: Events) -> None:
        if events.model != self.model or events.kind not in (
            EventKind.COMPLETION,
            EventKind.PREDICTION,
        ):
            return
        if len(events) == 0:
            return
        events.require("score")
        assert events.score is not None
        finite = np.isfinite(events.score)
        self.missing_scores_ += int((~finite).sum())  # counted, not silently dropped
        if not finite.any():  # e.g. predictions logged without a score output
            return
        slots = (events.timestamp_s[finite] // self.interval_s).astype(np.int64)
        scores = events.score[finite]
        names, version_codes = np.unique(events.versions()[finite], return_inverse=True)
        keys = (slots - slots.min()) * names.size + version_codes
        order = np.argsort(keys, kind="stable")
        unique_keys, starts = np.unique(keys[order], return_index=True)
        ends = np.append(starts[1:], keys.size)
        for key, start, end in zip(
            unique_keys.tolist(), starts.tolist(), ends.tolist(), strict=True
        ):
            slot, version = int(slots.min()) + key // names.size, str(names[key % names.size])
            if self.next_interval_ is not None and slot < self.next_interval_:
                self.late_events_ += end - start
                continue
            values = scores[order[start:end]]
            minute = self.open_.get((slot, version))
            if minute is None:
                counts = (
                    None if self.cuts_ is None else np.zeros(len(CUT_LEVELS) + 1, dtype=np.int64)
                )
                minute = _Minute(
                    sketch=QuantileSketch.empty(self.k),
                    counts=counts,
                    cuts=self.cuts_,
                    shares=self.shares_,
                )
                self.open_[(slot, version)] = minute
            minute.sketch = minute.sketch.update(values)
            if minute.counts is not None and minute.cuts is not None:
                bins = np.searchsorted(minute.cuts, values, side="left")
                minute.counts += np.bincount(bins, minlength=minute.counts.size)

    def compare(self, minute: _Minute) -> ScoreComparison | None:
        """G-test and KS of ``minute`` against the reference; None when either is too small."""
        if (
            minute.counts is None
            or minute.shares is None
            or minute.sketch.n < self.min_minute_events
        ):
            return None
        n = int(minute.counts.sum())
        counts, shares = pool_sparse_bins(
            minute.counts, minute.shares, min_share=2.0 * self.reference_.normalized_rank_error
        )
        if shares.size < 2:
            return None
        g = g_statistic(counts, shares * self.reference_.n, pseudocount=0.5)
        score = chi2_surprise(g, shares.size - 1)
        points = np.union1d(
            self.reference_.quantiles(KS_LEVELS), minute.sketch.quantiles(KS_LEVELS)
        )
        ks = ks_statistic(minute.sketch.cdf(points), self.reference_.cdf(points))
        return ScoreComparison(g=g, score=score, ks=ks, n=n)

    def alerts(self, now: datetime) -> list[MonitorAlert]:
        current = int(epoch_seconds(now) // self.interval_s)
        p = self.alarm_rate.probability_per_interval(timedelta(seconds=self.interval_s))
        found = []
        for slot, version in sorted(key for key in self.open_ if key[0] < current):
            minute = self.open_.pop((slot, version))
            comparison = self.compare(minute)
            alarmed = False
            if comparison is not None:
                threshold = self.threshold_.threshold(p)
                alarmed = comparison.score > threshold
                if not alarmed:
                    self.threshold_.update([comparison.score])
                end_s = (slot + 1) * self.interval_s
                quiet = end_s - self.last_alarm_s_.get(version, -math.inf) >= self.cooldown_s
                if alarmed and quiet:
                    self.last_alarm_s_[version] = end_s
                    found.append(self._alert(version, end_s, minute, comparison, threshold))
            if not alarmed:
                self.waiting_.append((slot, minute.sketch))
        self.next_interval_ = (
            current if self.next_interval_ is None else max(self.next_interval_, current)
        )
        self._absorb(current)
        return found

    def _alert(
        self,
        version: str,
        end_s: float,
        minute: _Minute,
        comparison: ScoreComparison,
        threshold: float,
    ) -> MonitorAlert:
        median, reference_median = minute.sketch.quantile(0.5), self.reference_.quantile(0.5)
        label = f"version {version}" if version else "the model"
        message = (
            f"scores of {label} shifted from the reference: median {median:.3g} against "
            f"{reference_median:.3g} (G={comparison.g:.0f} on {comparison.n} scores, "
            f"KS={comparison.ks:.2f})"
        )
        return MonitorAlert(
            monitor=self.name,
            model=self.model,
            version=version,
            statistic="g_test",
            timestamp=utc_datetime(end_s),
            score=comparison.score,
            threshold=threshold,
            message=message,
            evidence={
                "g": comparison.g,
                "ks": comparison.ks,
                "observed": median,
                "expected": reference_median,
            },
        )

    def _absorb(self, current: int) -> None:
        """Move minutes older than the lag into the daily reference sketches."""
        changed = False
        while self.waiting_ and self.waiting_[0][0] < current - self.lag_intervals:
            slot, sketch = self.waiting_.popleft()
            day = int(slot * self.interval_s // DAY_S)
            if self.days_ and self.days_[-1][0] == day:
                self.days_[-1] = (day, self.days_[-1][1].merge(sketch))
            else:
                self.days_.append((day, sketch))
            while self.days_ and self.days_[0][0] <= day - self.reference_days:
                self.days_.popleft()
            changed = True
        if not changed:
            return
        reference = QuantileSketch.empty(self.k)
        for _, daily in self.days_:
            reference = reference.merge(daily)
        self.reference_ = reference
        if reference.n >= self.min_reference:
            self.cuts_ = np.unique(reference.quantiles(CUT_LEVELS))
            cdf = np.append(reference.cdf(self.cuts_), 1.0)
            self.shares_ = np.diff(cdf, prepend=0.0)
