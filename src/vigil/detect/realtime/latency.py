"""Latency: each 5-minute interval's log-scale histogram against a long-term background.

Dunning's recipe: latencies go into log-scale histograms (a fixed *relative* bucket width, so
1 ms and 10 s are resolved alike), one per interval, and a long-term background histogram; a
G-test scores each closed interval against the background. A small fraction of requests that
turns very slow lands in buckets the background almost never sees, which the G-test weighs
heavily, while the average barely moves. When events carry tags (host, region, version) the
monitor also counts, per tag value, how many requests fell in the background's slow tail, and
ranks the values by signed root-LLR, so an alert can say where the slow requests are.

The G statistic is reported as ``-ln(chi2 survival)``: exponential under the null, so the
threshold of every statistic reads the same way.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, EventKind
from vigil.detect.realtime.base import MonitorAlert
from vigil.detect.realtime.events import Events, epoch_seconds, utc_datetime
from vigil.detect.realtime.statistics import chi2_surprise, g_statistic, signed_root_llr
from vigil.detect.realtime.threshold import (
    AlarmRate,
    ScoreThreshold,
    exponential_quantile,
)
from vigil.profile import LogHistogram

DAY_S = 86400.0
OTHER = "(other)"


def _new_tables() -> dict[str, dict[str, list[int]]]:
    return {}


@dataclass(slots=True, kw_only=True)
class _Interval:
    """What one open interval has seen: its histogram and, per tag, ``[total, slow]`` counts."""

    histogram: LogHistogram
    tables: dict[str, dict[str, list[int]]] = field(default_factory=_new_tables)


@dataclass(frozen=True, slots=True, kw_only=True)
class TagRank:
    """A tag value's over-representation in the slow tail of one interval."""

    tag: str
    value: str
    root_llr: float
    slow: int
    total: int


def g_test_score(interval: LogHistogram, background: LogHistogram) -> tuple[float, float]:
    """``(G, -ln p)`` of ``interval`` against ``background`` over their joint buckets."""
    counts, reference = interval.counts(), background.counts()
    buckets = sorted(set(counts) | set(reference))
    observed = np.array([interval.zeros] + [counts.get(b, 0) for b in buckets], dtype=np.float64)
    expected = np.array(
        [background.zeros] + [reference.get(b, 0) for b in buckets], dtype=np.float64
    )
    g = g_statistic(observed, expected)
    dof = max(len(buckets), 1)
    return g, chi2_surprise(g, dof)


class LatencyMonitor:
    """G-test of each closed interval's latencies against a background of the last days.

    Closed intervals that did not alarm join the background (kept as one histogram per day,
    ``background_days`` of them), so a fault is not learned as normal. Tag tables count at most
    ``max_tag_values`` values per tag; later values share the bucket ``"(other)"``.
    """

    name = "latency"

    def __init__(
        self,
        model: str,
        *,
        alarm_rate: AlarmRate | None = None,
        interval: timedelta = timedelta(minutes=5),
        ratio: float = 0.1,
        background_days: int = 7,
        min_background: int = 20_000,
        min_interval_events: int = 20,
        tail_quantile: float = 0.99,
        tags: Sequence[str] = ("host", "region", "version"),
        max_tag_values: int = 1000,
    ) -> None:
        if not 0.5 < tail_quantile < 1.0 or background_days < 1:
            raise ConfigError(
                f"bad tail quantile {tail_quantile!r} or background days {background_days!r}"
            )
        self.model = model
        self.alarm_rate = alarm_rate or AlarmRate()
        self.interval_s = interval.total_seconds()
        self.ratio = ratio
        self.background_days = background_days
        self.min_background = min_background
        self.min_interval_events = min_interval_events
        self.tail_quantile = tail_quantile
        self.tags = tuple(tags)
        self.max_tag_values = max_tag_values
        self.open_: dict[int, _Interval] = {}
        self.days_: deque[tuple[int, LogHistogram]] = deque()
        self.background_ = LogHistogram.empty(ratio)
        self.slow_cut_ms_ = math.nan
        self.late_events_ = 0
        self.missing_latency_ = 0
        self.next_interval_: int | None = None
        self.threshold_ = ScoreThreshold(exponential_quantile, memory=5_000)

    def update(self, events: Events) -> None:
        if events.model != self.model or events.kind not in (
            EventKind.COMPLETION,
            EventKind.PREDICTION,
        ):
            return
        if len(events) == 0:
            return
        events.require("latency_ms")
        assert events.latency_ms is not None
        latency = events.latency_ms
        valid = np.isfinite(latency) & (latency >= 0)
        if not valid.all():
            self.missing_latency_ += int((~valid).sum())  # counted, not silently dropped
            events, latency = events.select(valid), latency[valid]
        slots = (events.timestamp_s // self.interval_s).astype(np.int64)
        for slot in np.unique(slots).tolist():
            if self.next_interval_ is not None and slot < self.next_interval_:
                self.late_events_ += int(np.count_nonzero(slots == slot))
                continue
            mask = slots == slot
            self._add(
                self.open_.setdefault(slot, _Interval(histogram=LogHistogram.empty(self.ratio))),
                latency[mask],
                {k: v[mask] for k, v in events.tags.items() if k in self.tags},
            )

    def _add(
        self,
        interval: _Interval,
        latency: npt.NDArray[np.float64],
        tags: dict[str, npt.NDArray[np.str_]],
    ) -> None:
        interval.histogram = interval.histogram.update(latency)
        if math.isnan(self.slow_cut_ms_):
            return
        slow = latency > self.slow_cut_ms_
        for tag, values in tags.items():
            table = interval.tables.setdefault(tag, {})
            names, inverse = np.unique(values, return_inverse=True)
            totals = np.bincount(inverse, minlength=names.size)
            slows = np.bincount(inverse, weights=slow, minlength=names.size)
            for name, total, slow_count in zip(
                names.tolist(), totals.tolist(), slows.tolist(), strict=True
            ):
                key = name if name in table or len(table) < self.max_tag_values else OTHER
                row = table.setdefault(key, [0, 0])
                row[0] += int(total)
                row[1] += int(slow_count)

    def rank_tags(self, interval: _Interval) -> list[TagRank]:
        """Tag values of ``interval`` by signed root-LLR of slowness, highest first."""
        ranks: list[TagRank] = []
        for tag, table in interval.tables.items():
            names = list(table)
            totals = np.array([table[name][0] for name in names], dtype=np.float64)
            slows = np.array([table[name][1] for name in names], dtype=np.float64)
            scores = signed_root_llr(
                slows,
                totals - slows,
                slows.sum() - slows,
                (totals.sum() - slows.sum()) - (totals - slows),
            )
            ranks.extend(
                TagRank(tag=tag, value=name, root_llr=float(score), slow=int(s), total=int(t))
                for name, score, s, t in zip(names, scores, slows, totals, strict=True)
            )
        return sorted(ranks, key=lambda rank: rank.root_llr, reverse=True)

    def alerts(self, now: datetime) -> list[MonitorAlert]:
        current = int(epoch_seconds(now) // self.interval_s)
        found = []
        p = self.alarm_rate.probability_per_interval(timedelta(seconds=self.interval_s))
        for slot in sorted(s for s in self.open_ if s < current):
            interval = self.open_.pop(slot)
            alert = self._judge(slot, interval, p)
            if alert is None:
                self._learn(slot, interval.histogram)
            else:
                found.append(alert)
        self.next_interval_ = (
            current if self.next_interval_ is None else max(self.next_interval_, current)
        )
        return found

    def _judge(self, slot: int, interval: _Interval, p: float) -> MonitorAlert | None:
        if (
            self.background_.total < self.min_background
            or interval.histogram.total < self.min_interval_events
        ):
            return None
        g, score = g_test_score(interval.histogram, self.background_)
        threshold = self.threshold_.threshold(p)
        self.threshold_.update([score])
        if score <= threshold:
            return None
        p99 = interval.histogram.quantile(0.99)
        message = (
            f"latency distribution shifted (G={g:.0f}); p99 {p99:.0f} ms against "
            f"{self.background_.quantile(0.99):.0f} ms in the background"
        )
        evidence: dict[str, float | str] = {
            "g": g,
            "observed": p99,
            "expected": self.background_.quantile(0.99),
        }
        ranks = self.rank_tags(interval)
        if ranks and ranks[0].root_llr > 0:
            top = ranks[0]
            message = (
                f"slow requests concentrate on {top.tag} {top.value} (root-LLR {top.root_llr:.1f}, "
                f"{top.slow} of its {top.total} requests slow); " + message
            )
            evidence.update({"tag": top.tag, "tag_value": top.value, "root_llr": top.root_llr})
        return MonitorAlert(
            monitor=self.name,
            model=self.model,
            version="",
            statistic="g_test",
            timestamp=utc_datetime((slot + 1) * self.interval_s),
            score=score,
            threshold=threshold,
            message=message,
            evidence=evidence,
        )

    def _learn(self, slot: int, histogram: LogHistogram) -> None:
        day = int(slot * self.interval_s // DAY_S)
        if self.days_ and self.days_[-1][0] == day:
            self.days_[-1] = (day, self.days_[-1][1].merge(histogram))
        else:
            self.days_.append((day, histogram))
        while self.days_ and self.days_[0][0] <= day - self.background_days:
            self.days_.popleft()
        background = LogHistogram.empty(self.ratio)
        for _, daily in self.days_:
            background = background.merge(daily)
        self.background_ = background
        if background.total >= self.min_background:
            self.slow_cut_ms_ = background.quantile(self.tail_quantile)
